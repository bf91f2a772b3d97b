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

/** Sessions (refresh-token families) and their tokens. */
@Injectable()
export class SessionRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(session: NewSession): Promise<void> {
    await this.prisma.session.create({
      data: {
        id: session.id,
        userId: session.userId,
        credentialKind: session.credentialKind,
        credentialId: session.credentialId,
        ip: session.ip,
        userAgent: session.userAgent,
        expiresAt: session.expiresAt,
        ...(session.refreshJti ? { refreshTokens: { create: { jti: session.refreshJti, expiresAt: session.expiresAt } } } : {}),
      },
    });
  }

  /**
   * Retires refresh token `jti` and records `childJti` as its successor, in one transaction.
   * The conditional update lets exactly one of many concurrent presentations win; the others
   * find the token retired and fall to the grace rule: the immediate parent (no child of it
   * rotated yet) may be presented again for `graceMs`, giving a sibling in the same family.
   * Any other retired token is a reuse: the whole family is revoked, and that revocation commits.
   */
  async rotate(jti: string, childJti: string, childExpiresAt: Date, graceMs: number): Promise<RotationOutcome> {
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

  async findById(id: string): Promise<SessionRecord | undefined> {
    return (await this.prisma.session.findUnique({ where: { id } })) ?? undefined;
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
