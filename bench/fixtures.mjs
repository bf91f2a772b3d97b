// Client-side keys and signatures for the bench: what FIB and wallet clients would send.
import { generateKeyPairSync, sign } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import nacl from 'tweetnacl';

/** The Iroha hash a FIB client signs: BLAKE2b-256 of the email with the lowest bit of its last byte set. */
export function irohaDigest(email) {
  const digest = blake2b(Buffer.from(email, 'utf8'), { dkLen: 32 });
  digest[31] |= 1;
  return digest;
}

/**
 * An Ed25519 key pair as a tweetnacl client holds it (32-byte seed, 32-byte public key). Keys are
 * made and used through node:crypto, about 50 times faster than tweetnacl here; Ed25519 signing is
 * deterministic, so the signatures are the bytes tweetnacl makes (`assertTweetnaclAgrees` checks).
 */
export function newEd25519Key() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { seedHex: seed.toString('hex'), publicKeyHex: raw.toString('hex'), privateKey };
}

export function signEmail(key, email) {
  return sign(null, irohaDigest(email), key.privateKey).toString('hex');
}

export function assertTweetnaclAgrees(key, email) {
  const pair = nacl.sign.keyPair.fromSeed(Buffer.from(key.seedHex, 'hex'));
  if (Buffer.from(pair.publicKey).toString('hex') !== key.publicKeyHex) throw new Error('tweetnacl derives another public key');
  const expected = Buffer.from(nacl.sign.detached(irohaDigest(email), pair.secretKey)).toString('hex');
  if (expected !== signEmail(key, email)) throw new Error('tweetnacl makes another signature');
}

/** EIP-55 mixed-case checksum of a 20-byte address given as 40 lower-case hex digits. */
function checksumAddress(hex40) {
  const hash = Buffer.from(keccak_256(Buffer.from(hex40, 'ascii'))).toString('hex');
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(hash[i], 16) >= 8 ? hex40[i].toUpperCase() : hex40[i];
  return out;
}

export function newWallet() {
  const secretKey = secp256k1.utils.randomSecretKey();
  const uncompressed = secp256k1.getPublicKey(secretKey, false);
  const address = checksumAddress(Buffer.from(keccak_256(uncompressed.subarray(1)).subarray(12)).toString('hex'));
  return { secretKeyHex: Buffer.from(secretKey).toString('hex'), address };
}

/** EIP-191 personal_sign: keccak256("\x19Ethereum Signed Message:\n" + length + message), as 0x r || s || v (v = 27/28). */
export function personalSign(secretKeyHex, message) {
  const body = Buffer.from(message, 'utf8');
  const digest = keccak_256(Buffer.concat([Buffer.from(`\x19Ethereum Signed Message:\n${body.length}`, 'utf8'), body]));
  const recovered = secp256k1.sign(digest, Buffer.from(secretKeyHex, 'hex'), { prehash: false, format: 'recovered' });
  // noble's "recovered" layout is recovery || r || s; Ethereum's is r || s || (27 + recovery).
  return `0x${Buffer.from(recovered.subarray(1)).toString('hex')}${(27 + recovered[0]).toString(16)}`;
}
