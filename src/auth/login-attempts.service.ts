import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuditService } from '../audit/audit.service.js';
import { DomainError, RequestError, UnavailableError } from '../common/domain-error.js';
import { RateLimitError } from '../rate-limit/rate-limit.errors.js';
import { RateLimiterService } from '../rate-limit/rate-limiter.service.js';
import { AuthenticationError } from '../sessions/authentication.errors.js';
import { DpopService } from './dpop/dpop.service.js';
import type { ProofOfPossession } from '../sessions/sessions.service.js';
import type { ProofVerifier, ProvenLogin } from './proof-verifier.js';
import type { VerifiedLogin } from '../sessions/verified-login.js';

/** What a route asks of a login beyond its proof. */
export interface LoginConditions {
  /** The route binds its tokens to the key of the request's DPoP proof, when it carries one. */
  dpop?: boolean;
  /** A refusal that depends on who proved themselves (a role the route needs). */
  admit?(login: VerifiedLogin): void | Promise<void>;
}

/** A login that passed every check and spent its single-use records; `possession` names the DPoP key it proved, if any. */
export interface AdmittedLogin {
  login: VerifiedLogin;
  possession: ProofOfPossession;
}

/**
 * Every login attempt of every API passes here, and here alone is the order of its checks
 * decided. First the budgets: the address's budget is spent and the identity's budget taken
 * before anything else (RateLimiterService), so that parallel attempts cannot overdraw them. Then
 * every check that spends nothing: the DPoP proof's signature, method, URL and age, the login's
 * proof, the route's own conditions. Only then the single-use records: the DPoP proof's jti,
 * which the client replaces for free, before the proof's own nonce, signed timestamp or assertion
 * jti, which cost it a round trip or a user's signature. A request refused on the way spends
 * nothing that comes after the refusal.
 *
 * A success, or an attempt that proved nothing about the identity either way, gives the
 * identity's budget back. Every refusal is recorded in the audit log; a refused budget is
 * recorded by the limiter, once per window. (A successful login is recorded when its session opens.)
 */
@Injectable()
export class LoginAttempts {
  constructor(
    private readonly limiter: RateLimiterService,
    private readonly audit: AuditService,
    private readonly dpop: DpopService,
  ) {}

  async attempt(
    verifier: Pick<ProofVerifier, 'endpoint' | 'proof' | 'claimedIdentity'>,
    request: FastifyRequest,
    prove: () => Promise<ProvenLogin>,
    conditions: LoginConditions = {},
  ): Promise<AdmittedLogin> {
    const identity = verifier.claimedIdentity(request);
    await this.limiter.takeRequest(verifier.endpoint, request.ip);
    const budget = await this.limiter.takeLoginAttempt(verifier.endpoint, verifier.proof, identity, request.ip);
    // Only a failure of the proof itself tells anything about the identity; the DPoP proof and the route's conditions do not.
    let provingIdentity = false;
    let admitted: AdmittedLogin;
    try {
      const dpop = conditions.dpop ? await this.dpop.check(request) : undefined;
      provingIdentity = true;
      const proven = await prove();
      provingIdentity = false;
      await conditions.admit?.(proven.login);
      await dpop?.spend();
      provingIdentity = true;
      await proven.spend?.();
      admitted = { login: proven.login, possession: dpop?.jkt ? { jkt: dpop.jkt } : {} };
    } catch (error) {
      const refusedProof = provingIdentity && isRefusedProof(error);
      if (!refusedProof) await budget.refund();
      // Past the identity's budget a failing signature gets 429 (recorded once by the limiter), never a verifying one.
      if (refusedProof && budget.exhausted) throw budget.refusal();
      this.audit.record({
        type: 'login.failure',
        outcome: 'failure',
        reason: error instanceof DomainError ? error.code : 'INTERNAL_ERROR',
        principal: identity ?? null,
        details: { endpoint: verifier.endpoint },
      });
      throw error;
    }
    await budget.refund();
    return admitted;
  }
}

/**
 * A proof that was checked and did not prove the claimed identity. A malformed request proved
 * nothing, a dependency that was down (the Ethereum node) checked nothing, and an expired password
 * was the right one: none of them spends the identity's budget.
 */
function isRefusedProof(error: unknown): boolean {
  if (!(error instanceof DomainError) || error instanceof RequestError || error instanceof RateLimitError || error instanceof UnavailableError) return false;
  return !(error instanceof AuthenticationError && error.code === 'PASSWORD_EXPIRED');
}
