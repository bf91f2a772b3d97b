import { DomainError } from '../common/domain-error.js';

export type DpopErrorCode =
  /** A DPoP proof that was sent and does not hold (RFC 9449 section 7.1's invalid_dpop_proof). */
  | 'INVALID_DPOP_PROOF'
  /** A DPoP-bound token without a proof by its key, or outside the DPoP scheme (RFC 9449 section 7.1's invalid_token). */
  | 'UNPROVEN_KEY';

export class DpopError extends DomainError<DpopErrorCode> {
  readonly family = 'dpop';
}
