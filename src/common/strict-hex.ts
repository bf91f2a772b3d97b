const HEX = /^[0-9a-fA-F]*$/;

/**
 * Decodes hex of exactly `bytes` bytes, or returns undefined. Buffer.from(hex, 'hex') silently
 * stops at the first bad character, so the whole string is checked first: no prefix, no junk.
 */
export function decodeStrictHex(value: string, bytes: number): Buffer | undefined {
  if (value.length !== bytes * 2 || !HEX.test(value)) return undefined;
  return Buffer.from(value, 'hex');
}
