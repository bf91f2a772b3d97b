import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/**
 * Up to $2 sessions that ended (revoked, or expired: LEAST skips a NULL revoked_at) before $1,
 * oldest first along sessions_ended_at_idx, deleted with their refresh tokens. Rows another
 * statement holds are skipped, never waited for, and nothing else is locked: a login only inserts.
 */
const DELETE_ENDED_SESSIONS = `
WITH doomed AS (
  SELECT id FROM sessions WHERE LEAST(expires_at, revoked_at) < $1 ORDER BY LEAST(expires_at, revoked_at) LIMIT $2 FOR UPDATE SKIP LOCKED
), tokens AS (
  DELETE FROM refresh_tokens t USING doomed d WHERE t.session_id = d.id RETURNING 1
), ended AS (
  DELETE FROM sessions s USING doomed d WHERE s.id = d.id RETURNING 1
)
SELECT (SELECT count(*) FROM ended)::int AS sessions, (SELECT count(*) FROM tokens)::int AS refresh_tokens`;

/**
 * Up to $3 retired refresh tokens that expired before $1 and were retired before $2 (past their
 * grace), along refresh_tokens_retired_expires_at_idx. Presenting one again could only fail on its
 * expiry, before reuse detection is asked, so deleting it changes no answer.
 */
const DELETE_RETIRED_REFRESH_TOKENS = `
WITH doomed AS (
  SELECT jti FROM refresh_tokens WHERE rotated_at IS NOT NULL AND expires_at < $1 AND rotated_at < $2 ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM refresh_tokens t USING doomed d WHERE t.jti = d.jti RETURNING 1
)
SELECT count(*)::int AS n FROM gone`;

/**
 * The retention cleanup's deletes of what sessions leave behind, apart from the statements that
 * serve logins and refreshes: only the cleanup's leader runs them, a batch at a time.
 */
@Injectable()
export class SessionCleanupRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** One batch of the cleanup: sessions that ended before `endedBefore`, with their refresh tokens. */
  async deleteEnded(endedBefore: Date, limit: number): Promise<{ sessions: number; refreshTokens: number }> {
    const [row] = await this.prisma.connection.query<{ sessions: number; refresh_tokens: number }>(DELETE_ENDED_SESSIONS, [endedBefore, limit], 'delete-ended-sessions');
    return { sessions: row?.sessions ?? 0, refreshTokens: row?.refresh_tokens ?? 0 };
  }

  /** One batch of the cleanup: retired refresh tokens past their expiry and their grace. */
  async deleteRetiredRefreshTokens(expiredBefore: Date, retiredBefore: Date, limit: number): Promise<number> {
    const [row] = await this.prisma.connection.query<{ n: number }>(DELETE_RETIRED_REFRESH_TOKENS, [expiredBefore, retiredBefore, limit], 'delete-retired-refresh-tokens');
    return row?.n ?? 0;
  }
}
