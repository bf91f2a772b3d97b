import { Injectable } from '@nestjs/common';
import { AtMostEvery } from '../common/at-most-every.js';
import { PrismaService } from '../database/prisma.service.js';

/** What a one-time identifier identifies: each scope is its own namespace. */
export type OneTimeScope = 'client-assertion' | 'dpop-proof';

/**
 * Identifiers that may be used once, across every instance, until they expire: the `jti` of a
 * client assertion (RFC 7523 section 3) and of a DPoP proof (RFC 9449 section 11.1). The primary
 * key decides a race between two instances: exactly one INSERT adds the row.
 */
@Injectable()
export class OneTimeIdsRepository {
  /** Expired identifiers can no longer pass their own time checks, so they need not be kept. */
  private readonly purge = new AtMostEvery(60_000);

  constructor(private readonly prisma: PrismaService) {}

  /** Records the identifier; false when it was recorded before and has not expired. */
  async claim(scope: OneTimeScope, id: string, expiresAt: Date, now: Date): Promise<boolean> {
    if (this.purge.due(now.getTime())) {
      await this.prisma.connection.query('DELETE FROM one_time_ids WHERE expires_at < $1', [now]);
    }
    const rows = await this.prisma.connection.query<{ id: string }>(
      `INSERT INTO one_time_ids (scope, id, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (scope, id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE one_time_ids.expires_at < $4
       RETURNING id`,
      [scope, id, expiresAt, now],
      'claim-one-time-id',
    );
    return rows.length === 1;
  }
}
