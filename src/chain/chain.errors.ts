import { UnavailableError } from '../common/domain-error.js';

export type ChainErrorCode =
  /** The node at ETH_RPC_URL does not answer (or answers with an error of its own). */
  | 'NODE_UNAVAILABLE'
  /** The node answers for another chain than ETH_CHAIN_ID. */
  | 'WRONG_CHAIN';

/** The chain cannot be asked: a login that needs it is answered 503, never accepted. */
export class ChainError extends UnavailableError<ChainErrorCode> {
  readonly family = 'chain';
}
