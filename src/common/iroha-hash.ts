import { blake2b } from '@noble/hashes/blake2.js';

/** BLAKE2b-256 of the UTF-8 bytes of a message: the digest of the published FIB formula. */
export function blake2b256(message: string): Uint8Array {
  return blake2b(new TextEncoder().encode(message), { dkLen: 32 });
}

/**
 * The Iroha hash: BLAKE2b-256 with the lowest bit of the last byte set (Iroha reserves that bit
 * to mark a value as a hash). It equals the plain digest whenever that byte is already odd.
 */
export function irohaHash(message: string): Uint8Array {
  const digest = blake2b256(message);
  digest[31]! |= 1;
  return digest;
}
