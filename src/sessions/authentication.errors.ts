import { DomainError } from '../common/domain-error.js';

export type AuthenticationErrorCode =
  /** The proof (a signature, a password) does not verify for the principal it claims. */
  | 'INVALID_PROOF'
  /** No active principal is what the login claims to be. */
  | 'UNKNOWN_PRINCIPAL'
  | 'PASSWORD_EXPIRED';

/** A login every API refuses alike; each API's table names the case in its own words. */
export class AuthenticationError extends DomainError<AuthenticationErrorCode> {
  readonly family = 'authentication';
}

/** An expired password: the client must act on it, so every API names it apart from a wrong one. */
export function passwordExpired(): AuthenticationError {
  return new AuthenticationError('PASSWORD_EXPIRED', 'The password has expired and must be changed.');
}
