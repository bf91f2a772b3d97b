import nacl from 'tweetnacl';
import { irohaHash } from '../common/iroha-hash.js';
import { decodeStrictHex } from '../common/strict-hex.js';
import { CliUsageError } from './cli-args.js';

/** A client's Ed25519 key pair (tweetnacl): the 32-byte seed is the private key, as FIB prints it. */
export function generateKeyPair(): { privateKeyHex: string; publicKeyHex: string } {
  const seed = nacl.randomBytes(32);
  const pair = nacl.sign.keyPair.fromSeed(seed);
  return { privateKeyHex: Buffer.from(seed).toString('hex'), publicKeyHex: Buffer.from(pair.publicKey).toString('hex') };
}

export function signLoginMessage(privateKeyHex: string, message: string): string {
  const seed = decodeStrictHex(privateKeyHex, 32);
  if (!seed) throw new CliUsageError('--private-key must be exactly 64 hex digits (the 32-byte seed)');
  const pair = nacl.sign.keyPair.fromSeed(seed);
  return Buffer.from(nacl.sign.detached(irohaHash(message), pair.secretKey)).toString('hex');
}
