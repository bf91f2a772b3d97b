import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../health/metrics.service.js';
import type { AuthorizationToken } from '../http/authorization-header.js';
import { currentRequest } from '../http/request-context.js';
import { AuthenticationError, passwordExpired } from './authentication.errors.js';
import { DpopError } from './dpop.errors.js';
import type { VerifiedLogin } from './verified-login.js';
import type { SessionPolicy } from './session-policy.js';
import { SessionLivenessCache, type LiveSession } from './session-liveness.cache.js';
import { SessionRepository, type IssuedChild, type RotationOutcome, type SessionRecord } from './session.repository.js';
import { SigningKeysService, type SigningKey } from '../tokens/signing-keys.service.js';
import { TokenError } from '../tokens/token.errors.js';
import { isSameEmail } from '../users/email.js';
import { subjectOf } from '../users/user.types.js';
import { LEGACY_CLIENT, TokenService } from '../tokens/token.service.js';
import type { AccessClaims, IssuedToken, RefreshClaims, TokenClaims as IssuedClaims } from '../tokens/token.types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const BOUND_SESSION = 'the session is bound to a DPoP key: refresh with a DPoP proof signed by that key';
const BOUND_ACCESS_TOKEN = 'the access token is bound to a DPoP key: send Authorization: DPoP with a proof by that key';

/** Why a rotation refuses a refresh token this service signed: the code the audit log records, and the error the client gets. */
const REFRESH_REFUSALS = {
  unknown: { code: 'REFRESH_TOKEN_UNKNOWN', error: () => new TokenError('INVALID_TOKEN', 'refresh token is unknown') },
  expired: { code: 'REFRESH_TOKEN_EXPIRED', error: () => new TokenError('INVALID_TOKEN', 'token has expired') },
  'max-age': { code: 'SESSION_MAX_AGE', error: () => new TokenError('INVALID_TOKEN', 'session has reached its maximum age; log in again') },
  ended: { code: 'SESSION_ENDED', error: () => new TokenError('INVALID_TOKEN', 'session has ended') },
  inactive: { code: 'SESSION_INACTIVE', error: () => new TokenError('INVALID_TOKEN', 'session has ended') },
  'unproven-key': { code: 'UNPROVEN_KEY', error: () => new DpopError('UNPROVEN_KEY', BOUND_SESSION) },
  'pair-mismatch': { code: 'TOKEN_PAIR_MISMATCH', error: () => new TokenError('TOKEN_PAIR_MISMATCH', 'the access token was not issued with this refresh token') },
  'other-api': { code: 'OTHER_API', error: () => new TokenError('INVALID_TOKEN', 'token was issued to another API') },
} satisfies Record<string, { code: string; error: () => Error }>;

type RefreshRefusal = keyof typeof REFRESH_REFUSALS;

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives (less when the session's maximum age cuts it short). */
  accessTtl: number;
  /** Epoch seconds. */
  accessExp: number;
  refreshExp: number;
  /** RFC 9449: `DPoP` when the tokens are bound to the client's key, else `Bearer`. */
  tokenType: 'DPoP' | 'Bearer';
}

/** The DPoP key a request proved possession of (its RFC 7638 thumbprint), or none. */
export interface ProofOfPossession {
  jkt?: string;
  /** Records the proof as used: run once the token it accompanies has been verified, before anything is written. */
  spend?(): Promise<void>;
}

/** What a client presents to keep its session going, each kind with its own binding rule. */
export type PresentedCredential =
  /** A refresh token alone (the FIB API). */
  | { kind: 'refresh'; refreshToken: string; /** Its claims, when the caller has verified its signature already (verifiedRefreshToken). */ verified?: RefreshClaims }
  /** A refresh token with the access token issued beside it, whose expiry is waived (the Ethereum API). */
  | { kind: 'pair'; refreshToken: string; accessToken: string }
  /** A live access token of a session of access tokens only, for another (the service-account API). */
  | { kind: 'service'; accessToken: string; ttl: number };

