import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { Clock } from '../common/clock.js';
import { loadConfig } from '../config/app-config.js';
import type { SigningKeysService } from './signing-keys.service.js';
import { TokenError } from './token.errors.js';
import { TokenService } from './token.service.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const KEY = { kid: 'k1', privateKey };
const keys = { signingKey: async () => KEY, publicKey: async (kid: string) => (kid === 'k1' ? publicKey : undefined) } as unknown as SigningKeysService;
const tokens = new TokenService(keys, loadConfig({ JWT_ISSUER: 'https://auth.example', JWT_AUDIENCE: 'api' }), new Clock());
const SID = '0b9d8f52-3c6e-4f0a-9d51-7e2a4c1b8f36';
const JTI = '6f0c3b1e-2a4d-4e8f-9b7a-1c3e5d7f9a2b';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
function forge(header: object, claims: object): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

describe('TokenService', () => {
  const now = Math.floor(Date.now() / 1000);
  const access = { token_use: 'access', acc: 'a@b', sub: 'a@b', role: 'ROLE_PEER', client_id: 'fib', sid: SID, iss: 'https://auth.example', aud: 'api', iat: now, exp: now + 60, jti: SID };
  const refresh = { token_use: 'refresh', sub: 'a@b', acjti: SID, client_id: 'fib', sid: SID, iss: 'https://auth.example', aud: 'https://auth.example', iat: now, exp: now + 60, jti: JTI };
  const atHeader = { typ: 'at+jwt', alg: 'EdDSA', kid: 'k1' };
  const rtHeader = { typ: 'JWT', alg: 'EdDSA', kid: 'k1' };
  const fields = { acc: 'a@b', sub: 'a@b', role: 'ROLE_PEER' as const, clientId: 'fib', sid: SID, iat: now, exp: now + 60, jti: SID };

  it('accepts what it issues, with every claim, and the same fields always give the same bytes', async () => {
    const issued = tokens.signAccess(KEY, fields);
    expect(tokens.signAccess(KEY, fields).token).toBe(issued.token);
    await expect(tokens.verifyAccess(issued.token)).resolves.toEqual(access);
    await expect(tokens.verifyAccess(forge(atHeader, access))).resolves.toEqual(access);
    const r = tokens.signRefresh(KEY, { sub: 'a@b', acjti: SID, clientId: 'fib', sid: SID, iat: now, exp: now + 60, jti: JTI });
    await expect(tokens.verifyRefresh(r.token)).resolves.toEqual(refresh);
  });

  it('types access tokens at+jwt for the resource audience and refresh tokens JWT for the issuer', () => {
    const decode = (token: string, part: number) => JSON.parse(Buffer.from(token.split('.')[part]!, 'base64url').toString()) as Record<string, unknown>;
    const a = tokens.signAccess(KEY, fields).token;
    const r = tokens.signRefresh(KEY, { sub: 'a@b', acjti: SID, clientId: 'fib', sid: SID, iat: now, exp: now + 60, jti: JTI }).token;
    expect(decode(a, 0)).toEqual(atHeader);
    expect(decode(r, 0)).toEqual(rtHeader);
    expect(decode(a, 1).aud).toBe('api');
    expect(decode(r, 1).aud).toBe('https://auth.example');
  });

  it.each([
    ['alg none', { ...atHeader, alg: 'none' }, access, 'token is malformed or its signature does not verify'],
    ['alg HS256', { ...atHeader, alg: 'HS256' }, access, 'token is malformed or its signature does not verify'],
    ['typ JWT on an access token', rtHeader, access, 'token is malformed or its signature does not verify'],
    ['another typ', { ...atHeader, typ: 'jwt' }, access, 'token is malformed or its signature does not verify'],
    ['a crit header', { ...atHeader, crit: ['exp'] }, access, 'token is malformed or its signature does not verify'],
    ['an unknown kid', { ...atHeader, kid: 'k2' }, access, 'token was not signed by a key of this service'],
    ['a path as kid', { ...atHeader, kid: '../k1' }, access, 'token has no valid key id'],
    ['another issuer', atHeader, { ...access, iss: 'evil' }, 'token was not issued for this service'],
    ['another audience', atHeader, { ...access, aud: ['api', 'x'] }, 'token was not issued for this service'],
    ['the issuer as audience', atHeader, { ...access, aud: 'https://auth.example' }, 'token was not issued for this service'],
    ['an expired token', atHeader, { ...access, exp: now - 1 }, 'token has expired'],
    ['a string exp', atHeader, { ...access, exp: String(now + 60) }, 'token is malformed'],
    ['a refresh token', rtHeader, refresh, 'expected an access token'],
    ['a refresh token relabelled at+jwt', atHeader, refresh, 'expected an access token'],
    ['a jti that is not a uuid', atHeader, { ...access, jti: 'x' }, 'token is malformed'],
    ['no client_id under at+jwt', atHeader, { ...access, client_id: undefined }, 'token is malformed or its signature does not verify'],
  ])('refuses as an access token: %s', async (_why, h, c, message) => {
    await expect(tokens.verifyAccess(forge(h, c))).rejects.toEqual(new TokenError('INVALID_TOKEN', message));
  });

  it.each([
    ['an access token', atHeader, access, 'expected a refresh token'],
    ['a refresh token typed at+jwt', atHeader, refresh, 'token is malformed or its signature does not verify'],
    ['a refresh token for the resource audience', rtHeader, { ...refresh, aud: 'api' }, 'token was not issued for this service'],
    ['a refresh token without acjti', rtHeader, { ...refresh, acjti: undefined }, 'token is malformed'],
  ])('refuses as a refresh token: %s', async (_why, h, c, message) => {
    await expect(tokens.verifyRefresh(forge(h, c))).rejects.toEqual(new TokenError('INVALID_TOKEN', message));
  });

  it('still takes tokens issued before explicit typing (typ JWT, no client_id, the resource audience), each only as its own kind', async () => {
    const legacyAccess = { ...access, client_id: undefined };
    const legacyRefresh = { ...refresh, client_id: undefined, aud: 'api' };
    await expect(tokens.verifyAccess(forge(rtHeader, legacyAccess))).resolves.toEqual(expect.objectContaining({ jti: SID, client_id: '' }));
    await expect(tokens.verifyRefresh(forge(rtHeader, legacyRefresh))).resolves.toEqual(expect.objectContaining({ jti: JTI, client_id: '' }));
    await expect(tokens.verifyRefresh(forge(rtHeader, legacyAccess))).rejects.toEqual(new TokenError('INVALID_TOKEN', 'expected a refresh token'));
    await expect(tokens.verifyAccess(forge(rtHeader, legacyRefresh))).rejects.toEqual(new TokenError('INVALID_TOKEN', 'expected an access token'));
  });

  it('waives only the expiry when asked', async () => {
    await expect(tokens.verifyAccess(forge(atHeader, { ...access, exp: now - 3600 }), { ignoreExpiry: true })).resolves.toEqual(expect.objectContaining({ jti: SID }));
    await expect(tokens.verifyAccess(forge(atHeader, { ...access, exp: now - 3600, aud: 'x' }), { ignoreExpiry: true })).rejects.toBeInstanceOf(TokenError);
  });

  it('judges expiry by the injected clock', async () => {
    const clock = new Clock();
    const later = new TokenService(keys, loadConfig({ JWT_ISSUER: 'https://auth.example', JWT_AUDIENCE: 'api' }), clock);
    const token = forge(atHeader, access);
    await expect(later.verifyAccess(token)).resolves.toEqual(access);
    clock.now = () => (now + 60) * 1000;
    await expect(later.verifyAccess(token)).rejects.toEqual(new TokenError('INVALID_TOKEN', 'token has expired'));
  });

  describe('remembers verified access tokens', () => {
    const config = loadConfig({ JWT_ISSUER: 'https://auth.example', JWT_AUDIENCE: 'api' });
    /** A TokenService whose key k1 the test can replace or remove, as a reload or a revocation does. */
    function withKeyTable() {
      const table = { k1: publicKey as typeof publicKey | undefined };
      const service = new TokenService({ publicKey: async (kid: string) => (kid === 'k1' ? table.k1 : undefined) } as unknown as SigningKeysService, config, new Clock());
      return { table, service };
    }

    it('refuses a remembered token once its key is revoked', async () => {
      const { table, service } = withKeyTable();
      const token = forge(atHeader, access);
      await expect(service.verifyAccess(token)).resolves.toEqual(access);
      table.k1 = undefined;
      await expect(service.verifyAccess(token)).rejects.toEqual(new TokenError('INVALID_TOKEN', 'token was not signed by a key of this service'));
    });

    it('verifies the signature again when the key table is reloaded: a remembered token counts only under the key that verified it', async () => {
      const { table, service } = withKeyTable();
      const token = forge(atHeader, access);
      await expect(service.verifyAccess(token)).resolves.toEqual(access);
      table.k1 = createPublicKey({ key: publicKey.export({ format: 'der', type: 'spki' }), format: 'der', type: 'spki' });
      await expect(service.verifyAccess(token)).resolves.toEqual(access);
      table.k1 = generateKeyPairSync('ed25519').publicKey;
      await expect(service.verifyAccess(token)).rejects.toEqual(new TokenError('INVALID_TOKEN', 'token is malformed or its signature does not verify'));
    });

    it('gives every caller claims of its own', async () => {
      const { service } = withKeyTable();
      const token = forge(atHeader, access);
      const first = await service.verifyAccess(token);
      (first as { role: string }).role = 'ROLE_ADMIN';
      const second = await service.verifyAccess(token);
      (second as { sub: string }).sub = 'someone@else';
      await expect(service.verifyAccess(token)).resolves.toEqual(access);
    });
  });

  it('refuses a tampered payload, a padded or re-spelled signature, and a signature of the wrong length', async () => {
    const good = forge(atHeader, access);
    const [h, p, s] = good.split('.') as [string, string, string];
    const tampered = `${h}.${b64({ ...access, role: 'ROLE_ADMIN' })}.${s}`;
    const last = s.at(-1)!;
    const respelled = `${h}.${p}.${s.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`;
    for (const token of [tampered, `${good}==`, respelled, `${h}.${p}.${s.slice(0, 40)}`, `${h}.${p}`]) {
      await expect(tokens.verifyAccess(token)).rejects.toBeInstanceOf(TokenError);
    }
  });
});
