import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Clock } from '../../common/clock.js';
import { RequestError } from '../../common/domain-error.js';
import { validateBody } from '../../http/validation.js';
import { AuthenticationError } from '../../sessions/authentication.errors.js';
import { LoginAttempts } from '../../auth/login-attempts.service.js';
import { LoginStrategy } from '../../auth/login-strategy.js';
import type { ProvenLogin } from '../../auth/proof-verifier.js';
import { SingleUseStore } from '../../auth/single-use.repository.js';
import { WalletLogins } from './wallet-logins.js';
import { WalletLoginDto } from './dto/wallet-login.dto.js';
import { parseEthereumSignature } from './ethereum-signature.js';
import { WalletLoginError } from './wallet-login.errors.js';
import { WalletSignatures } from './wallet-signatures.js';
import { claimedField } from '../../http/request-body.js';

/** How far a signed timestamp may be from the server's clock, either way. */
export const WALLET_LOGIN_WINDOW_MS = 5 * 60 * 1000;

/**
 * Ethereum login: the wallet signs the decimal string of a timestamp with EIP-191 personal_sign.
 * Each (address, timestamp) is accepted once across all instances, so a captured signature is
 * worth nothing after its first use, and nothing at all after the window.
 */
@Injectable()
export class WalletSignatureStrategy extends LoginStrategy('wallet', 'wallet-login', 'signature') {
  constructor(
    attempts: LoginAttempts,
    private readonly wallets: WalletLogins,
    private readonly singleUse: SingleUseStore,
    private readonly signatures: WalletSignatures,
    private readonly clock: Clock,
  ) {
    super(attempts);
  }

  override claimedIdentity(request: FastifyRequest): string | undefined {
    return claimedField(request.body, 'signer')?.toLowerCase().slice(0, 42);
  }

  override async verify(request: FastifyRequest): Promise<ProvenLogin> {
    const body = await validateBody(WalletLoginDto, request.body);
    if (parseEthereumSignature(body.signature) === 'MALFORMED') throw new RequestError('ARGUMENT_NOT_VALID', 'signature must be 0x and 65 bytes (or 64, EIP-2098) in hex');
    const now = this.clock.now();
    if (Math.abs(now - body.timestampInMs) > WALLET_LOGIN_WINDOW_MS) {
      throw new WalletLoginError('TIMESTAMP_OUT_OF_WINDOW', 'timestampInMs is more than 5 minutes from the server time');
    }
    const signer = body.signer.toLowerCase();
    const login = await this.wallets.prove(signer, async (kind) => {
      if (!(await this.signatures.verify(signer, kind, String(body.timestampInMs), body.signature))) throw new AuthenticationError('INVALID_PROOF', 'Signature is not valid.');
    });
    return {
      login,
      spend: async () => {
        // Keyed by (address, timestamp), not by signature bytes: every encoding of one signature is one use.
        // Kept a whole window past its own: an instance whose clock is behind by up to a window still accepts the timestamp, and must still find it.
        const keptUntil = new Date(body.timestampInMs + 2 * WALLET_LOGIN_WINDOW_MS);
        const fresh = await this.singleUse.claim('wallet-login', `${signer}:${body.timestampInMs}`, keptUntil, new Date(now));
        if (!fresh) throw new WalletLoginError('SIGNATURE_REPLAYED', 'this signed timestamp has already been used');
      },
    };
  }
}
