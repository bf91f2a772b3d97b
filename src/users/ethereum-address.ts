import { keccak_256 } from '@noble/hashes/sha3.js';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** EIP-55: a mixed-case address carries a checksum in its letters' case. */
function hasValidChecksum(address: string): boolean {
  const hex = address.slice(2);
  if (hex === hex.toLowerCase() || hex === hex.toUpperCase()) return true;
  const hash = Buffer.from(keccak_256(new TextEncoder().encode(hex.toLowerCase()))).toString('hex');
  for (let i = 0; i < 40; i++) {
    const c = hex[i]!;
    if (/[a-f]/i.test(c) && (parseInt(hash[i]!, 16) >= 8) !== (c === c.toUpperCase())) return false;
  }
  return true;
}

/** A 0x-prefixed 20-byte address, lower-cased, or undefined when malformed or the EIP-55 checksum fails. */
export function parseEthereumAddress(value: string): string | undefined {
  if (!ADDRESS.test(value) || !hasValidChecksum(value)) return undefined;
  return value.toLowerCase();
}
