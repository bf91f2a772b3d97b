import { DomainError } from '../../common/domain-error.js';

export type SiweErrorCode =
  /** The text is not an EIP-4361 message. */
  | 'INVALID_MESSAGE'
  /** The nonce is not one sigauth issued, or it expired or was used. */
  | 'INVALID_NONCE'
  /** Outside the message's validity: past expirationTime, before notBefore, issuedAt too far from now. */
  | 'MESSAGE_EXPIRED'
  /** Bound to another service: its domain is not in SIWE_DOMAINS ... */
  | 'DOMAIN_MISMATCH'
  /** ... its uri's origin is not in SIWE_URIS ... */
  | 'URI_MISMATCH'
  /** ... or its chain is not ETH_CHAIN_ID. */
  | 'CHAIN_MISMATCH';

/** A Sign-In with Ethereum message refused for what it says, rather than for who signed it. */
export class SiweError extends DomainError<SiweErrorCode> {
  readonly family = 'siwe';
}
