import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuditService } from '../../audit/audit.service.js';
import { DomainError, RequestError, UnavailableError } from '../../common/domain-error.js';
import { RateLimitError } from '../../rate-limit/rate-limit.errors.js';
import { RateLimiterService } from '../../rate-limit/rate-limiter.service.js';
import { AuthenticationError } from '../authentication.errors.js';
import type { ProofVerifier } from './proof-verifier.js';
import type { VerifiedLogin } from './verified-login.js';

/**
 * Every login attempt of every API passes here. The address's budget is spent and the identity's
 * budget taken before the proof is checked (RateLimiterService), so that parallel attempts cannot
 * overdraw them; a success, or an attempt that proved nothing either way, gives the identity's
 * budget back. A refused proof is recorded in the audit log; a refused budget is recorded by the
 * limiter, once per window. (A successful login is recorded when its session opens.)
 */
@Injectable()
export class LoginAttempts {
  constructor(
    private readonly limiter: RateLimiterService,
    private readonly audit: AuditService,
  ) {}

  async attempt(verifier: Pick<ProofVerifier, 'endpoint' | 'proof' | 'claimedIdentity'>, request: FastifyRequest, prove: () => Promise<VerifiedLogin>): Promise<VerifiedLogin> {
    const identity = verifier.claimedIdentity(request);
    await this.limiter.takeRequest(verifier.endpoint, request.ip);
    const budget = await this.limiter.takeLoginAttempt(verifier.endpoint, verifier.proof, identity, request.ip);
    let login: VerifiedLogin;
    try {
      login = await prove();
    } catch (error) {
      const refusedProof = isRefusedProof(error);
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
    return login;
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
