import { Injectable } from '@nestjs/common';
import { AtMostEvery } from '../../common/at-most-every.js';
import { Prisma } from '../../generated/prisma/client.js';
import { PrismaService } from '../../prisma/prisma.service.js';

/** Remembers accepted (address, timestamp) pairs, shared by every instance through the database. */
@Injectable()
export class WalletLoginReplayRepository {
  /** Pairs past their window can no longer pass it, so they need not be kept: purged once a minute. */
  private readonly purge = new AtMostEvery(60_000);

  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records the pair; false when it was recorded before (a replay). Purged pairs are those past
   * their window by one more window: an instance whose clock is behind this one's by up to a
   * window would still accept their timestamp, and must still find them.
   */
  async claim(address: string, timestampMs: number, expiresAt: Date, now: Date, windowMs: number): Promise<boolean> {
    if (this.purge.due(now.getTime())) await this.prisma.walletLoginReplay.deleteMany({ where: { expiresAt: { lt: new Date(now.getTime() - windowMs) } } });
    try {
      await this.prisma.walletLoginReplay.create({ data: { address, timestampMs: BigInt(timestampMs), expiresAt } });
      return true;
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return false;
      throw error;
    }
  }
}
