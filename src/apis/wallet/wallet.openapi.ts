import { ApiEnvelopeError, EXAMPLE_ACCESS_TOKEN, EXAMPLE_REFRESH_TOKEN, type AnyDecorator } from '../../http/openapi.js';
import type { TokenPairBody } from '../../sessions/presented-token.js';

/** The pair both Ethereum logins answer. */
export const TOKENS_EXAMPLE: TokenPairBody = {
  accessToken: EXAMPLE_ACCESS_TOKEN,
  refreshToken: EXAMPLE_REFRESH_TOKEN,
  accessExpiryAt: 1767226500000,
  refreshExpiryAt: 1767312000000,
};

/** The 503 of both Ethereum logins: a contract wallet's signature needs the node, and it does not answer. */
export function ApiContractWalletUnavailable(): AnyDecorator {
  return ApiEnvelopeError(
    503,
    'ServiceUnavailable',
    'The Ethereum node is unreachable: a contract wallet cannot be checked now.',
    'the signature is not the signer\'s own (ECDSA), so the signer is asked as a contract wallet (ERC-1271), and the node at ETH_RPC_URL does not answer or serves another chain',
  );
}
