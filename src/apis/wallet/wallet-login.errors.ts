import { DomainError } from '../../common/domain-error.js';

export type WalletLoginErrorCode = 'TIMESTAMP_OUT_OF_WINDOW' | 'SIGNATURE_REPLAYED';

/** An Ethereum login refused for a reason of the wallet API's own: its time window, its replay rule. */
export class WalletLoginError extends DomainError<WalletLoginErrorCode> {
  readonly family = 'wallet';
}
