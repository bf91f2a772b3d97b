import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blake2b } from '@noble/hashes/blake2.js';
import nacl from 'tweetnacl';

/**
 * A FIB client built from tweetnacl and @noble/hashes only, independent of the service's own
 * hashing and verification code.
 */
export interface ClientKey {
  seedHex: string;
  publicKeyHex: string;
  secretKey: Uint8Array;
}

export function newClientKey(): ClientKey {
  const seed = nacl.randomBytes(32);
  return fromSeed(Buffer.from(seed).toString('hex'));
}

export function fromSeed(seedHex: string): ClientKey {
  const pair = nacl.sign.keyPair.fromSeed(Buffer.from(seedHex, 'hex'));
  return { seedHex, publicKeyHex: Buffer.from(pair.publicKey).toString('hex'), secretKey: pair.secretKey };
}

export function plainDigest(message: string): Uint8Array {
  return blake2b(Buffer.from(message, 'utf8'), { dkLen: 32 });
}

export function irohaDigest(message: string): Uint8Array {
  const d = plainDigest(message);
  d[31]! |= 1;
  return d;
}

export function signDigest(key: ClientKey, digest: Uint8Array): string {
  return Buffer.from(nacl.sign.detached(digest, key.secretKey)).toString('hex');
}

export function signEmail(key: ClientKey, email: string): string {
  return signDigest(key, irohaDigest(email));
}

const VECTORS = join(process.cwd(), '..', 'shared', 'vectors');

export interface FibVector {
  email: string;
  authPrivateKeyHex: string;
  authPublicKeyHex: string;
  signature: string;
}

/** The FIB documentation's vector, or undefined (with a warning) when ../shared/vectors is absent. */
export function fibVector(): FibVector | undefined {
  const file = join(VECTORS, 'fib-email-signature.json');
  if (!existsSync(file)) {
    console.warn(`skipping the FIB vector: ${file} is absent (it is present in CI)`);
    return undefined;
  }
  return (JSON.parse(readFileSync(file, 'utf8')) as { vectors: FibVector[] }).vectors[0];
}

export function decodeJwtPart(token: string, part: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[part]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
