import 'reflect-metadata';
import { validateBody } from '../../../http/validation.js';
import { FibLoginDto, wellFormedFibLogin } from './fib-login.dto.js';

const SIGNATURE = 'ab'.repeat(64);
const KEY = 'cd'.repeat(32);

const accepted = async (body: unknown) => validateBody(FibLoginDto, body).then(() => true, () => false);

describe('wellFormedFibLogin (the login body checked without class-validator)', () => {
  it('takes the bodies clients send, as they are', () => {
    const body = { email: 'alice@wonderland.space', signature: SIGNATURE, authPublicKeyHex: KEY };
    expect(wellFormedFibLogin(body)).toBe(body);
    expect(wellFormedFibLogin({ email: 'a@b.c', signature: SIGNATURE, publicKey: KEY, nonce: 'n' })).toBeDefined();
  });

  it.each([
    ['no email', { signature: SIGNATURE, authPublicKeyHex: KEY }],
    ['no signature', { email: 'a@b.c', authPublicKeyHex: KEY }],
    ['a malformed email', { email: 'not an email', signature: SIGNATURE }],
    ['an email over 254 characters', { email: `${'a'.repeat(250)}@b.cd`, signature: SIGNATURE }],
    ['an extra field', { email: 'a@b.c', signature: SIGNATURE, extra: 'x' }],
    ['an inherited name', { email: 'a@b.c', signature: SIGNATURE, constructor: 'x' }],
    ['a number', { email: 'a@b.c', signature: 5 }],
    ['a null', { email: 'a@b.c', signature: SIGNATURE, nonce: null }],
    ['a nonce over 128 characters', { email: 'a@b.c', signature: SIGNATURE, nonce: 'n'.repeat(129) }],
    ['a signature over 1024 characters', { email: 'a@b.c', signature: 'a'.repeat(1025) }],
    ['an array', [{ email: 'a@b.c', signature: SIGNATURE }]],
    ['a string', 'a@b.c'],
    ['null', null],
  ])('leaves %s to the full validation', (_what, body) => {
    expect(wellFormedFibLogin(body)).toBeUndefined();
  });

  it('accepts nothing that FibLoginDto refuses', async () => {
    const values = [undefined, '', 'a@b.c', 'x', SIGNATURE, KEY, 'n'.repeat(128), 'n'.repeat(129), 'é@b.c', `${'a'.repeat(240)}@bench.sigauth`, 7, null];
    let checked = 0;
    for (const email of values)
      for (const signature of values)
        for (const nonce of [undefined, 'n', null, 'n'.repeat(129)]) {
          const body = Object.fromEntries(Object.entries({ email, signature, nonce }).filter(([, v]) => v !== undefined));
          if (wellFormedFibLogin(body) !== undefined) {
            checked++;
            expect(await accepted(body)).toBe(true);
          }
        }
    expect(checked).toBeGreaterThan(10);
  });
});
