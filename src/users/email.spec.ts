import { isSameEmail, isWellFormedEmail, normalizeEmail } from './email.js';
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

describe('isSameEmail', () => {
  it('takes two spellings of one normalized email as one', () => {
    expect(isSameEmail('Ledger@SVC.example', ' ledger@svc.example')).toBe(true);
    expect(isSameEmail('Re\u0301my@example.org', 'R\u00c9MY@example.org')).toBe(true);
  });

  it.each([
    ['ledger@svc.example', 'ledger@svc.example2'],
    ['fib', 'FIB'],
    ['', ''],
    [undefined, undefined],
    ['ledger@svc.example', 42],
  ])('keeps %p and %p apart', (a, b) => {
    expect(isSameEmail(a, b)).toBe(false);
  });
});
