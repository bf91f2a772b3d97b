import type { FastifyRequest } from 'fastify';
import type { ProofKind, RateLimitedEndpoint } from '../../rate-limit/rate-limiter.service.js';
import type { VerifiedLogin } from './verified-login.js';

/**
 * An API's proof of who is logging in, run by LoginGuard as a passport-custom strategy: the
 * adapter owns the wire format and the check, the core owns budgets and the audit of failures.
 */
export interface ProofVerifier {
  /** The endpoint whose budgets this login spends. */
  readonly endpoint: RateLimitedEndpoint;
  /** What the proof is: a signature cannot be guessed, a password can (see RateLimiterService). */
  readonly proof: ProofKind;
  /** The identity the request claims before it is proven: the unit of the per-identity budget. */
  claimedIdentity(request: FastifyRequest): string | undefined;
  /** The principal and credential the request proves; throws a domain error when it proves nothing. */
  verify(request: FastifyRequest): Promise<VerifiedLogin>;
}
