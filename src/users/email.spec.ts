import { isWellFormedEmail, normalizeEmail } from './email.js';
import { UserError } from './users.errors.js';

describe('normalizeEmail', () => {
  it('trims, applies NFC and lower-cases', () => {
    expect(normalizeEmail('  Alice@Wonderland.Space ')).toBe('alice@wonderland.space');
    // "é" as e + combining acute accent becomes the single precomposed code point.
    expect(normalizeEmail('Re\u0301my@example.org')).toBe('r\u00e9my@example.org');
  });

  it('accepts FIB account-style addresses without a dot in the domain', () => {
    expect(isWellFormedEmail('alice@wonderland')).toBe(true);
  });

  it.each(['', '   ', 'no-at-sign', '@nolocal', 'nodomain@', 'a@b@c', 'sp ace@x', 'tab\t@x', `${'a'.repeat(251)}@xyz`, '\ud800@x', 'a@\udfffx'])(
    'refuses %p',
    (email) => {
      expect(isWellFormedEmail(email)).toBe(false);
      expect(() => normalizeEmail(email)).toThrow(UserError);
    },
  );
});
