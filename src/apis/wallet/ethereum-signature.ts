import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { decodeStrictHex } from '../../common/strict-hex.js';

export interface RecoverableSignature {
  /** r || s, 64 bytes, s in the lower half of the order. */
  compact: Uint8Array;
  recovery: 0 | 1;
}

/**
 * Parses a 0x-prefixed Ethereum signature in any of its equivalent forms: 65 bytes with v = 27/28
 * or v = 0/1, or 64 bytes as EIP-2098 (the top bit of s carries y-parity). Returns 'MALFORMED'
 * for a wrong length or bad hex, 'INVALID' for a value that cannot be a signature, including
 * high-s, which EIP-2 forbids because it makes a second valid signature from any first one.
 */
export function parseEthereumSignature(hex: string): RecoverableSignature | 'MALFORMED' | 'INVALID' {
  if (!hex.startsWith('0x')) return 'MALFORMED';
  const body = hex.slice(2);
  const bytes = decodeStrictHex(body, 65) ?? decodeStrictHex(body, 64);
  if (!bytes) return 'MALFORMED';
  let recovery: number;
  const compact = Uint8Array.from(bytes.subarray(0, 64));
  if (bytes.length === 65) {
    const v = bytes[64]!;
    recovery = v >= 27 ? v - 27 : v;
    if (recovery !== 0 && recovery !== 1) return 'INVALID';
  } else {
    recovery = compact[32]! >> 7;
    compact[32]! &= 0x7f;
  }
  let signature;
  try {
    signature = secp256k1.Signature.fromBytes(compact, 'compact');
  } catch {
    return 'INVALID';
  }
  if (signature.hasHighS()) return 'INVALID';
  return { compact, recovery: recovery as 0 | 1 };
}

/** keccak256("\x19Ethereum Signed Message:\n" + length + message): EIP-191 personal_sign. */
export function personalMessageHash(message: string): Uint8Array {
  const body = new TextEncoder().encode(message);
  const prefix = new TextEncoder().encode(`\x19Ethereum Signed Message:\n${body.length}`);
  const joined = new Uint8Array(prefix.length + body.length);
  joined.set(prefix);
  joined.set(body, prefix.length);
  return keccak_256(joined);
}

/** The lower-case 0x address that made `signature` over `message`, or undefined when none can. */
export function recoverPersonalSignAddress(message: string, signature: RecoverableSignature): string | undefined {
  try {
    const point = secp256k1.Signature.fromBytes(signature.compact, 'compact')
      .addRecoveryBit(signature.recovery)
      .recoverPublicKey(personalMessageHash(message));
    const uncompressed = point.toBytes(false);
    return '0x' + Buffer.from(keccak_256(uncompressed.subarray(1)).subarray(12)).toString('hex');
  } catch {
    return undefined;
  }
}
