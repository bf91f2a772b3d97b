import { blake2b256, irohaHash } from './iroha-hash.js';

describe('irohaHash', () => {
  it('is BLAKE2b-256 with the lowest bit of the last byte set', () => {
    for (const message of ['alice@wonderland.space', '', 'ünïcödé@example.org', 'x'.repeat(300)]) {
      const plain = blake2b256(message);
      const iroha = irohaHash(message);
      expect(iroha.subarray(0, 31)).toEqual(plain.subarray(0, 31));
      expect(iroha[31]).toBe(plain[31]! | 1);
    }
  });

  it('matches the BLAKE2b-256 test value of the empty string (RFC 7693 parameters)', () => {
    expect(Buffer.from(blake2b256('')).toString('hex')).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
  });
});
