import type { ChainError } from '../../chain/chain.errors.js';
import { envelopeStatusTable } from '../../http/envelope-status-table.js';
import type { FamilyRows } from '../../http/status-table.js';
import type { SiweError } from './siwe.errors.js';
import type { WalletLoginError } from './wallet-login.errors.js';

/** A contract wallet's signature needs the node (ERC-1271); without an answer the login is 503, never accepted. */
const CHAIN_ROWS: FamilyRows<ChainError>['chain'] = {
  NODE_UNAVAILABLE: [503, 'ServiceUnavailable', 'The Ethereum node is unreachable: a contract wallet cannot be checked now.'],
  WRONG_CHAIN: [503, 'ServiceUnavailable', 'The Ethereum node serves another chain: a contract wallet cannot be checked.'],
};

/** The Ethereum wallet API's table: the envelope's rows and these. */
export const WALLET_STATUS_TABLE = envelopeStatusTable<WalletLoginError | ChainError>({
  wallet: {
    TIMESTAMP_OUT_OF_WINDOW: [401, 'TimestampOutOfWindow'],
    SIGNATURE_REPLAYED: [401, 'SignatureReplayed'],
  },
  chain: CHAIN_ROWS,
});

/** Sign-In with Ethereum's table: a message bound elsewhere is a signature not valid here. */
export const SIWE_STATUS_TABLE = envelopeStatusTable<SiweError | ChainError>({
  siwe: {
    INVALID_MESSAGE: [422, 'InvalidMessage'],
    INVALID_NONCE: [401, 'InvalidNonce'],
    MESSAGE_EXPIRED: [401, 'MessageExpired'],
    DOMAIN_MISMATCH: [401, 'InvalidSignature'],
    URI_MISMATCH: [401, 'InvalidSignature'],
    CHAIN_MISMATCH: [401, 'InvalidSignature'],
  },
  chain: CHAIN_ROWS,
});
