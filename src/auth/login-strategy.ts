import type { Type } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy as CustomStrategy } from 'passport-custom';
import type { ProofKind, RateLimitedEndpoint } from '../rate-limit/rate-limiter.service.js';
import { LoginAttempts, type AdmittedLogin } from './login-attempts.service.js';
import { LOGIN_STRATEGY_OPTIONS, type LoginOptions } from './login.guard.js';
import type { ProofVerifier, ProvenLogin } from './proof-verifier.js';

/** A login strategy: the proof verifier LoginAttempts runs, as passport calls it. */
export interface LoginStrategyBase extends ProofVerifier {
  validate(request: FastifyRequest, options: LoginOptions): Promise<AdmittedLogin>;
}

/**
 * The base of each API's login strategy: a passport strategy (passport-custom) registered under
 * the API's name, whose validate() hands the login to LoginAttempts, the one place that orders a
 * login's checks and audits its refusals. The API names the endpoint whose budgets the login
 * spends and its kind of proof, and writes only the proof.
 */
export function LoginStrategy(name: string, endpoint: RateLimitedEndpoint, proof: ProofKind): abstract new (attempts: LoginAttempts) => LoginStrategyBase {
  abstract class ApiLoginStrategy extends (PassportStrategy(CustomStrategy, name) as Type<object>) implements LoginStrategyBase {
    readonly endpoint = endpoint;
    readonly proof = proof;

    constructor(private readonly attempts: LoginAttempts) {
      super(LOGIN_STRATEGY_OPTIONS);
    }

    validate(request: FastifyRequest, options: LoginOptions): Promise<AdmittedLogin> {
      return this.attempts.attempt(this, request, () => this.verify(request), options.conditions);
    }

    abstract claimedIdentity(request: FastifyRequest): string | undefined;
    abstract verify(request: FastifyRequest): Promise<ProvenLogin>;
  }
  return ApiLoginStrategy;
}
