import { generateKeyPairSync, sign } from 'node:crypto';
import { loadConfig } from '../config/app-config.js';
import type { SigningKeysService } from './signing-keys.service.js';
import { TokenError } from './token.errors.js';
import { TokenService } from './token.service.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keys = { signingKey: async () => ({ kid: 'k1', privateKey }), publicKey: async (kid: string) => (kid === 'k1' ? publicKey : undefined) } as unknown as SigningKeysService;
const tokens = new TokenService(keys, loadConfig({}));
const SID = '0b9d8f52-3c6e-4f0a-9d51-7e2a4c1b8f36';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
function forge(header: object, claims: object): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

describe('TokenService.verify', () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = { token_use: 'access', acc: 'a@b', sub: 'a@b', role: 'ROLE_PEER', sid: SID, iss: 'sigauth', aud: 'sigauth', iat: now, exp: now + 60, jti: SID };
  const header = { typ: 'JWT', alg: 'EdDSA', kid: 'k1' };

  it('accepts what it issues, with every claim', async () => {
    const issued = await tokens.issueAccess({ acc: 'a@b', sub: 'a@b', role: 'ROLE_PEER', sid: SID });
    await expect(tokens.verifyAccess(issued.token)).resolves.toEqual(expect.objectContaining({ sub: 'a@b', sid: SID, jti: issued.jti, exp: issued.exp }));
    await expect(tokens.verifyAccess(forge(header, claims))).resolves.toEqual(claims);
  });

  it.each([
    ['alg none', { ...header, alg: 'none' }, claims, 'token is malformed or its signature does not verify'],
    ['alg HS256', { ...header, alg: 'HS256' }, claims, 'token is malformed or its signature does not verify'],
    ['another typ', { ...header, typ: 'at+jwt' }, claims, 'token is malformed or its signature does not verify'],
    ['a crit header', { ...header, crit: ['exp'] }, claims, 'token is malformed or its signature does not verify'],
    ['an unknown kid', { ...header, kid: 'k2' }, claims, 'token was not signed by a key of this service'],
    ['a path as kid', { ...header, kid: '../k1' }, claims, 'token has no valid key id'],
    ['another issuer', header, { ...claims, iss: 'evil' }, 'token was not issued for this service'],
    ['another audience', header, { ...claims, aud: ['sigauth', 'x'] }, 'token was not issued for this service'],
    ['an expired token', header, { ...claims, exp: now - 1 }, 'token has expired'],
    ['a string exp', header, { ...claims, exp: String(now + 60) }, 'token is malformed'],
    ['a refresh token', header, { ...claims, token_use: 'refresh', acjti: SID }, 'expected an access token'],
    ['a jti that is not a uuid', header, { ...claims, jti: 'x' }, 'token is malformed'],
  ])('refuses %s', async (_why, h, c, message) => {
    await expect(tokens.verifyAccess(forge(h, c))).rejects.toEqual(new TokenError('INVALID_TOKEN', message));
  });

  it('waives only the expiry when asked', async () => {
    await expect(tokens.verifyAccess(forge(header, { ...claims, exp: now - 3600 }), { ignoreExpiry: true })).resolves.toEqual(expect.objectContaining({ jti: SID }));
    await expect(tokens.verifyAccess(forge(header, { ...claims, exp: now - 3600, aud: 'x' }), { ignoreExpiry: true })).rejects.toBeInstanceOf(TokenError);
  });

  it('refuses a tampered payload, a padded or re-spelled signature, and a signature of the wrong length', async () => {
    const good = forge(header, claims);
    const [h, p, s] = good.split('.') as [string, string, string];
    const tampered = `${h}.${b64({ ...claims, role: 'ROLE_ADMIN' })}.${s}`;
    const last = s.at(-1)!;
    const respelled = `${h}.${p}.${s.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`;
    for (const token of [tampered, `${good}==`, respelled, `${h}.${p}.${s.slice(0, 40)}`, `${h}.${p}`]) {
      await expect(tokens.verifyAccess(token)).rejects.toBeInstanceOf(TokenError);
    }
  });
});
