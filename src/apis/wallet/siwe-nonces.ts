import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock.js';
import { SingleUseStore } from '../../auth/single-use.repository.js';

/** A nonce lives this long: time enough to read the message and sign it in a wallet. */
export const SIWE_NONCE_TTL_MS = 5 * 60 * 1000;

const SIWE_NONCE = 'siwe-nonce';

/** Single-use nonces for Sign-In with Ethereum: the server's half of the binding the timestamp login lacks. */
@Injectable()
export class SiweNonces {
  constructor(
    private readonly singleUse: SingleUseStore,
    private readonly clock: Clock,
  ) {}

  /** 128 random bits as 32 hex digits: EIP-4361 wants at least 8 letters or digits. */
  async issue(): Promise<{ nonce: string; expiresAt: number }> {
    const nonce = randomBytes(16).toString('hex');
    const now = this.clock.now();
    const expiresAt = now + SIWE_NONCE_TTL_MS;
    await this.singleUse.issue(SIWE_NONCE, nonce, new Date(expiresAt), new Date(now));
    return { nonce, expiresAt };
  }

  /** Spends an issued, unexpired, unused nonce; false for any other. Of two logins racing, one wins. */
  consume(nonce: string): Promise<boolean> {
    return this.singleUse.consume(SIWE_NONCE, nonce, new Date(this.clock.now()));
  }
}