/**
 * The session core: every login API opens, rotates and ends sessions here, and nowhere else. A
 * session is a refresh-token family bound to the API that opened it; a login starts one, each
 * refresh rotates it, a reuse, a logout or a revocation ends it. Access tokens carry their
 * session id, so ending a session refuses them too. Success is audited here; failed logins are
 * audited where they are refused (LoginAttempts).
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly tokens: TokenService,
    private readonly keys: SigningKeysService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly liveSessions: SessionLivenessCache,
  ) {}

  /** A new session for a verified principal, with its first token pair; bound to the DPoP key the request proved, if any. */
  async open(login: VerifiedLogin, policy: SessionPolicy, proof: ProofOfPossession = {}): Promise<TokenPair> {
    const now = this.clock.now();
    const iat = Math.floor(now / 1000);
    const ends = iat + this.config.SESSION_MAX_AGE;
    const sid = randomUUID();
    const refresh = { jti: randomUUID(), exp: Math.min(iat + policy.refreshTtl, ends) };
    const key = await this.keys.signingKey();
    const pair = this.signPair(key, {
      jti: refresh.jti,
      sessionId: sid,
      userId: login.principal.userId,
      clientId: policy.clientId,
      iat,
      refreshExp: refresh.exp,
      accessJti: randomUUID(),
      accessExp: Math.min(iat + policy.accessTtl, ends),
      kid: key.kid,
      claims: { acc: login.principal.account, sub: subjectOf(login.principal), role: login.principal.role },
      jkt: proof.jkt ?? null,
    });
    await this.persist(sid, login, policy.clientId, now, refresh.exp, proof.jkt ?? null, refresh.jti);
    return pair;
  }

  /** A new session of access tokens only (no refresh family), as service accounts get. */
  async openAccessOnly(login: VerifiedLogin, clientId: string, ttlSeconds: number): Promise<IssuedToken> {
    const now = this.clock.now();
    const iat = Math.floor(now / 1000);
    const sid = randomUUID();
    const access = this.tokens.signAccess(await this.keys.signingKey(), {
      acc: login.principal.account,
      sub: subjectOf(login.principal),
      role: login.principal.role,
      clientId,
      sid,
      iat,
      exp: Math.min(iat + ttlSeconds, iat + this.config.SESSION_MAX_AGE),
      jti: randomUUID(),
    });
    await this.persist(sid, login, clientId, now, access.exp, null);
    return access;
  }

  /** Keeps a session going: a new pair for a refresh token (alone or with its access token), or a new access token. */
  rotate(presented: Exclude<PresentedCredential, { kind: 'service' }>, policy: SessionPolicy, proof?: ProofOfPossession): Promise<TokenPair>;
  rotate(presented: Extract<PresentedCredential, { kind: 'service' }>, policy: Pick<SessionPolicy, 'clientId'>): Promise<IssuedToken>;
  async rotate(presented: PresentedCredential, policy: SessionPolicy | Pick<SessionPolicy, 'clientId'>, proof: ProofOfPossession = {}): Promise<TokenPair | IssuedToken> {
    if (presented.kind === 'service') return this.renewAccessOnly(presented.accessToken, policy.clientId, presented.ttl);
    const claims = await this.refreshClaims(presented.refreshToken, presented.kind === 'refresh' ? presented.verified : undefined);
    if (!this.isClient(claims.client_id, policy.clientId)) throw await this.refused(claims, 'other-api');
    // The rotation checks the key in the statement that rotates; what comes before it must not act
    // for a caller without the key either: a mismatched pair revokes the session, a proof is spent.
    if (presented.kind === 'pair' || proof.jkt !== undefined) await this.assertKeyProven(claims, proof);
    if (presented.kind === 'pair') await this.assertIssuedTogether(presented.accessToken, claims, policy.clientId);
    await proof.spend?.();
    return this.rotateFamily(claims, policy as SessionPolicy, proof);
  }

  /**
   * The claims of a refresh token this service signed, or its refusal, without touching the
   * database: the cheap check a route makes before it spends anything on the request. Its expiry,
   * session and client are rotate()'s to judge (and audit), given these claims as `verified`.
   */
  verifiedRefreshToken(token: string): Promise<RefreshClaims> {
    return this.tokens.verifyRefresh(token, { ignoreExpiry: true });
  }

  /**
   * The claims of a refresh token this service signed. Its expiry is checked here rather than in
   * the verification, so that an expired token is refused and audited like every other refusal;
   * a token that does not verify is not audited: anyone can forge one, and it names no session.
   */
  private async refreshClaims(token: string, verified?: RefreshClaims): Promise<RefreshClaims> {
    const claims = verified ?? (await this.verifiedRefreshToken(token));
    if (claims.exp <= Math.floor(this.clock.now() / 1000)) throw await this.refused(claims, 'expired');
    return claims;
  }

  /**
   * Records a refused rotation in the audit log, once, and gives the error to throw (reuse has an
   * event of its own). The user is looked up so the event is found under them; the refusal stands
   * whether or not that lookup succeeds, so an unreachable database cannot turn it into a 503.
   */
  private async refused(claims: RefreshClaims, refusal: RefreshRefusal, error: Error = REFRESH_REFUSALS[refusal].error()): Promise<Error> {
    const session = await this.sessions.findById(claims.sid).catch(() => undefined);
    this.audit.record({
      type: 'token.refresh',
      outcome: 'failure',
      reason: REFRESH_REFUSALS[refusal].code,
      userId: session?.userId ?? null,
      principal: claims.sub,
      sessionId: claims.sid,
      details: { client: claims.client_id },
    });
    return error;
  }

  /** RFC 9449: a DPoP-bound session is acted on only by a request that proves its key. */
  private async assertKeyProven(claims: RefreshClaims, proof: ProofOfPossession): Promise<void> {
    const session = await this.sessions.findById(claims.sid);
    if (session?.dpopJkt && session.dpopJkt !== proof.jkt) throw await this.refused(claims, 'unproven-key');
  }

  /**
   * The Ethereum API's binding: the access token carries this service's signature (its expiry is
   * waived) and is the one issued with the refresh token. Anything else means the two were not
   * issued together, and the refresh token is revoked with its family.
   */
  private async assertIssuedTogether(accessToken: string, refresh: RefreshClaims, clientId: string): Promise<void> {
    let access: AccessClaims;
    try {
      access = await this.tokens.verifyAccess(accessToken, { ignoreExpiry: true });
    } catch (error) {
      await this.sessions.revokeByRefreshToken(refresh.jti, 'refresh with an invalid access token', this.now());
      throw await this.refused(refresh, 'pair-mismatch', error as Error);
    }
    if (access.jti !== refresh.acjti || access.sid !== refresh.sid || access.client_id !== refresh.client_id || !this.isClient(access.client_id, clientId)) {
      await this.sessions.revokeByRefreshToken(refresh.jti, 'refresh with a mismatched access token', this.now());
      throw await this.refused(refresh, 'pair-mismatch');
    }
  }

  private async rotateFamily(claims: RefreshClaims, policy: SessionPolicy, proof: ProofOfPossession): Promise<TokenPair> {
    const key = await this.keys.signingKey();
    const outcome = await this.sessions.rotate({
      jti: claims.jti,
      childJti: randomUUID(),
      accessJti: randomUUID(),
      kid: key.kid,
      clientId: policy.clientId,
      now: new Date(this.clock.now()),
      accessTtl: policy.accessTtl,
      refreshTtl: policy.refreshTtl,
      maxAgeSeconds: this.config.SESSION_MAX_AGE,
      graceMs: this.config.REFRESH_REUSE_GRACE * 1000,
      proofJkt: proof.jkt ?? null,
    });
    const child = await this.rotated(outcome, claims);
    // A grace answer is the pair the first presentation got: the same fields, signed by the same key.
    const signer = outcome.kind === 'rotated' && outcome.grace ? await this.keys.privateKey(child.kid) : key;
    if (!signer) throw await this.refused(claims, 'ended');
    const pair = this.signPair(signer, child);
    this.audit.record({
      type: 'token.refresh',
      outcome: 'success',
      userId: child.userId,
      principal: child.claims.sub,
      sessionId: child.sessionId,
      details: { client: child.clientId, grace: outcome.kind === 'rotated' && outcome.grace },
    });
    return pair;
  }

  private async rotated(outcome: RotationOutcome, claims: RefreshClaims): Promise<IssuedChild> {
    switch (outcome.kind) {
      case 'rotated':
        return outcome.child;
      case 'reused':
        this.metrics.refreshReuse.inc();
        this.audit.record({ type: 'token.reuse_detected', outcome: 'failure', reason: 'REFRESH_TOKEN_REUSED', userId: outcome.userId, sessionId: outcome.sessionId });
        throw new TokenError('INVALID_TOKEN', 'refresh token was already used; the session has been revoked');
      case 'invalid':
        throw await this.refused(claims, outcome.reason);
    }
  }

  /** A new access token in a session of access tokens only, while its password is unexpired. */
  private async renewAccessOnly(accessToken: string, clientId: string, ttlSeconds: number): Promise<IssuedToken> {
    const claims = await this.tokens.verifyAccess(accessToken);
    // This API takes no DPoP proof, so a bound token never counts here.
    if (claims.cnf !== undefined) throw new DpopError('UNPROVEN_KEY', 'the access token is bound to a DPoP key, and this route takes no DPoP proof');
    this.assertClient(claims.client_id, clientId);
    const now = this.clock.now();
    const renewed = await this.sessions.renewAccessOnly(claims.sid, clientId, new Date(now), ttlSeconds, this.config.SESSION_MAX_AGE);
    if (!renewed) {
      const principal = await this.sessions.principalOf(claims.sid);
      if (principal?.credentialExpiresAt && principal.credentialExpiresAt.getTime() <= now) throw passwordExpired();
      throw new TokenError('INVALID_TOKEN', 'session has ended');
    }
    return this.tokens.signAccess(await this.keys.signingKey(), {
      ...renewed.claims,
      clientId: renewed.session.clientId,
      sid: renewed.session.id,
      iat: Math.floor(now / 1000),
      exp: renewed.accessExp,
      jti: randomUUID(),
    });
  }

  /** A token is bound to the API that opened its session; a token issued before tokens named it is bound through the session. */
  private assertClient(tokenClient: string, clientId: string): void {
    if (!this.isClient(tokenClient, clientId)) throw new TokenError('INVALID_TOKEN', 'token was issued to another API');
  }

  /** An OAuth client's id is an email: a session opened under another spelling of it is still its own. */
  private isClient(tokenClient: string, clientId: string): boolean {
    return tokenClient === clientId || tokenClient === LEGACY_CLIENT || isSameEmail(tokenClient, clientId);
  }

  private signPair(key: SigningKey, child: IssuedChild): TokenPair {
    const common = { clientId: child.clientId, sid: child.sessionId, iat: child.iat };
    const access = this.tokens.signAccess(key, { ...child.claims, ...common, exp: child.accessExp, jti: child.accessJti, jkt: child.jkt });
    const refresh = this.tokens.signRefresh(key, { sub: child.claims.sub, acjti: child.accessJti, ...common, exp: child.refreshExp, jti: child.jti });
    return {
      accessToken: access.token,
      refreshToken: refresh.token,
      accessTtl: child.accessExp - child.iat,
      accessExp: child.accessExp,
      refreshExp: child.refreshExp,
      tokenType: child.jkt ? 'DPoP' : 'Bearer',
    };
  }

  /** Writes a new session (with its first refresh token, if any), from the request's address and agent, and records the login. */
  private async persist(sid: string, login: VerifiedLogin, clientId: string, now: number, expEpochSeconds: number, dpopJkt: string | null, refreshJti?: string): Promise<void> {
    const request = currentRequest();
    const written = await this.sessions.create({
      id: sid,
      userId: login.principal.userId,
      clientId,
      credentialKind: login.credential.kind,
      credentialId: login.credential.id,
      ip: request?.ip ?? null,
      userAgent: request?.userAgent ?? null,
      createdAt: new Date(now),
      expiresAt: new Date(expEpochSeconds * 1000),
      refreshJti,
      dpopJkt,
      role: login.principal.role,
    });
    if (!written) {
      // Disabled, demoted, or its credential revoked while the proof was being checked: the
      // change has committed, so no session may outlive it.
      this.audit.record({
        type: 'login.failure',
        outcome: 'failure',
        reason: 'PRINCIPAL_CHANGED',
        userId: login.principal.userId,
        principal: subjectOf(login.principal),
        details: { client: clientId, credential: login.credential.kind, credentialId: login.credential.id },
      });
      throw new AuthenticationError('UNKNOWN_PRINCIPAL', 'the account or its credential changed during the login; log in again');
    }
    this.audit.record({
      type: 'login.success',
      outcome: 'success',
      userId: login.principal.userId,
      principal: subjectOf(login.principal),
      sessionId: sid,
      details: { client: clientId, credential: login.credential.kind, credentialId: login.credential.id, dpop: dpopJkt !== null },
    });
  }

  /**
   * Verifies an access token and that its session is live: what every token-protected route needs.
   * A DPoP-bound token counts only under the DPoP scheme, with a proof by its key (RFC 9449
   * section 7.1): under Bearer it is refused even with a valid proof, as the consumer guard
   * refuses it, so that a client that works here works at every service.
   */
  async authenticate(presented: AuthorizationToken, proof: ProofOfPossession = {}): Promise<AccessClaims> {
    return (await this.authenticateSession(presented, proof)).claims;
  }

  private async authenticateSession(presented: AuthorizationToken, proof: ProofOfPossession): Promise<{ claims: AccessClaims; session: LiveSession }> {
    const claims = await this.tokens.verifyAccess(presented.token);
    if (claims.cnf !== undefined && (!presented.dpop || claims.cnf.jkt !== proof.jkt)) throw new DpopError('UNPROVEN_KEY', BOUND_ACCESS_TOKEN);
    const session = await this.liveSessions.find(claims.sid);
    if (!session || session.role !== claims.role) throw new TokenError('INVALID_TOKEN', 'session has ended');
    return { claims: { ...claims, client_id: claims.client_id || session.clientId }, session };
  }

  /** Ends the session of a live access token (logout). */
  async logout(presented: AuthorizationToken, proof: ProofOfPossession = {}): Promise<void> {
    const { claims, session } = await this.authenticateSession(presented, proof);
    await proof.spend?.();
    if (await this.sessions.revoke(claims.sid, 'logout', this.now())) {
      this.audit.record({ type: 'logout', outcome: 'success', userId: session.userId, principal: claims.sub, sessionId: claims.sid });
    }
  }

  /** Ends a session with a reason; returns false when it had already ended. */
  async end(session: SessionRecord, reason: string, actor: string): Promise<boolean> {
    const ended = await this.sessions.revoke(session.id, reason, this.now());
    if (ended) this.audit.record({ type: 'session.revoked', outcome: 'success', reason, userId: session.userId, sessionId: session.id, details: { actor } });
    return ended;
  }

  listForUser(userId: string, includeEnded = false): Promise<SessionRecord[]> {
    return this.sessions.listForUser(userId, this.now(), includeEnded);
  }

  async find(sessionId: string): Promise<SessionRecord | undefined> {
    return UUID.test(sessionId) ? this.sessions.findById(sessionId) : undefined;
  }

  revokeForUser(userId: string, reason: string): Promise<number> {
    return this.sessions.revokeForUser(userId, reason, this.now());
  }

  /** Ends every session a key, a wallet or a password opened. */
  revokeForCredential(credentialId: string, reason: string): Promise<number> {
    return this.sessions.revokeForCredential(credentialId, reason, this.now());
  }

  /**
   * RFC 7662: the claims of a live token, or undefined for a revoked, expired, foreign or malformed
   * one; `cnf` names the DPoP key of a bound session's tokens, refresh tokens included.
   */
  async introspect(token: string): Promise<TokenClaims | undefined> {
    const claims = await this.verifiedOrUndefined(token);
    if (!claims) return undefined;
    const session = await this.liveSessions.find(claims.sid);
    if (!session || (claims.token_use === 'access' && session.role !== claims.role)) return undefined;
    if (claims.token_use === 'refresh' && !(await this.sessions.isRefreshTokenLive(claims.jti, this.now()))) return undefined;
    return { ...claims, client_id: claims.client_id || session.clientId, ...(session.dpopJkt ? { cnf: { jkt: session.dpopJkt } } : {}) };
  }

  /**
   * RFC 7009: the session a token of this service belongs to, for its revocation; undefined for
   * anything else (a foreign, malformed or expired token), which is not an error to the caller.
   */
  async sessionOfToken(token: string): Promise<SessionRecord | undefined> {
    const claims = await this.verifiedOrUndefined(token);
    return claims && this.sessions.findById(claims.sid);
  }

  /** The claims of a token this service issued, of either use; anything else (foreign, malformed, expired) is undefined, as RFC 7009 and 7662 answer it. */
  private async verifiedOrUndefined(token: string): Promise<IssuedClaims | undefined> {
    try {
      return await this.tokens.verify(token, 'either', {});
    } catch (error) {
      if (error instanceof TokenError) return undefined;
      throw error;
    }
  }

  private now(): Date {
    return new Date(this.clock.now());
  }
}

type TokenClaims = (AccessClaims | RefreshClaims) & { cnf?: { jkt: string } };
