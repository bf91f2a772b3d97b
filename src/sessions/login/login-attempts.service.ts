import { Injectable } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service.js';
import { DomainError, RequestError } from '../../common/domain-error.js';
import { RateLimitError } from '../../rate-limit/rate-limit.errors.js';
import { RateLimiterService } from '../../rate-limit/rate-limiter.service.js';
import type { ProofVerifier } from './proof-verifier.js';
import type { VerifiedLogin } from './verified-login.js';
import type { FastifyRequest } from 'fastify';

/**
 * Every login attempt of every API passes here: the budgets are applied, the proof is checked, a
 * refused attempt spends the identity's budget and is recorded in the audit log. (A successful one
 * is recorded when its session opens.)
 */
@Injectable()
export class LoginAttempts {
  constructor(
    private readonly limiter: RateLimiterService,
    private readonly audit: AuditService,
  ) {}

  async attempt(verifier: ProofVerifier, request: FastifyRequest, prove: () => Promise<VerifiedLogin>): Promise<VerifiedLogin> {
    const identity = verifier.claimedIdentity(request);
    try {
      await this.limiter.check(verifier.endpoint, request.ip, identity);
      return await prove();
    } catch (error) {
      if (spendsBudget(error)) await this.limiter.recordFailure(verifier.endpoint, identity);
      this.audit.record({
        type: 'login.failure',
        outcome: 'failure',
        reason: error instanceof DomainError ? error.code : 'INTERNAL_ERROR',
        principal: identity ?? null,
        details: { endpoint: verifier.endpoint },
      });
      throw error;
    }
  }
}

/** A proof that was checked and refused; a malformed request or a spent budget checked nothing. */
function spendsBudget(error: unknown): boolean {
  return error instanceof DomainError && !(error instanceof RequestError) && !(error instanceof RateLimitError);
}
