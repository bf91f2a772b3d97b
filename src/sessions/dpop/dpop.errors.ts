import { DomainError } from '../../common/domain-error.js';

/** A DPoP proof that was sent and does not hold (RFC 9449 section 7.1's invalid_dpop_proof). */
export class DpopError extends DomainError<'INVALID_DPOP_PROOF'> {
  readonly family = 'dpop';
}
