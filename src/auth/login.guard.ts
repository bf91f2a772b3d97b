import { applyDecorators, HttpCode, Inject, Injectable, mixin, Post, UseGuards, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticator } from 'passport';
import { Strategy as CustomStrategy } from 'passport-custom';
import type { ProofOfPossession } from '../sessions/sessions.service.js';
import { LoginAttempts, type LoginConditions } from './login-attempts.service.js';
import type { ProofVerifier, ProvenLogin } from './proof-verifier.js';
import type { VerifiedLogin } from '../sessions/verified-login.js';
import { SmallBody } from '../http/request-body.js';

export type LoginRequest = FastifyRequest & { user: VerifiedLogin; possession: ProofOfPossession };

/**
 * Guards a login route with an API's proof verifier, run as a passport-custom strategy inside
 * LoginAttempts (budgets, the order of checks, audit of failures). The proven login lands on
 * `request.user`, the DPoP key it proved (with `conditions.dpop`) on `request.possession`.
 * Each guard has a passport Authenticator of its own: @nestjs/passport registers strategies on
 * passport's process-wide singleton, where a second application in the same process (a test
 * starting another instance) would silently take over the first one's strategies.
 */
export function LoginGuard(verifier: Type<ProofVerifier>, conditions: LoginConditions = {}): Type<CanActivate> {
  @Injectable()
  class ProofGuard implements CanActivate {
    private readonly passport = new Authenticator();

    constructor(
      @Inject(verifier) private readonly proof: ProofVerifier,
      private readonly attempts: LoginAttempts,
    ) {
      this.passport.use(
        'proof',
        new CustomStrategy((request, done) => {
          this.proof.verify(request as unknown as FastifyRequest).then((login) => done(null, login), done);
        }),
      );
    }

    async canActivate(context: ExecutionContext): Promise<boolean> {
      const request = context.switchToHttp().getRequest<LoginRequest>();
      const reply = context.switchToHttp().getResponse<FastifyReply>();
      const { login, possession } = await this.attempts.attempt(this.proof, request, () => this.authenticate(request, reply), conditions);
      request.user = login;
      request.possession = possession;
      return true;
    }

    private authenticate(request: FastifyRequest, reply: FastifyReply): Promise<ProvenLogin> {
      return new Promise((resolve, reject) => {
        const middleware = this.passport.authenticate('proof', { session: false }, (error: unknown, login: ProvenLogin | false) => {
          if (error) reject(error);
          else if (login) resolve(login);
          else reject(new Error('the proof verifier yielded neither a login nor an error'));
        });
        middleware(request, reply, (error: unknown) => reject(error ?? new Error('the proof verifier did not finish')));
      });
    }
  }
  return mixin(ProofGuard);
}

/** A login route: a POST that answers 200 (not Nest's 201), behind the API's proof verifier. */
export function LoginRoute(path: string, verifier: Type<ProofVerifier>, conditions: LoginConditions = {}): MethodDecorator {
  return applyDecorators(Post(path), HttpCode(200), SmallBody(), UseGuards(LoginGuard(verifier, conditions)));
}
