import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';
import type { CredentialKind } from '../users/user.types.js';

export interface NewSession {
  id: string;
  userId: string;
  credentialKind: CredentialKind;
  credentialId: string | null;
  ip: string | null;
  userAgent: string | null;
  /** The first refresh token; null for a session of access tokens only (service accounts). */
  refreshJti: string | null;
  expiresAt: Date;
}

export interface SessionRecord {
  id: string;
  userId: string;
  credentialKind: CredentialKind;
  credentialId: string | null;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
}

/** What presenting a refresh token did to its family. */
export type RotationOutcome =
  | { kind: 'rotated'; session: SessionRecord; grace: boolean }
  | { kind: 'reused'; sessionId: string; userId: string }
  | { kind: 'invalid'; reason: 'unknown' | 'expired' | 'revoked' };

interface SessionRow {
  id: string;
  user_id: string;
  credential_kind: CredentialKind;
  credential_id: string | null;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

function fromSessionRow(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    credentialKind: row.credential_kind,
    credentialId: row.credential_id,
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: new Date(row.created_at),
    lastUsedAt: new Date(row.last_used_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    revokedReason: row.revoked_reason,
  };
}

/** Sessions (refresh-token families) and their tokens. */
@Injectable()
export class SessionRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The session and its first refresh token in one statement: one round trip on the login path. */
  async create(session: NewSession): Promise<void> {
    const params = [session.id, session.userId, session.credentialKind, session.credentialId, session.ip, session.userAgent, session.expiresAt];
    const insertSession = `INSERT INTO sessions (id, user_id, credential_kind, credential_id, ip, user_agent, expires_at)
                           VALUES ($1, $2, $3::"CredentialKind", $4, $5, $6, $7)`;
    if (session.refreshJti === null) {
      await this.prisma.connection.query(insertSession, params, 'insert-session');
      return;
    }
    await this.prisma.connection.query(
      `WITH s AS (${insertSession}) INSERT INTO refresh_tokens (jti, session_id, expires_at) VALUES ($8, $1, $7)`,
      [...params, session.refreshJti],
      'insert-session-and-refresh-token',
    );
  }

  /**
   * Retires refresh token `jti` and records `childJti` as its successor, in one transaction.
   * The conditional update lets exactly one of many concurrent presentations win; the others
   * find the token retired and fall to the grace rule: the immediate parent (no child of it
   * rotated yet) may be presented again for `graceMs`, giving a sibling in the same family.
   * Any other retired token is a reuse: the whole family is revoked, and that revocation commits.
   */
  async rotate(jti: string, childJti: string, childExpiresAt: Date, graceMs: number): Promise<RotationOutcome> {
    return (await this.rotateLive(jti, childJti, childExpiresAt)) ?? this.rotateContended(jti, childJti, childExpiresAt, graceMs);
  }

  /**
   * The common case in one statement (atomic on its own): the token is live, so retire it, add its
   * child and touch the session. Undefined when the token is not live; rotateContended decides why.
   */
  private async rotateLive(jti: string, childJti: string, childExpiresAt: Date): Promise<RotationOutcome | undefined> {
    const rows = await this.prisma.connection.query<SessionRow>(
      `WITH claimed AS (
         UPDATE refresh_tokens t SET rotated_at = now()
          WHERE t.jti = $1 AND t.rotated_at IS NULL AND t.expires_at > now()
            AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = t.session_id AND s.revoked_at IS NULL)
         RETURNING t.session_id
       ), child AS (
         INSERT INTO refresh_tokens (jti, session_id, parent_jti, expires_at) SELECT $2, session_id, $1, $3 FROM claimed
       )
       UPDATE sessions s SET last_used_at = now(), expires_at = $3
         FROM claimed WHERE s.id = claimed.session_id
       RETURNING s.*`,
      [jti, childJti, childExpiresAt],
      'rotate-live',
    );
    return rows[0] ? { kind: 'rotated', session: fromSessionRow(rows[0]), grace: false } : undefined;
  }

