import { randomBytes } from 'node:crypto';
import { SigningKeyCipher } from './signing-key-cipher.js';

describe('SigningKeyCipher', () => {
  const cipher = new SigningKeyCipher(randomBytes(32));
  const secret = randomBytes(48);

  it('opens what it sealed, for the kid it sealed it under only', () => {
    const sealed = cipher.seal('k1', secret);
    expect(sealed.encrypted).toBe(true);
    expect(cipher.open('k1', sealed.value, true)).toEqual(secret);
    expect(() => cipher.open('k2', sealed.value, true)).toThrow('signing key k2 does not decrypt with SIGNING_KEY_ENCRYPTION_KEY');
  });

  it('refuses a tag cut short, which GCM would otherwise check on its first bytes only', () => {
    const [format, iv, tag, body] = cipher.seal('k1', secret).value.split('.') as [string, string, string, string];
    for (const bytes of [4, 8, 12, 15]) {
      const short = Buffer.from(tag, 'base64url').subarray(0, bytes).toString('base64url');
      expect(() => cipher.open('k1', [format, iv, short, body].join('.'), true)).toThrow(`signing key k1 has an authentication tag of ${bytes} bytes, not 16`);
    }
  });

  it('keeps keys in the clear without an encryption key, and refuses an encrypted one then', () => {
    const plain = new SigningKeyCipher(undefined);
    expect(plain.seal('k1', secret)).toEqual({ value: secret.toString('base64url'), encrypted: false });
    expect(() => plain.open('k1', cipher.seal('k1', secret).value, true)).toThrow('signing key k1 is encrypted and SIGNING_KEY_ENCRYPTION_KEY is not set');
  });
});
