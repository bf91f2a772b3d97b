import type { FastifyRequest } from 'fastify';
import type { ProofKind, RateLimitedEndpoint } from '../rate-limit/rate-limiter.service.js';
import type { VerifiedLogin } from '../sessions/verified-login.js';

/**
 * A proof that verified, with the single-use record it still holds (a challenge or SIWE nonce, a
 * signed timestamp, a client assertion's jti). LoginAttempts spends it last, once every check
 * that spends nothing has passed, so that a login refused for another reason leaves it usable.
 */
export interface ProvenLogin {
  login: VerifiedLogin;
  /** Records the single-use part; throws the API's error when it was used before. */
  spend?(): Promise<void>;
}

/**
 * An API's proof of who is logging in. Each API's passport strategy (PassportStrategy over
 * passport-custom, named for the API, behind LoginRoute's AuthGuard) implements it and hands
 * itself to LoginAttempts from validate(): the adapter owns the wire format and the check, the
 * core owns the order of checks, budgets and the audit of failures.
 */
export interface ProofVerifier {
  /** The endpoint whose budgets this login spends. */
  readonly endpoint: RateLimitedEndpoint;
  /** What the proof is: a signature cannot be guessed, a password can (see RateLimiterService). */
  readonly proof: ProofKind;
  /** The identity the request claims before it is proven: the unit of the per-identity budget. */
  claimedIdentity(request: FastifyRequest): string | undefined;
  /** The principal and credential the request proves, nothing spent yet; throws a domain error when it proves nothing. */
  verify(request: FastifyRequest): Promise<ProvenLogin>;
}
