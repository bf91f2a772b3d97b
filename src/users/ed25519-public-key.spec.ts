import nacl from 'tweetnacl';
import { checkEd25519PublicKey } from './ed25519-public-key.js';

// Encodings of points of order 1, 2, 4 and 8 (the torsion subgroup), as listed in Wycheproof and
// the "Taming the many EdDSAs" paper.
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
];

describe('checkEd25519PublicKey', () => {
  it('accepts generated keys', () => {
    for (let i = 0; i < 20; i++) {
      const hex = Buffer.from(nacl.sign.keyPair().publicKey).toString('hex');
      expect(checkEd25519PublicKey(hex)).toBeUndefined();
      expect(checkEd25519PublicKey(hex.toUpperCase())).toBeUndefined();
    }
  });

  it.each(SMALL_ORDER)('refuses the small-order point %s', (hex) => {
    expect(checkEd25519PublicKey(hex)).toBe('SMALL_ORDER');
  });

  it('refuses an encoding that is not a point on the curve', () => {
    // y = 2 has no matching x on edwards25519.
    expect(checkEd25519PublicKey('0200000000000000000000000000000000000000000000000000000000000000')).toBe('NOT_ON_CURVE');
  });

  it.each(['', 'ab', '0x' + '00'.repeat(31), '7fbedb314a9b0c00caef967ac5cabb982ec45da828a0c58a9aafc854f32422ag', '7fbedb314a9b0c00caef967ac5cabb982ec45da828a0c58a9aafc854f32422ac00'])(
    'refuses the malformed %p',
    (hex) => {
      expect(checkEd25519PublicKey(hex)).toBe('FORMAT');
    },
  );
});
