import { parseEthereumAddress } from './ethereum-address.js';

describe('parseEthereumAddress', () => {
  it('accepts all-lower, all-upper and correctly checksummed addresses (EIP-55 examples)', () => {
    for (const a of ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359', '0x52908400098527886E0F7030069857D2E4169EE7']) {
      expect(parseEthereumAddress(a)).toBe(a.toLowerCase());
      expect(parseEthereumAddress(a.toLowerCase())).toBe(a.toLowerCase());
      expect(parseEthereumAddress('0x' + a.slice(2).toUpperCase())).toBe(a.toLowerCase());
    }
  });

  it.each(['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD', '5aaeb6053f3e94c9b9a09f33669435e7ef1beaed', '0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea', '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedzz', '0X5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'])(
    'refuses %p',
    (a) => {
      expect(parseEthereumAddress(a)).toBeUndefined();
    },
  );
});
