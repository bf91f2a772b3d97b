import { envelopeStatusTable } from '../../http/envelope-status-table.js';
import type { WalletLoginError } from './wallet-login.errors.js';

/** The Ethereum wallet API's table (DESIGN section 5): the envelope's rows and these. */
export const WALLET_STATUS_TABLE = envelopeStatusTable<WalletLoginError>({
  wallet: {
    TIMESTAMP_OUT_OF_WINDOW: [401, 'TimestampOutOfWindow'],
    SIGNATURE_REPLAYED: [401, 'SignatureReplayed'],
  },
});
