import type { KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RequestError } from '../../common/domain-error.js';
import { blake2b256, irohaHash } from '../../common/iroha-hash.js';
import { decodeStrictHex } from '../../common/strict-hex.js';
import { validateBody } from '../../common/validation.js';
import { checkEd25519PublicKey, describePublicKeyProblem } from '../../users/ed25519-public-key.js';
import { UsersService } from '../../users/users.service.js';
import { AuthError } from '../auth.errors.js';
import type { AuthenticatedLogin } from '../authenticated-login.js';
import { FibLoginDto } from '../dto/fib-login.dto.js';
import { ed25519PublicKey, verifyEd25519 } from '../ed25519-verifier.js';

/** Parsed keys of recent logins; a key is only ever cached after it matched a stored active key. */
const KEY_CACHE_LIMIT = 10_000;

/**
 * FIB login: the client signs the Iroha hash of its email with an Ed25519 key the user holds. The
 * key in the request only selects which of the user's active keys is meant.
 */
@Injectable()
export class EmailSignatureStrategy {
  private readonly keyCache = new Map<string, KeyObject>();

  constructor(private readonly users: UsersService) {}

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

    const candidate = await this.users.findLoginCandidate(body.email);
    const key = candidate?.activeKeys.find((k) => k.publicKeyHex === keyHex.toLowerCase());
    if (!candidate || !key) {
      // Stored keys were checked when added; only a key we do not know needs the curve check.
      const problem = checkEd25519PublicKey(keyHex);
      if (problem) throw new AuthError('INVALID_PUBLIC_KEY', describePublicKeyProblem(problem));
      if (!candidate) throw new AuthError('USER_NOT_FOUND', 'User not found.');
      throw new AuthError('INVALID_SIGNATURE', 'Signature is not valid.');
    }
    if (!this.verifyEmailSignature(key.publicKeyHex, body.email, signature)) {
      throw new AuthError('INVALID_SIGNATURE', 'Signature is not valid.');
    }
    return {
      principal: { userId: candidate.id, email: candidate.email, account: candidate.account, role: candidate.role },
      credential: { kind: 'ED25519_KEY', id: key.id },
    };
  }

  /** Over the exact email sent: the Iroha hash, or the plain BLAKE2b-256 digest where the two differ. */
  private verifyEmailSignature(publicKeyHex: string, email: string, signature: Buffer): boolean {
    const key = this.parsedKey(publicKeyHex);
    if (verifyEd25519(key, irohaHash(email), signature)) return true;
    const plain = blake2b256(email);
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
