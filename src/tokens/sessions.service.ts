import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { currentRequest } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../health/metrics.service.js';
import type { CredentialKind } from '../users/user.types.js';
import { UsersService } from '../users/users.service.js';
import { SessionRepository, type SessionRecord } from './session.repository.js';
import { TokenError } from './token.errors.js';
import { TokenService } from './token.service.js';
import type { AccessClaims, IssuedToken, RefreshClaims, SessionPrincipal } from './token.types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Credential {
  kind: CredentialKind;
  id: string | null;
}

/** Lifetimes in seconds; each API has its own (FIB 300 s / 24 h, Ethereum 15 min / 24 h). */
export interface Lifetimes {
  access: number;
  refresh: number;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives. */
  accessTtl: number;
  /** Epoch seconds. */
  accessExp: number;
  refreshExp: number;
}

/**
 * Sessions are refresh-token families: a login starts one, each refresh rotates it, a reuse or a
 * logout revokes it. Access tokens carry their session id, so revoking a session refuses them too.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly tokens: TokenService,
    private readonly users: UsersService,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
  ) {}

  get defaultLifetimes(): Lifetimes {
    return { access: this.config.ACCESS_TOKEN_TTL, refresh: this.config.REFRESH_TOKEN_TTL };
  }

  async start(principal: SessionPrincipal, credential: Credential, lifetimes = this.defaultLifetimes): Promise<TokenPair> {
    const sid = randomUUID();
    const refreshJti = randomUUID();
    const access = await this.issueAccessFor(principal, sid, lifetimes.access);
    const refresh = await this.tokens.issueRefresh({ sub: principal.email, acjti: access.jti, sid }, refreshJti, lifetimes.refresh);
    await this.persistSession(sid, principal, credential, refreshJti, refresh.exp);
    return { accessToken: access.token, refreshToken: refresh.token, accessTtl: lifetimes.access, accessExp: access.exp, refreshExp: refresh.exp };
  }

  /** Rotates a verified refresh token into a new pair, or throws INVALID_TOKEN (revoking the family on reuse). */
  async refresh(claims: RefreshClaims, lifetimes = this.defaultLifetimes): Promise<TokenPair> {
    const childJti = randomUUID();
    const childExpiresAt = new Date((Math.floor(Date.now() / 1000) + lifetimes.refresh) * 1000);
    const outcome = await this.sessions.rotate(claims.jti, childJti, childExpiresAt, this.config.REFRESH_REUSE_GRACE * 1000);
    switch (outcome.kind) {
      case 'invalid':
        throw new TokenError('INVALID_TOKEN', outcome.reason === 'revoked' ? 'session has ended' : outcome.reason === 'expired' ? 'token has expired' : 'refresh token is unknown');
      case 'reused':
        this.metrics.refreshReuse.inc();
        this.audit.record({ type: 'token.reuse_detected', outcome: 'failure', reason: 'REFRESH_TOKEN_REUSED', userId: outcome.userId, sessionId: outcome.sessionId });
        throw new TokenError('INVALID_TOKEN', 'refresh token was already used; the session has been revoked');
      case 'rotated':
        break;
    }
    const { session } = outcome;
    const principal = await this.users.findSessionPrincipal(session.userId, session.credentialKind, session.credentialId);
    if (!principal) {
      await this.sessions.revoke(session.id, 'user or credential no longer active');
      throw new TokenError('INVALID_TOKEN', 'session has ended');
    }
    const access = await this.issueAccessFor(principal, session.id, lifetimes.access);
    const refresh = await this.tokens.issueRefresh({ sub: principal.email, acjti: access.jti, sid: session.id }, childJti, lifetimes.refresh);
    this.audit.record({ type: 'token.refresh', outcome: 'success', userId: principal.userId, principal: principal.email, sessionId: session.id, details: { grace: outcome.grace } });
    return { accessToken: access.token, refreshToken: refresh.token, accessTtl: lifetimes.access, accessExp: access.exp, refreshExp: refresh.exp };
  }

  /** Verifies an access token and that its session is live: what every bearer-protected route needs. */
  async authenticate(accessToken: string): Promise<AccessClaims> {
    return (await this.authenticateSession(accessToken)).claims;
  }

  async authenticateSession(accessToken: string): Promise<{ claims: AccessClaims; session: SessionRecord }> {
    const claims = await this.tokens.verifyAccess(accessToken);
    const session = await this.sessions.findById(claims.sid);
    if (!session || session.revokedAt) throw new TokenError('INVALID_TOKEN', 'session has ended');
    return { claims, session };
  }

  /** A session of access tokens only (no refresh family), as service accounts get. */
  async startAccessOnly(principal: SessionPrincipal, credential: Credential, ttlSeconds: number): Promise<IssuedToken> {
    const sid = randomUUID();
    const access = await this.issueAccessFor(principal, sid, ttlSeconds);
    await this.persistSession(sid, principal, credential, null, access.exp);
    return access;
  }

  /** A new access token in the same session, with the principal's current claims. */
  async reissueAccess(sessionId: string, principal: SessionPrincipal, ttlSeconds: number): Promise<IssuedToken> {
    const access = await this.issueAccessFor(principal, sessionId, ttlSeconds);
    if (!(await this.sessions.touch(sessionId, new Date(access.exp * 1000)))) throw new TokenError('INVALID_TOKEN', 'session has ended');
    return access;
  }

  async logout(accessToken: string): Promise<void> {
    const { claims, session } = await this.authenticateSession(accessToken);
    if (await this.sessions.revoke(claims.sid, 'logout')) {
      this.audit.record({ type: 'logout', outcome: 'success', userId: session.userId, principal: claims.sub, sessionId: claims.sid });
    }
  }

  private issueAccessFor(principal: SessionPrincipal, sid: string, ttlSeconds: number): Promise<IssuedToken> {
    return this.tokens.issueAccess({ acc: principal.account, sub: principal.email, role: principal.role, sid }, ttlSeconds);
  }

  /** Writes a new session (with its first refresh token, if any), from the request's address and agent, and records the login. */
  private async persistSession(sid: string, principal: SessionPrincipal, credential: Credential, refreshJti: string | null, expEpochSeconds: number): Promise<void> {
    const request = currentRequest();
    await this.sessions.create({
      id: sid,
      userId: principal.userId,
      credentialKind: credential.kind,
      credentialId: credential.id,
      ip: request?.ip ?? null,
      userAgent: request?.userAgent ?? null,
      refreshJti,
      expiresAt: new Date(expEpochSeconds * 1000),
    });
    this.recordLogin(principal, credential, sid);
  }

  private recordLogin(principal: SessionPrincipal, credential: Credential, sessionId: string): void {
    this.audit.record({
      type: 'login.success',
      outcome: 'success',
      userId: principal.userId,
      principal: principal.email,
      sessionId,
      details: { credential: credential.kind, credentialId: credential.id },
    });
  }

  listForUser(userId: string, includeEnded = false): Promise<SessionRecord[]> {
    return this.sessions.listForUser(userId, includeEnded);
  }

  async find(sessionId: string): Promise<SessionRecord | undefined> {
    return UUID.test(sessionId) ? this.sessions.findById(sessionId) : undefined;
  }

  /** Ends a session; returns false when it was already ended. */
  async end(session: SessionRecord, reason: string, actor: string): Promise<boolean> {
    const ended = await this.sessions.revoke(session.id, reason);
    if (ended) this.audit.record({ type: 'session.revoked', outcome: 'success', reason, userId: session.userId, sessionId: session.id, details: { actor } });
    return ended;
  }

  revokeRefreshFamily(jti: string, reason: string): Promise<void> {
    return this.sessions.revokeRefreshToken(jti, reason);
  }

  revokeForUser(userId: string, reason: string): Promise<number> {
    return this.sessions.revokeForUser(userId, reason);
  }

  revokeForCredential(credentialId: string, reason: string): Promise<number> {
    return this.sessions.revokeForCredential(credentialId, reason);
  }

  /** RFC 7662: the claims of a live token, or undefined for a revoked, expired, foreign or malformed one. */
  async introspect(token: string): Promise<(AccessClaims | RefreshClaims) | undefined> {
    let claims;
    try {
      claims = await this.tokens.verify(token, 'either', {});
    } catch (error) {
      if (error instanceof TokenError) return undefined;
      throw error;
    }
    const session = await this.sessions.findById(claims.sid);
    if (!session || session.revokedAt) return undefined;
    if (claims.token_use === 'refresh' && !(await this.sessions.isRefreshTokenLive(claims.jti))) return undefined;
    return claims;
  }
}
