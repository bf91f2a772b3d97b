import { Injectable } from '@nestjs/common';
import { AtMostEvery } from '../../common/at-most-every.js';
import { PrismaService } from '../../database/prisma.service.js';

/** Remembers accepted (address, timestamp) pairs, shared by every instance through the database. */
@Injectable()
export class WalletLoginReplayRepository {
  /** Pairs past their window can no longer pass it, so they need not be kept: purged once a minute. */
  private readonly purge = new AtMostEvery(60_000);

  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records the pair; false when it was recorded before (a replay). Purged pairs are those past
   * their window by one more window: an instance whose clock is behind this one's by up to a
   * window would still accept their timestamp, and must still find them. SQL on the connection,
   * as every query of a login is: the insert answers a replay itself (no row), without an error.
   */
  async claim(address: string, timestampMs: number, expiresAt: Date, now: Date, windowMs: number): Promise<boolean> {
    const { connection } = this.prisma;
    if (this.purge.due(now.getTime())) {
      await connection.query('DELETE FROM wallet_login_replays WHERE expires_at < $1', [new Date(now.getTime() - windowMs)], 'wallet-replays-purge');
    }
    const inserted = await connection.query(
      `INSERT INTO wallet_login_replays (address, timestamp_ms, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (address, timestamp_ms) DO NOTHING RETURNING 1 AS claimed`,
      [address, String(timestampMs), expiresAt],
      'wallet-replay-claim',
    );
    return inserted.length === 1;
  }
}