  private async rotateContended(jti: string, childJti: string, childExpiresAt: Date, graceMs: number): Promise<RotationOutcome> {
    return this.prisma.$transaction(async (tx) => {
      const now = new Date();
      const claimed = await tx.refreshToken.updateMany({
        where: { jti, rotatedAt: null, expiresAt: { gt: now }, session: { revokedAt: null } },
        data: { rotatedAt: now },
      });
      const token = await tx.refreshToken.findUnique({ where: { jti }, include: { session: true } });
      if (!token) return { kind: 'invalid', reason: 'unknown' };
      if (token.session.revokedAt) return { kind: 'invalid', reason: 'revoked' };
      if (token.expiresAt <= now) return { kind: 'invalid', reason: 'expired' };
      let grace = false;
      if (claimed.count === 0) {
        const withinGrace = token.rotatedAt !== null && now.getTime() - token.rotatedAt.getTime() <= graceMs;
        const childRotated = withinGrace && (await tx.refreshToken.count({ where: { parentJti: jti, rotatedAt: { not: null } } })) > 0;
        if (!withinGrace || childRotated) {
          await tx.session.update({ where: { id: token.sessionId }, data: { revokedAt: now, revokedReason: 'refresh token reused' } });
          return { kind: 'reused', sessionId: token.sessionId, userId: token.session.userId };
        }
        grace = true;
      }
      await tx.refreshToken.create({ data: { jti: childJti, sessionId: token.sessionId, parentJti: jti, expiresAt: childExpiresAt } });
      const session = await tx.session.update({
        where: { id: token.sessionId },
        data: { lastUsedAt: now, expiresAt: childExpiresAt },
      });
      return { kind: 'rotated', session, grace };
    });
  }

  /** Every bearer-guarded request and every introspection asks this: one named statement. */
  async findById(id: string): Promise<SessionRecord | undefined> {
    const rows = await this.prisma.connection.query<SessionRow>('SELECT * FROM sessions WHERE id = $1', [id], 'session-by-id');
    return rows[0] ? fromSessionRow(rows[0]) : undefined;
  }

  /** Marks a live session used and extends it to `expiresAt`; false when it is no longer live. */
  async touch(id: string, expiresAt: Date): Promise<boolean> {
    const { count } = await this.prisma.session.updateMany({ where: { id, revokedAt: null }, data: { lastUsedAt: new Date(), expiresAt } });
    return count === 1;
  }

  /** A user's sessions, newest first; live ones only unless `includeEnded`. */
  async listForUser(userId: string, includeEnded = false): Promise<SessionRecord[]> {
    return this.prisma.session.findMany({
      where: { userId, ...(includeEnded ? {} : { revokedAt: null, expiresAt: { gt: new Date() } }) },
      orderBy: { createdAt: 'desc' },
      take: 500,
    });
  }

  /** Revokes one session if it is live; returns whether it was. */
  async revoke(id: string, reason: string): Promise<boolean> {
    const { count } = await this.prisma.session.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: reason } });
    return count === 1;
  }

  async revokeRefreshToken(jti: string, reason: string): Promise<void> {
    const token = await this.prisma.refreshToken.findUnique({ where: { jti }, select: { sessionId: true } });
    if (token) await this.revoke(token.sessionId, reason);
  }

  async revokeForUser(userId: string, reason: string): Promise<number> {
    const { count } = await this.prisma.session.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: reason } });
    return count;
  }

  async revokeForCredential(credentialId: string, reason: string): Promise<number> {
    const { count } = await this.prisma.session.updateMany({ where: { credentialId, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: reason } });
    return count;
  }

  /** Whether a refresh token is the live end of its family: not retired, not expired, session live. */
  async isRefreshTokenLive(jti: string): Promise<boolean> {
    const count = await this.prisma.refreshToken.count({ where: { jti, rotatedAt: null, expiresAt: { gt: new Date() }, session: { revokedAt: null } } });
    return count === 1;
  }
}
