import { DomainError } from '../../common/domain-error.js';

export type FibLoginErrorCode = 'SIGNATURE_DECODE' | 'INVALID_PUBLIC_KEY' | 'CHALLENGE_REQUIRED' | 'INVALID_CHALLENGE';

/** A FIB login refused for a reason of the FIB API's own: the format of its hex fields, its challenge. */
export class FibLoginError extends DomainError<FibLoginErrorCode> {
  readonly family = 'fib';
}
