import { keccak_256 } from '@noble/hashes/sha3.js';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** EIP-55: the address with each letter upper-cased where the keccak-256 of the lower-case hex has a nibble of 8 or more. */
export function toChecksumAddress(address: string): string {
  const hex = address.slice(2).toLowerCase();
  const hash = Buffer.from(keccak_256(new TextEncoder().encode(hex))).toString('hex');
  return '0x' + [...hex].map((c, i) => (parseInt(hash[i]!, 16) >= 8 ? c.toUpperCase() : c)).join('');
}

/** A mixed-case address carries a checksum in its letters' case (EIP-55). */
function hasValidChecksum(address: string): boolean {
  const hex = address.slice(2);
  return hex === hex.toLowerCase() || hex === hex.toUpperCase() || address === toChecksumAddress(address);
}

/** A 0x-prefixed 20-byte address, lower-cased, or undefined when malformed or the EIP-55 checksum fails. */
export function parseEthereumAddress(value: string): string | undefined {
  if (!ADDRESS.test(value) || !hasValidChecksum(value)) return undefined;
  return value.toLowerCase();
}
