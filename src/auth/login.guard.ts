import { Injectable, mixin, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatedLogin } from './authenticated-login.js';
import { LoginAuthenticator, type LoginStrategyName } from './login-authenticator.js';

export type LoginRequest = FastifyRequest & { user: AuthenticatedLogin };

/** Guards a login route with one Passport strategy; the proven login lands on `request.user`. */
export function LoginGuard(strategy: LoginStrategyName): Type<CanActivate> {
  @Injectable()
  class StrategyGuard implements CanActivate {
    constructor(private readonly authenticator: LoginAuthenticator) {}

    async canActivate(context: ExecutionContext): Promise<boolean> {
      const request = context.switchToHttp().getRequest<LoginRequest>();
      request.user = await this.authenticator.authenticate(strategy, request, context.switchToHttp().getResponse<FastifyReply>());
      return true;
    }
  }
  return mixin(StrategyGuard);
}
