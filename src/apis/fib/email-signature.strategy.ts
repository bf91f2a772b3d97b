import type { KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RequestError } from '../../common/domain-error.js';
import { ed25519PublicKey, verifyEd25519 } from '../../common/ed25519-verifier.js';
import { blake2b256, irohaHash } from '../../common/iroha-hash.js';
import { loginMessage } from '../../common/login-message.js';
import { decodeStrictHex } from '../../common/strict-hex.js';
import { AppConfig } from '../../config/app-config.js';
import { validateBody } from '../../http/validation.js';
import { AuthenticationError } from '../../sessions/authentication.errors.js';
import { LoginAttempts } from '../../auth/login-attempts.service.js';
import { LoginStrategy } from '../../auth/login-strategy.js';
import { LoginRules } from '../../auth/login-rules.js';
import type { ProvenLogin } from '../../auth/proof-verifier.js';
import { checkEd25519PublicKey, describePublicKeyProblem } from '../../users/ed25519-public-key.js';
import { claimedEmailKey } from '../../users/email.js';
import { UsersService } from '../../users/users.service.js';
import { FibLoginDto, wellFormedFibLogin } from './dto/fib-login.dto.js';
import { FibLoginError } from './fib-login.errors.js';
import { LoginChallengeService } from './login-challenge.service.js';
import { claimedField } from '../../http/request-body.js';

/** Parsed keys of recent logins; a key is only ever cached after it matched a stored active key. */
const KEY_CACHE_LIMIT = 10_000;
const INVALID_SIGNATURE = 'Signature is not valid.';

/**
 * FIB login: the client signs the Iroha hash of its email with an Ed25519 key the user holds. The
 * key in the request only selects which of the user's active keys is meant.
 */
@Injectable()
export class EmailSignatureStrategy extends LoginStrategy('fib', 'fib-login', 'signature') {
  private readonly keyCache = new Map<string, KeyObject>();

  /** A key no user holds: an unknown email costs the same verification as a known one when existence is hidden. */
  private readonly decoyKey = ed25519PublicKey(Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex'));

  constructor(
    attempts: LoginAttempts,
    private readonly users: UsersService,
    private readonly challenges: LoginChallengeService,
    private readonly rules: LoginRules,
    private readonly config: AppConfig,
  ) {
    super(attempts);
  }

  override claimedIdentity(request: FastifyRequest): string | undefined {
    return claimedEmailKey(claimedField(request.body, 'email'));
  }

  override async verify(request: FastifyRequest): Promise<ProvenLogin> {
    const body = wellFormedFibLogin(request.body) ?? (await validateBody(FibLoginDto, request.body));
    if (body.authPublicKeyHex !== undefined && body.publicKey !== undefined && body.authPublicKeyHex !== body.publicKey) {
      throw new RequestError('ARGUMENT_NOT_VALID', 'authPublicKeyHex and publicKey are the same field; send one');
    }
    const keyHex = body.authPublicKeyHex ?? body.publicKey;
    if (keyHex === undefined) throw new RequestError('ARGUMENT_NOT_VALID', 'authPublicKeyHex should not be empty');
    const signature = decodeStrictHex(body.signature, 64);
    if (!signature) throw new FibLoginError('SIGNATURE_DECODE', 'signature must be exactly 128 hex digits');
    if (!decodeStrictHex(keyHex, 32)) throw new FibLoginError('INVALID_PUBLIC_KEY', describePublicKeyProblem('FORMAT'));
    if (body.nonce !== undefined && this.config.LOGIN_CHALLENGE === 'off') {
      throw new RequestError('ARGUMENT_NOT_VALID', 'nonce is not accepted: challenge login is turned off');
    }
    if (body.nonce === undefined && this.config.LOGIN_CHALLENGE === 'required') {
      throw new FibLoginError('CHALLENGE_REQUIRED', 'A challenge is required: sign <nonce>:<email> with a nonce from POST .../challenge.');
    }

    const candidate = await this.users.findLoginCandidate(body.email);
    const key = candidate?.activeKeys.find((k) => k.publicKeyHex === keyHex.toLowerCase());
    if (!candidate || !key) {
      // Stored keys were checked when added; only a key we do not know needs the curve check.
      const problem = checkEd25519PublicKey(keyHex);
      if (problem) throw new FibLoginError('INVALID_PUBLIC_KEY', describePublicKeyProblem(problem));
      // Every path that checks no signature still does the work of one, so that neither an unknown
      // user nor a key the user does not hold answers sooner than a signature that fails.
      this.verifyMessage(this.decoyKey, loginMessage(body.email, body.nonce), signature);
      throw candidate ? new AuthenticationError('INVALID_PROOF', INVALID_SIGNATURE) : this.rules.unknownPrincipal(INVALID_SIGNATURE);
    }
    if (!this.verifyMessage(this.parsedKey(key.publicKeyHex), loginMessage(body.email, body.nonce), signature)) {
      throw new AuthenticationError('INVALID_PROOF', INVALID_SIGNATURE);
    }
    const login: ProvenLogin['login'] = {
      principal: { userId: candidate.id, email: candidate.email, account: candidate.account, role: candidate.role },
      credential: { kind: 'ED25519_KEY', id: key.id },
    };
    const { nonce, email } = body;
    if (nonce === undefined) return { login };
    // Consumed only after the signature verifies, so nobody can burn another client's nonce.
    return {
      login,
      spend: async () => {
        if (!(await this.challenges.consume(nonce, email))) throw new FibLoginError('INVALID_CHALLENGE', 'The challenge is unknown, expired or already used.');
      },
    };
  }

  /** Over the exact string sent: the Iroha hash, or the plain BLAKE2b-256 digest where the two differ. */
  private verifyMessage(key: KeyObject, message: string, signature: Buffer): boolean {
    if (verifyEd25519(key, irohaHash(message), signature)) return true;
    const plain = blake2b256(message);
    return (plain[31]! & 1) === 0 && verifyEd25519(key, plain, signature);
  }

  private parsedKey(publicKeyHex: string): KeyObject {
    let key = this.keyCache.get(publicKeyHex);
    if (!key) {
      key = ed25519PublicKey(Buffer.from(publicKeyHex, 'hex'));
      if (this.keyCache.size >= KEY_CACHE_LIMIT) this.keyCache.delete(this.keyCache.keys().next().value!);
      this.keyCache.set(publicKeyHex, key);
    }
    return key;
  }
}
