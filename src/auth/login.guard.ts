import { Injectable, mixin, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditService } from '../audit/audit.service.js';
import { DomainError } from '../common/domain-error.js';
import { claimedEmailKey } from '../users/email.js';
import { RateLimiterService, type RateLimitedEndpoint } from '../rate-limit/rate-limiter.service.js';
import { AuthError } from './auth.errors.js';
import type { AuthenticatedLogin } from './authenticated-login.js';
import { LoginAuthenticator, type LoginStrategyName } from './login-authenticator.js';
import { basicCredentials } from './strategies/password.strategy.js';

export type LoginRequest = FastifyRequest & { user: AuthenticatedLogin };

const ENDPOINT: Record<LoginStrategyName, RateLimitedEndpoint> = {
  'email-signature': 'fib-login',
  'wallet-signature': 'wallet-login',
  password: 'password-login',
};

/** The identity a login claims, before it is proven: the unit of the per-identity budget. */
function claimedIdentity(strategy: LoginStrategyName, request: FastifyRequest): string | undefined {
  const body = request.body as Record<string, unknown> | undefined;
  switch (strategy) {
    case 'email-signature':
      return claimedEmailKey(body?.email);
    case 'wallet-signature':
      return typeof body?.signer === 'string' ? body.signer.toLowerCase().slice(0, 42) : undefined;
    case 'password':
      return claimedEmailKey(basicCredentials(request.headers.authorization)?.email);
  }
}

/**
 * Guards a login route with one Passport strategy: refuses callers over their rate budget, runs
 * the strategy, spends the identity's budget on a refused proof and records the failure in the
 * audit log. The proven login lands on `request.user`.
 */
export function LoginGuard(strategy: LoginStrategyName): Type<CanActivate> {
  @Injectable()
  class StrategyGuard implements CanActivate {
    constructor(
      private readonly authenticator: LoginAuthenticator,
      private readonly limiter: RateLimiterService,
      private readonly audit: AuditService,
    ) {}

    async canActivate(context: ExecutionContext): Promise<boolean> {
      const request = context.switchToHttp().getRequest<LoginRequest>();
      const endpoint = ENDPOINT[strategy];
      const identity = claimedIdentity(strategy, request);
      try {
        await this.limiter.check(endpoint, request.ip, identity);
        request.user = await this.authenticator.authenticate(strategy, request, context.switchToHttp().getResponse<FastifyReply>());
      } catch (error) {
        if (error instanceof AuthError && error.code !== 'TOO_MANY_REQUESTS') await this.limiter.recordFailure(endpoint, identity);
        this.audit.record({
          type: 'login.failure',
          outcome: 'failure',
          reason: error instanceof DomainError ? error.code : 'INTERNAL_ERROR',
          principal: identity ?? null,
          details: { method: strategy },
        });
        throw error;
      }
      // Success is recorded with its session id when the session starts (SessionsService).
      return true;
    }
  }
  return mixin(StrategyGuard);
}
