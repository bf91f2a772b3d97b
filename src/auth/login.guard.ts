import { applyDecorators, HttpCode, mixin, Post, UseGuards, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import type { ProofOfPossession } from '../sessions/sessions.service.js';
import type { AdmittedLogin, LoginConditions } from './login-attempts.service.js';
import type { VerifiedLogin } from '../sessions/verified-login.js';
import { ApiDpopProof, ApiEnvelopeLogin } from '../http/openapi.js';
import { ApiOperation } from '../http/openapi-decorators.js';
import { SmallBody } from '../http/request-body.js';

export type LoginRequest = FastifyRequest & { user: VerifiedLogin; possession: ProofOfPossession };

/**
 * What a login route hands its strategy. Passport passes a guard's authenticate options on to a
 * strategy built with `passOptionsToCallback` (LOGIN_STRATEGY_OPTIONS), so one strategy serves
 * routes that ask different things of a login.
 */
export interface LoginOptions {
  conditions: LoginConditions;
}

/** The passport-custom options of every login strategy: its validate() gets the route's LoginOptions. */
export const LOGIN_STRATEGY_OPTIONS = { passOptionsToCallback: true } as const;

/**
 * AuthGuard(strategy) with the route's conditions (a DPoP proof, a role). The strategy's
 * validate() runs the login through LoginAttempts and yields the admitted login; the guard puts
 * the principal on `request.user`, as passport does, and the DPoP key it proved on
 * `request.possession`. A refusal is the strategy's domain error, rendered by the API's status
 * table; passport's own 401 never answers.
 */
export function LoginGuard(strategy: string, conditions: LoginConditions = {}): Type<CanActivate> {
  class RouteLoginGuard extends AuthGuard(strategy) {
    override getAuthenticateOptions(): LoginOptions {
      return { conditions };
    }

    override handleRequest<TUser = VerifiedLogin>(error: unknown, admitted: AdmittedLogin | false, _info: unknown, context: ExecutionContext): TUser {
      if (error) throw error;
      if (!admitted) throw new Error(`the ${strategy} strategy yielded neither a login nor an error`);
      context.switchToHttp().getRequest<LoginRequest>().possession = admitted.possession;
      return admitted.login as TUser;
    }
  }
  return mixin(RouteLoginGuard);
}

/** A login route: a POST that answers 200 (not Nest's 201), behind the named passport strategy. */
export function LoginRoute(path: string, strategy: string, conditions: LoginConditions = {}): MethodDecorator {
  return applyDecorators(Post(path), HttpCode(200), SmallBody(), UseGuards(LoginGuard(strategy, conditions)));
}

/**
 * A signature login of an envelope API (FIB, wallet, SIWE): the login route, its session bound to
 * the key of a DPoP proof that comes with it, with its OpenAPI operation, the rows every signature
 * login shares and the API's own `rows`.
 */
export function SignatureLoginRoute(
  path: string,
  strategy: string,
  operation: { summary: string; description: string },
  login: Parameters<typeof ApiEnvelopeLogin>[0],
  ...rows: Parameters<typeof ApiEnvelopeLogin>[1][]
): MethodDecorator {
  // Applied in this order, as the same decorators stacked on a method would be (bottom up): the
  // OpenAPI examples of a status keep the order of the status table.
  return applyDecorators(
    ApiDpopProof("the session's tokens are bound to its key"),
    ApiEnvelopeLogin(login, ...rows),
    ApiOperation(operation),
    LoginRoute(path, strategy, { dpop: true }),
  );
}
