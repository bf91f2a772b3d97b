import fc from 'fast-check';
import { decodeStrictHex } from './strict-hex.js';

describe('decodeStrictHex', () => {
  it('decodes exactly the requested number of bytes, in either case', () => {
    expect(decodeStrictHex('00ff', 2)).toEqual(Buffer.from([0, 255]));
    expect(decodeStrictHex('ABcd', 2)).toEqual(Buffer.from([0xab, 0xcd]));
  });

  it.each([
    ['wrong length', '00ff00', 2],
    ['odd length', '0ff', 2],
    ['non-hex characters', '0g', 1],
    ['a 0x prefix', '0x00ff', 3],
    ['valid hex followed by junk', '00ffzz', 3],
    ['whitespace', ' 00f', 2],
    ['empty', '', 1],
  ])('refuses %s', (_why, value, bytes) => {
    expect(decodeStrictHex(value, bytes)).toBeUndefined();
  });

  it('round-trips every byte string and refuses any string with a non-hex character', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        const hex = Buffer.from(bytes).toString('hex');
        expect(decodeStrictHex(hex, bytes.length)).toEqual(Buffer.from(bytes));
      }),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 2, maxLength: 2 }), fc.nat(31), (junk, at) => {
        fc.pre(!/^[0-9a-fA-F]{2}$/.test(junk));
        const hex = '00'.repeat(16);
        const spoiled = hex.slice(0, at) + junk + hex.slice(at + 2);
        fc.pre(spoiled.length === 32);
        expect(decodeStrictHex(spoiled, 16)).toBeUndefined();
      }),
    );
  });
});
