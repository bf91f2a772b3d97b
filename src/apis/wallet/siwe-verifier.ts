import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { AuthenticationError } from '../../sessions/authentication.errors.js';
import type { WalletKind } from '../../users/user.types.js';
import { parseDateTime, parseSiweMessage, type SiweMessage } from './siwe-message.js';
import { SiweError } from './siwe.errors.js';
import { WalletSignatures } from './wallet-signatures.js';

/** What a message must be bound to, and how far its issuedAt may be from the server's time. */
export interface SiwePolicy {
  /** RFC 3986 authorities, lower-case. */
  domains: string[];
  /** Origins (scheme://host[:port]) a message's uri may have. */
  origins: string[];
  chainId: number;
  /** |now - issuedAt| at most this: EIP-4361 sets no bound, and without one a signed message would log in forever. */
  issuedAtWindowMs: number;
}

export const SIWE_POLICY = Symbol('SIWE_POLICY');

/** A message's issuedAt is within 5 minutes of the server's time, either way (as the timestamp login's window). */
export const SIWE_ISSUED_AT_WINDOW_MS = 5 * 60 * 1000;

export function siwePolicy(config: AppConfig): SiwePolicy {
  return {
    domains: config.SIWE_DOMAINS.map((d) => d.toLowerCase()),
    origins: config.SIWE_URIS ?? [],
    chainId: config.ETH_CHAIN_ID,
    issuedAtWindowMs: SIWE_ISSUED_AT_WINDOW_MS,
  };
}

function originOf(uri: string): string | undefined {
  try {
    return new URL(uri).origin;
  } catch {
    return undefined;
  }
}

/**
 * Sign-In with Ethereum (EIP-4361): the exact text the client signed is parsed strictly (never a
 * message rebuilt from its fields), checked against this service's binding and the Clock, and
 * its signature verified for the address it names, as that wallet's kind says. The nonce is the
 * login's to consume: only a login that verifies uses it up.
 */
@Injectable()
export class SiweVerifier {
  constructor(
    @Inject(SIWE_POLICY) private readonly policy: SiwePolicy,
    private readonly clock: Clock,
    private readonly signatures: WalletSignatures,
  ) {}

  async verify(text: string, signature: string, kind: WalletKind = 'EOA'): Promise<SiweMessage> {
    const message = this.check(text);
    await this.assertSigned(message, text, signature, kind);
    return message;
  }

  /** The message, parsed, bound to this service and timely; its signature is not checked yet. */
  check(text: string): SiweMessage {
    const message = parseSiweMessage(text);
    this.assertBinding(message);
    this.assertTimely(message);
    return message;
  }

  /** `text` (whose parse is `message`) is signed by the address it names, a wallet of this kind. */
  async assertSigned(message: SiweMessage, text: string, signature: string, kind: WalletKind): Promise<void> {
    if (!(await this.signatures.verify(message.address.toLowerCase(), kind, text, signature))) {
      throw new AuthenticationError('INVALID_PROOF', 'Signature is not valid.');
    }
  }

  private assertBinding(message: SiweMessage): void {
    if (!this.policy.domains.includes(message.domain.toLowerCase())) {
      throw new SiweError('DOMAIN_MISMATCH', `the message is for ${message.domain}, not for this service (SIWE_DOMAINS)`);
    }
    // A scheme, when the message names one, is part of the origin the wallet showed.
    if (message.scheme !== undefined && !this.policy.origins.includes(originOf(`${message.scheme}://${message.domain}`) ?? '')) {
      throw new SiweError('DOMAIN_MISMATCH', `the message is for ${message.scheme}://${message.domain}, not for this service (SIWE_URIS)`);
    }
    if (!this.policy.origins.includes(originOf(message.uri) ?? '')) {
      throw new SiweError('URI_MISMATCH', `the message's URI ${message.uri} is not at an origin of this service (SIWE_URIS)`);
    }
    if (message.chainId !== this.policy.chainId) {
      throw new SiweError('CHAIN_MISMATCH', `the message is for chain ${message.chainId}, not ${this.policy.chainId} (ETH_CHAIN_ID)`);
    }
  }

  private assertTimely(message: SiweMessage): void {
    const now = this.clock.now();
    const expires = message.expirationTime === undefined ? undefined : parseDateTime(message.expirationTime)!;
    if (expires !== undefined && now >= expires) throw new SiweError('MESSAGE_EXPIRED', `the message expired at ${message.expirationTime}`);
    const notBefore = message.notBefore === undefined ? undefined : parseDateTime(message.notBefore)!;
    if (notBefore !== undefined && now < notBefore) throw new SiweError('MESSAGE_EXPIRED', `the message is not valid before ${message.notBefore}`);
    if (Math.abs(now - parseDateTime(message.issuedAt)!) > this.policy.issuedAtWindowMs) {
      throw new SiweError('MESSAGE_EXPIRED', 'issuedAt is more than 5 minutes from the server time');
    }
  }
}
