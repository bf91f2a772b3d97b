import { DomainError } from '../common/domain-error.js';

export type AuthErrorCode =
  | 'INVALID_SIGNATURE'
  | 'USER_NOT_FOUND'
  | 'SIGNATURE_DECODE'
  | 'INVALID_PUBLIC_KEY'
  | 'TIMESTAMP_OUT_OF_WINDOW'
  | 'SIGNATURE_REPLAYED'
  | 'CHALLENGE_REQUIRED'
  | 'INVALID_CHALLENGE'
  | 'BAD_CREDENTIALS'
  | 'PASSWORD_EXPIRED'
  | 'TOO_MANY_REQUESTS';

/** A login proof that was refused. The message is safe to show the caller. */
export class AuthError extends DomainError<AuthErrorCode> {
  readonly family = 'auth';
}
