import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/**
 * What a record is for, named by the code that uses it ('fib-challenge', 'dpop-proof', ...): each
 * kind is its own namespace. A string rather than a list here, so that a login API adds a kind
 * without the store naming it.
 */
export type SingleUseKind = string;

const ISSUE = 'INSERT INTO single_use_records (kind, key, bound_to, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)';

/** Deleting is spending: of two instances consuming one nonce, one DELETE returns the row. */
const CONSUME = 'DELETE FROM single_use_records WHERE kind = $1 AND key = $2 AND expires_at > $3 AND bound_to IS NULL RETURNING 1 AS spent';
const CONSUME_BOUND = 'DELETE FROM single_use_records WHERE kind = $1 AND key = $2 AND expires_at > $3 AND bound_to = $4 RETURNING 1 AS spent';

/**
 * A first use inserts the row; a replay finds it and adds none, without an error. A row whose time
 * is over, not yet purged, is taken over: its item can no longer pass its own time checks here.
 */
const CLAIM = `INSERT INTO single_use_records (kind, key, expires_at, created_at) VALUES ($1, $2, $3, $4)
  ON CONFLICT (kind, key) DO UPDATE SET expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at
  WHERE single_use_records.expires_at < EXCLUDED.created_at
  RETURNING 1 AS claimed`;

/**
 * Up to $2 records whose time ended before $1, along single_use_records_expires_at_idx; rows another
 * statement holds are skipped, so a login that spends one never waits on the cleanup.
 */
const PURGE_EXPIRED = `
WITH doomed AS (
  SELECT kind, key FROM single_use_records WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM single_use_records r USING doomed d WHERE r.kind = d.kind AND r.key = d.key RETURNING 1
)
SELECT count(*)::int AS n FROM gone`;

/**
 * Everything that may be used once across every instance: nonces the service issues (a FIB
 * challenge, a SIWE nonce), which must have been issued and not spent, and identifiers a client
 * chooses (a wallet's signed timestamp, the jti of a DPoP proof or a client assertion), recorded
 * at their first use. The primary key (kind, key) decides every race between instances. A record
 * is kept until its `expiresAt`, which its owner chooses to cover every instance that could still
 * accept the item, and the retention cleanup deletes it after. SQL on the connection, as every
 * query of a login is, one row a statement (embedded PGlite takes no array parameters here).
 */
@Injectable()
export class SingleUseStore {
  constructor(private readonly prisma: PrismaService) {}

  /** Records a nonce the service hands out; `boundTo` is what it was issued for (an email), if anything. */
  async issue(kind: SingleUseKind, key: string, expiresAt: Date, now: Date, boundTo?: string): Promise<void> {
    await this.prisma.connection.query(ISSUE, [kind, key, boundTo ?? null, expiresAt, now], 'single-use-issue');
  }

  /** Spends an issued, unexpired, unspent nonce, issued for `boundTo` when given; false for any other. */
  async consume(kind: SingleUseKind, key: string, now: Date, boundTo?: string): Promise<boolean> {
    const rows =
      boundTo === undefined
        ? await this.prisma.connection.query(CONSUME, [kind, key, now], 'single-use-consume')
        : await this.prisma.connection.query(CONSUME_BOUND, [kind, key, now, boundTo], 'single-use-consume-bound');
    return rows.length === 1;
  }

  /** Records a client-chosen identifier at its first use; false when it was recorded before and is still kept (a replay). */
  async claim(kind: SingleUseKind, key: string, expiresAt: Date, now: Date): Promise<boolean> {
    const rows = await this.prisma.connection.query(CLAIM, [kind, key, expiresAt, now], 'single-use-claim');
    return rows.length === 1;
  }

  /** One batch of the retention cleanup: records whose time ended before `now`; returns how many went. */
  async purgeExpired(now: Date, limit: number): Promise<number> {
    const [row] = await this.prisma.connection.query<{ n: number }>(PURGE_EXPIRED, [now, limit], 'single-use-purge');
    return row?.n ?? 0;
  }
}
