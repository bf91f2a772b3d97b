import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { validateBody } from '../../http/validation.js';
import { LoginAttempts } from '../../auth/login-attempts.service.js';
import { LoginStrategy } from '../../auth/login-strategy.js';
import type { ProvenLogin } from '../../auth/proof-verifier.js';
import { WalletLogins } from './wallet-logins.js';
import { SiweLoginDto } from './dto/siwe-login.dto.js';
import { SiweNonces } from './siwe-nonces.js';
import { SiweVerifier } from './siwe-verifier.js';
import { SiweError } from './siwe.errors.js';
import { claimedField } from '../../http/request-body.js';

/** The address line of a message, for the per-identity budget, before anything is parsed. */
const ADDRESS_LINE = /\n(0x[0-9a-fA-F]{40})\n/;

/**
 * Sign-In with Ethereum (EIP-4361): a message bound to this service's domain, URI and chain, with
 * a nonce it issued, signed by a wallet an active user holds. The nonce is spent last, once
 * everything else holds: a login refused for another reason leaves it usable (a creator whose
 * Factory wallet is not deep enough yet gets 404 and can send the same message again).
 */
@Injectable()
export class SiweLoginStrategy extends LoginStrategy('siwe', 'siwe-login', 'signature') {
  constructor(
    attempts: LoginAttempts,
    private readonly siwe: SiweVerifier,
    private readonly nonces: SiweNonces,
    private readonly wallets: WalletLogins,
  ) {
    super(attempts);
  }

  override claimedIdentity(request: FastifyRequest): string | undefined {
    return ADDRESS_LINE.exec(claimedField(request.body, 'message')?.slice(0, 1024) ?? '')?.[1]?.toLowerCase();
  }

  override async verify(request: FastifyRequest): Promise<ProvenLogin> {
    const body = await validateBody(SiweLoginDto, request.body);
    const message = this.siwe.check(body.message);
    const login = await this.wallets.prove(message.address, (kind) => this.siwe.assertSigned(message, body.message, body.signature, kind));
    return {
      login,
      spend: async () => {
        if (!(await this.nonces.consume(message.nonce))) throw new SiweError('INVALID_NONCE', 'the nonce was not issued by this service, has expired or has been used');
      },
    };
  }
}
