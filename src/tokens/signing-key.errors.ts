import { DomainError } from '../common/domain-error.js';

export type SigningKeyErrorCode = 'UNKNOWN_KEY' | 'ALREADY_REVOKED';

/** An operation on the service's signing keys (the command line's) that cannot be done. */
export class SigningKeyError extends DomainError<SigningKeyErrorCode> {
  readonly family = 'signing-key';
}
