import type { KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RequestError } from '../../common/domain-error.js';
import { blake2b256, irohaHash } from '../../common/iroha-hash.js';
import { loginMessage } from '../../common/login-message.js';
import { decodeStrictHex } from '../../common/strict-hex.js';
import { validateBody } from '../../common/validation.js';
import { checkEd25519PublicKey, describePublicKeyProblem } from '../../users/ed25519-public-key.js';
import { AppConfig } from '../../config/app-config.js';
import { UsersService } from '../../users/users.service.js';
import { AuthError } from '../auth.errors.js';
import type { AuthenticatedLogin } from '../authenticated-login.js';
import { FibLoginDto } from '../dto/fib-login.dto.js';
import { ed25519PublicKey, verifyEd25519 } from '../ed25519-verifier.js';
import { LoginChallengeService } from '../login-challenge.service.js';

/** Parsed keys of recent logins; a key is only ever cached after it matched a stored active key. */
const KEY_CACHE_LIMIT = 10_000;

/**
 * FIB login: the client signs the Iroha hash of its email with an Ed25519 key the user holds. The
 * key in the request only selects which of the user's active keys is meant.
 */
@Injectable()
export class EmailSignatureStrategy {
  private readonly keyCache = new Map<string, KeyObject>();

  /** A key no user holds: an unknown email costs the same verification as a known one when existence is hidden. */
  private readonly decoyKey = ed25519PublicKey(Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex'));

  constructor(
    private readonly users: UsersService,
    private readonly challenges: LoginChallengeService,
    private readonly config: AppConfig,
  ) {}

  async validate(request: FastifyRequest): Promise<AuthenticatedLogin> {
    const body = await validateBody(FibLoginDto, request.body);
    if (body.authPublicKeyHex !== undefined && body.publicKey !== undefined && body.authPublicKeyHex !== body.publicKey) {
      throw new RequestError('ARGUMENT_NOT_VALID', 'authPublicKeyHex and publicKey are the same field; send one');
    }
    const keyHex = body.authPublicKeyHex ?? body.publicKey;
    if (keyHex === undefined) throw new RequestError('ARGUMENT_NOT_VALID', 'authPublicKeyHex should not be empty');
    const signature = decodeStrictHex(body.signature, 64);
    if (!signature) throw new AuthError('SIGNATURE_DECODE', 'signature must be exactly 128 hex digits');
    if (!decodeStrictHex(keyHex, 32)) throw new AuthError('INVALID_PUBLIC_KEY', describePublicKeyProblem('FORMAT'));
    if (body.nonce !== undefined && this.config.LOGIN_CHALLENGE === 'off') {
      throw new RequestError('ARGUMENT_NOT_VALID', 'nonce is not accepted: challenge login is turned off');
    }
    if (body.nonce === undefined && this.config.LOGIN_CHALLENGE === 'required') {
      throw new AuthError('CHALLENGE_REQUIRED', 'A challenge is required: sign <nonce>:<email> with a nonce from POST .../challenge.');
    }

    const candidate = await this.users.findLoginCandidate(body.email);
    const key = candidate?.activeKeys.find((k) => k.publicKeyHex === keyHex.toLowerCase());
    if (!candidate || !key) {
      // Stored keys were checked when added; only a key we do not know needs the curve check.
      const problem = checkEd25519PublicKey(keyHex);
      if (problem) throw new AuthError('INVALID_PUBLIC_KEY', describePublicKeyProblem(problem));
      if (!candidate && !this.config.HIDE_USER_EXISTENCE) throw new AuthError('USER_NOT_FOUND', 'User not found.');
      // Hidden existence: the same verification work as for a known user, then the same answer.
      if (!candidate) this.verifyMessage(this.decoyKey, loginMessage(body.email, body.nonce), signature);
      throw new AuthError('INVALID_SIGNATURE', 'Signature is not valid.');
    }
    if (!this.verifyMessage(this.parsedKey(key.publicKeyHex), loginMessage(body.email, body.nonce), signature)) {
      throw new AuthError('INVALID_SIGNATURE', 'Signature is not valid.');
    }
    // Consumed only after the signature verifies, so nobody can burn another client's nonce.
    if (body.nonce !== undefined && !(await this.challenges.consume(body.nonce, body.email))) {
      throw new AuthError('INVALID_CHALLENGE', 'The challenge is unknown, expired or already used.');
    }
    return {
      principal: { userId: candidate.id, email: candidate.email, account: candidate.account, role: candidate.role },
      credential: { kind: 'ED25519_KEY', id: key.id },
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
