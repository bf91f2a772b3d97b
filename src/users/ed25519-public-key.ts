import { ed25519 } from '@noble/curves/ed25519.js';
import { decodeStrictHex } from '../common/strict-hex.js';

export type PublicKeyProblem = 'FORMAT' | 'NOT_ON_CURVE' | 'SMALL_ORDER';

/**
 * Checks a raw Ed25519 public key given as 64 hex digits. Small-order keys are refused because a
 * signature by such a key can verify for many messages without knowledge of any private key.
 */
export function checkEd25519PublicKey(hex: string): PublicKeyProblem | undefined {
  const bytes = decodeStrictHex(hex, 32);
  if (!bytes) return 'FORMAT';
  let point;
  try {
    point = ed25519.Point.fromBytes(bytes);
  } catch {
    return 'NOT_ON_CURVE';
  }
  return point.isSmallOrder() ? 'SMALL_ORDER' : undefined;
}

export function describePublicKeyProblem(problem: PublicKeyProblem): string {
  switch (problem) {
    case 'FORMAT':
      return 'public key must be exactly 64 hex digits';
    case 'NOT_ON_CURVE':
      return 'public key is not a valid Ed25519 point';
    case 'SMALL_ORDER':
      return 'public key is of small order';
  }
}
