import { createLocalJWKSet, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { SigningKeysService } from '../../src/tokens/signing-keys.service.js';
import { UsersService } from '../../src/users/users.service.js';
import { decodeJwtPart, fibVector, irohaDigest, newClientKey, plainDigest, signDigest, signEmail, type ClientKey } from '../support/fib-client.js';
import { envelope } from '../support/envelope.js';
import { withDatabaseGone } from '../support/outage.js';
import { onPostgres } from '../support/postgres.js';
import { controlClock, type TestClock } from '../support/test-clock.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from '../support/test-app.js';

const BASE = '/auth/api/v1/authentication-management';
const GRACE_SECONDS = 2;

/** The FIB session API: every row of its status table, and its refresh and logout. */
describe('FIB session API', () => {
  let storage: TestStorage;
  let service: TestApp;
  let alice: ClientKey;
  let bob: ClientKey;
  let clock: TestClock;

  const login = (body: unknown) => service.http().post(`${BASE}/session`).send(body as object);
  const refresh = (token: string) => service.http().patch(`${BASE}/session`).set('Authorization', token);
  const loginAs = async (email: string, key: ClientKey) => {
    const res = await login({ email, signature: signEmail(key, email), authPublicKeyHex: key.publicKeyHex });
    expect(res.status).toBe(200);
    return res.body.data as { accessToken: string; refreshToken: string; expirationTime: number; accessExpiryAt: number; refreshExpiryAt: number };
  };

  beforeAll(async () => {
    storage = await createTestStorage('fib');
    service = await startTestApp({ ...storage.env, REFRESH_REUSE_GRACE: String(GRACE_SECONDS) });
    clock = controlClock(service.app);
    const users = service.app.get(UsersService);
    alice = newClientKey();
    bob = newClientKey();
    await users.create({ email: 'Alice@Example.org', account: 'alice@example', publicKeys: [alice.publicKeyHex] });
    await users.create({ email: 'bob@example.org', account: 'bob@example', publicKeys: [bob.publicKeyHex] });
    await users.create({ email: 'svc@example.org', account: 'svc@services', role: 'ROLE_SERVICE', publicKeys: [newClientKey().publicKeyHex] });
    const vector = fibVector();
    if (vector) await users.create({ email: vector.email, account: 'alice@wonderland', publicKeys: [vector.authPublicKeyHex] });
  });
  afterEach(() => clock.reset());
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  describe('POST /session: the status table', () => {
    it('200 OK: the FIB test vector logs in, with the whole envelope', async () => {
      const vector = fibVector();
      if (!vector) return;
      const before = Date.now();
      const res = await login({ email: vector.email, signature: vector.signature, authPublicKeyHex: vector.authPublicKeyHex });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: { code: 200, name: 'OK', message: 'User authorization has been successful.' },
        data: {
          accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
          refreshToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
          expirationTime: 300,
          accessExpiryAt: expect.any(Number),
          refreshExpiryAt: expect.any(Number),
        },
      });
      const { accessExpiryAt, refreshExpiryAt } = res.body.data;
      expect(accessExpiryAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 300_000);
      expect(accessExpiryAt).toBeLessThanOrEqual(Date.now() + 300_000);
      expect(refreshExpiryAt - accessExpiryAt).toBe((86_400 - 300) * 1000);
    });

    it('200 OK: publicKey is accepted as an alias of authPublicKeyHex', async () => {
      const res = await login({ email: 'bob@example.org', signature: signEmail(bob, 'bob@example.org'), publicKey: bob.publicKeyHex });
      expect(res.status).toBe(200);
      expect(res.body.status).toEqual({ code: 200, name: 'OK', message: 'User authorization has been successful.' });
    });

    it('200 OK: the email is matched after normalisation and the signature checked over the exact string sent', async () => {
      const sent = '  ALICE@example.ORG';
      expect((await login({ email: sent, signature: signEmail(alice, sent), authPublicKeyHex: alice.publicKeyHex })).status).toBe(200);
      const res = await login({ email: sent, signature: signEmail(alice, 'alice@example.org'), authPublicKeyHex: alice.publicKeyHex });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
    });

    it('200 OK with both digests when the BLAKE2b-256 digest ends in an even byte', async () => {
      let n = 0;
      while ((plainDigest(`even${n}@example.org`)[31]! & 1) !== 0) n++;
      const email = `even${n}@example.org`;
      const key = newClientKey();
      await service.app.get(UsersService).create({ email, account: 'even@example', publicKeys: [key.publicKeyHex] });
      expect(Buffer.from(plainDigest(email)).equals(Buffer.from(irohaDigest(email)))).toBe(false);
      for (const digest of [irohaDigest(email), plainDigest(email)]) {
        const res = await login({ email, signature: signDigest(key, digest), authPublicKeyHex: key.publicKeyHex });
        expect(res.status).toBe(200);
        expect(res.body.status.name).toBe('OK');
      }
    });

    it('401 InvalidSignature: a signature that does not verify', async () => {
      const res = await login({ email: 'bob@example.org', signature: signEmail(bob, 'other@example.org'), authPublicKeyHex: bob.publicKeyHex });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
    });

    it('401 InvalidSignature: a valid signature by a key that belongs to another user', async () => {
      const res = await login({ email: 'bob@example.org', signature: signEmail(alice, 'bob@example.org'), authPublicKeyHex: alice.publicKeyHex });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
    });

    it('401 InvalidSignature: a signature with S >= L (malleated by adding L)', async () => {
      const sig = Buffer.from(signEmail(bob, 'bob@example.org'), 'hex');
      const L = (1n << 252n) + 27742317777372353535851937790883648493n;
      let s = 0n;
      for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
      let t = s + L;
      for (let i = 0; i < 32; i++) {
        sig[32 + i] = Number(t & 0xffn);
        t >>= 8n;
      }
      const res = await login({ email: 'bob@example.org', signature: sig.toString('hex'), authPublicKeyHex: bob.publicKeyHex });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
    });

    it('404 UserNotFound: well-formed, no active user with that email', async () => {
      const key = newClientKey();
      const res = await login({ email: 'nobody@example.org', signature: signEmail(key, 'nobody@example.org'), authPublicKeyHex: key.publicKeyHex });
      expect(res.status).toBe(404);
      expect(res.body).toEqual(envelope(404, 'UserNotFound', 'User not found.'));
    });

    it('404 UserNotFound: a disabled user', async () => {
      const key = newClientKey();
      const users = service.app.get(UsersService);
      await users.create({ email: 'gone@example.org', account: 'gone@example', publicKeys: [key.publicKeyHex] });
      await users.setStatus('gone@example.org', 'DISABLED');
      const res = await login({ email: 'gone@example.org', signature: signEmail(key, 'gone@example.org'), authPublicKeyHex: key.publicKeyHex });
      expect(res.status).toBe(404);
      expect(res.body).toEqual(envelope(404, 'UserNotFound', 'User not found.'));
    });

    const good = () => ({ email: 'bob@example.org', signature: signEmail(bob, 'bob@example.org'), authPublicKeyHex: bob.publicKeyHex });

    it.each([
      ['a missing email', () => ({ ...good(), email: undefined })],
      ['a missing signature', () => ({ ...good(), signature: undefined })],
      ['a missing key', () => ({ ...good(), authPublicKeyHex: undefined })],
      ['an extra field', () => ({ ...good(), admin: true })],
      ['a mistyped email', () => ({ ...good(), email: 42 })],
      ['a mistyped signature', () => ({ ...good(), signature: ['ab'] })],
      ['a mistyped key', () => ({ ...good(), authPublicKeyHex: { hex: 'ab' } })],
      ['an empty email', () => ({ ...good(), email: '' })],
      ['an over-long email', () => ({ ...good(), email: `${'a'.repeat(250)}@example.org` })],
      ['a malformed email', () => ({ ...good(), email: 'not an email' })],
      ['both key fields, differing', () => ({ ...good(), publicKey: alice.publicKeyHex })],
    ])('422 ArgumentNotValid: %s', async (_why, body) => {
      const res = await login(body());
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });

    it.each([
      ['a JSON array', '[1,2]'],
      ['a JSON string', '"hello"'],
      ['JSON null', 'null'],
      ['invalid JSON', '{"email":'],
      ['an empty body', ''],
    ])('422 ArgumentNotValid: a body that is %s', async (_why, raw) => {
      const res = await service.http().post(`${BASE}/session`).set('Content-Type', 'application/json').send(raw);
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });

    it('422 ArgumentNotValid: a body that is not JSON at all', async () => {
      const res = await service.http().post(`${BASE}/session`).set('Content-Type', 'text/plain').send('email=a');
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });

    const sig = () => signEmail(bob, 'bob@example.org');
    it.each([
      ['too short', () => sig().slice(0, 126)],
      ['too long', () => sig() + 'ab'],
      ['of odd length', () => sig().slice(0, 127)],
      ['with non-hex characters', () => 'zz' + sig().slice(2)],
      ['with a 0x prefix', () => '0x' + sig()],
      ['valid hex followed by junk', () => sig() + 'zz'],
      ['empty', () => ''],
    ])('422 SignatureDecodeError: a signature %s', async (_why, signature) => {
      const res = await login({ ...good(), signature: signature() });
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'SignatureDecodeError', 'signature must be exactly 128 hex digits'));
    });

    it.each([
      ['too short', () => bob.publicKeyHex.slice(0, 62), 'public key must be exactly 64 hex digits'],
      ['of odd length', () => bob.publicKeyHex.slice(0, 63), 'public key must be exactly 64 hex digits'],
      ['with non-hex characters', () => 'zz' + bob.publicKeyHex.slice(2), 'public key must be exactly 64 hex digits'],
      ['with a 0x prefix', () => '0x' + bob.publicKeyHex, 'public key must be exactly 64 hex digits'],
      ['valid hex followed by junk', () => bob.publicKeyHex + 'zz', 'public key must be exactly 64 hex digits'],
      ['of small order', () => '0100000000000000000000000000000000000000000000000000000000000000', 'public key is of small order'],
      ['of small order (order 8)', () => 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'public key is of small order'],
      ['not on the curve', () => '0200000000000000000000000000000000000000000000000000000000000000', 'public key is not a valid Ed25519 point'],
    ])('422 InvalidPublicKey: a key %s', async (_why, key, message) => {
      const res = await login({ ...good(), authPublicKeyHex: key() });
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'InvalidPublicKey', message));
    });

    it('422 InvalidPublicKey: a small-order key for an unknown user is refused before the lookup', async () => {
      const res = await login({ email: 'nobody@example.org', signature: sig(), authPublicKeyHex: '0000000000000000000000000000000000000000000000000000000000000000' });
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'InvalidPublicKey', 'public key is of small order'));
    });

    it('413 PayloadTooLarge: a body over 1 MB, in the envelope', async () => {
      const res = await login({ ...good(), padding: 'x'.repeat(1_100_000) });
      expect(res.status).toBe(413);
      expect(res.body).toEqual(envelope(413, 'PayloadTooLarge'));
    });

    it('a POST login answers 200, never 201', async () => {
      expect((await login(good())).status).toBe(200);
    });
  });

  describe('tokens', () => {
    it('the access token verifies with a verifier built only from the JWKS, with every claim', async () => {
      const jwks = await service.http().get('/.well-known/jwks.json');
      expect(jwks.status).toBe(200);
      expect(jwks.headers['cache-control']).toMatch(/max-age=\d+/);
      for (const key of jwks.body.keys) expect(key).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: expect.any(String), use: 'sig', alg: 'EdDSA' });
      const verifier = createLocalJWKSet(jwks.body as JSONWebKeySet);
      const { accessToken, refreshToken } = await loginAs('bob@example.org', bob);
      const { payload, protectedHeader } = await jwtVerify(accessToken, verifier, { algorithms: ['EdDSA'], typ: 'at+jwt', issuer: 'sigauth', audience: 'sigauth' });
      expect(protectedHeader).toEqual({ typ: 'at+jwt', alg: 'EdDSA', kid: expect.any(String) });
      expect(payload).toEqual({
        token_use: 'access',
        acc: 'bob@example',
        sub: 'bob@example.org',
        role: 'ROLE_PEER',
        client_id: 'fib',
        sid: expect.any(String),
        iss: 'sigauth',
        aud: 'sigauth',
        iat: expect.any(Number),
        exp: expect.any(Number),
        jti: expect.any(String),
      });
      expect(payload.exp! - payload.iat!).toBe(300);
      const refreshed = await jwtVerify(refreshToken, verifier, { algorithms: ['EdDSA'], typ: 'JWT', issuer: 'sigauth', audience: 'sigauth' });
      expect(refreshed.protectedHeader).toEqual({ typ: 'JWT', alg: 'EdDSA', kid: expect.any(String) });
      const refreshClaims = refreshed.payload;
      expect(refreshClaims.client_id).toBe('fib');
      expect(refreshClaims.acjti).toBe(payload.jti);
      expect(refreshClaims.sub).toBe('bob@example.org');
      expect(refreshClaims.exp! - refreshClaims.iat!).toBe(86_400);
      expect(refreshClaims.sid).toBe(payload.sid);
    });
  });

  describe('PATCH /session: refresh', () => {
    it('200 with a new pair in the same envelope, Bearer or bare', async () => {
      const first = await loginAs('bob@example.org', bob);
      const res = await refresh(first.refreshToken);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: { code: 200, name: 'OK', message: 'Tokens have been refreshed.' },
        data: { accessToken: expect.any(String), refreshToken: expect.any(String), expirationTime: 300, accessExpiryAt: expect.any(Number), refreshExpiryAt: expect.any(Number) },
      });
      expect(res.body.data.refreshToken).not.toBe(first.refreshToken);
      expect(decodeJwtPart(res.body.data.refreshToken, 1).acjti).toBe(decodeJwtPart(res.body.data.accessToken, 1).jti);
      const again = await refresh(`Bearer ${res.body.data.refreshToken}`);
      expect(again.status).toBe(200);
    });

    it('422 ArgumentNotValid when the header is missing', async () => {
      const res = await service.http().patch(`${BASE}/session`);
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });

    it('401 InvalidToken: an access token where a refresh token belongs', async () => {
      const { accessToken } = await loginAs('bob@example.org', bob);
      const res = await refresh(accessToken);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken', 'expected a refresh token'));
    });

    it('401 InvalidToken: malformed tokens', async () => {
      for (const token of ['garbage', 'a.b.c', 'x'.repeat(5000), 'eyJhbGciOiJFZERTQSJ9..']) {
        const res = await refresh(token);
        expect(res.status).toBe(401);
        expect(res.body).toEqual(envelope(401, 'InvalidToken'));
      }
    });

    it('401 InvalidToken: alg none, HS256, a foreign EdDSA key, and hostile kids', async () => {
      const { refreshToken } = await loginAs('bob@example.org', bob);
      const claims = decodeJwtPart(refreshToken, 1);
      const header = decodeJwtPart(refreshToken, 0);
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const forged = [
        `${b64({ typ: 'JWT', alg: 'none', kid: header.kid })}.${b64(claims)}.`,
        await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: header.kid as string }).sign(new TextEncoder().encode('secret-secret-secret-secret-1234')),
        await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: header.kid as string }).sign((await import('node:crypto')).generateKeyPairSync('ed25519').privateKey),
        ...['../../etc/passwd', "x' OR '1'='1", 'k'.repeat(10_000)].map((kid) => `${b64({ ...header, kid })}.${refreshToken.split('.')[1]}.${refreshToken.split('.')[2]}`),
      ];
      for (const token of forged) {
        const res = await refresh(token);
        expect(res.status).toBe(401);
        expect(res.body).toEqual(envelope(401, 'InvalidToken'));
      }
      expect((await refresh(refreshToken)).status).toBe(200);
    });

    it('replaying a retired refresh token after the grace window revokes the family', async () => {
      const first = await loginAs('bob@example.org', bob);
      const second = (await refresh(first.refreshToken)).body.data;
      const third = (await refresh(second.refreshToken)).body.data;
      clock.advance(GRACE_SECONDS * 1000 + 1);
      const replay = await refresh(first.refreshToken);
      expect(replay.status).toBe(401);
      expect(replay.body).toEqual(envelope(401, 'InvalidToken', 'refresh token was already used; the session has been revoked'));
      const newest = await refresh(third.refreshToken);
      expect(newest.status).toBe(401);
      expect(newest.body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
    });

    it('a grandparent replayed inside the grace window is still a reuse', async () => {
      const first = await loginAs('bob@example.org', bob);
      const second = (await refresh(first.refreshToken)).body.data;
      const third = (await refresh(second.refreshToken)).body.data;
      const replay = await refresh(first.refreshToken);
      expect(replay.status).toBe(401);
      expect((await refresh(third.refreshToken)).status).toBe(401);
    });

    it('20 parallel refreshes of one token: no 500, one session, all given the same pair, still usable', async () => {
      const first = await loginAs('bob@example.org', bob);
      const sid = decodeJwtPart(first.refreshToken, 1).sid;
      const results = await Promise.all(Array.from({ length: 20 }, () => refresh(first.refreshToken)));
      for (const res of results) {
        expect(res.status).toBe(200);
        expect(decodeJwtPart(res.body.data.accessToken, 1).sid).toBe(sid);
        expect(res.body).toEqual(results[0]!.body);
      }
      const next = await refresh(results[19]!.body.data.refreshToken);
      expect(next.status).toBe(200);
      expect(decodeJwtPart(next.body.data.refreshToken, 1).sid).toBe(sid);
    });
  });

  describe('POST /logout and introspection', () => {
    let serviceToken: string;
    const introspect = (token: string, caller = serviceToken) =>
      service.http().post('/auth/api/v1/token/introspect').set('Authorization', `Bearer ${caller}`).send({ token });

    beforeAll(async () => {
      const key = newClientKey();
      await service.app.get(UsersService).addPublicKey('svc@example.org', key.publicKeyHex);
      serviceToken = (await loginAs('svc@example.org', key)).accessToken;
    });

    it('logout answers 200 with data {}, then refresh fails and introspection says inactive', async () => {
      const pair = await loginAs('bob@example.org', bob);
      const live = await introspect(pair.accessToken);
      expect(live.status).toBe(200);
      expect(live.body).toEqual({
        active: true,
        sub: 'bob@example.org',
        acc: 'bob@example',
        role: 'ROLE_PEER',
        exp: expect.any(Number),
        iat: expect.any(Number),
        jti: decodeJwtPart(pair.accessToken, 1).jti,
        iss: 'sigauth',
        aud: 'sigauth',
        token_use: 'access',
        client_id: 'fib',
      });
      const out = await service.http().post(`${BASE}/logout`).set('Authorization', pair.accessToken);
      expect(out.status).toBe(200);
      expect(out.body).toEqual({ status: { code: 200, name: 'OK', message: 'User has been logged out.' }, data: {} });
      const res = await refresh(pair.refreshToken);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
      expect((await introspect(pair.accessToken)).body).toEqual({ active: false });
      const again = await service.http().post(`${BASE}/logout`).set('Authorization', `Bearer ${pair.accessToken}`);
      expect(again.status).toBe(401);
      expect(again.body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
    });

    it('logout refuses a refresh token and a missing header', async () => {
      const pair = await loginAs('bob@example.org', bob);
      const res = await service.http().post(`${BASE}/logout`).set('Authorization', pair.refreshToken);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken', 'expected an access token'));
      const missing = await service.http().post(`${BASE}/logout`);
      expect(missing.status).toBe(422);
      expect(missing.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });

    it('introspection: a live refresh token is active with token_use refresh; garbage is inactive; form bodies work', async () => {
      const pair = await loginAs('bob@example.org', bob);
      const res = await introspect(pair.refreshToken);
      expect(res.body).toEqual(expect.objectContaining({ active: true, token_use: 'refresh', sub: 'bob@example.org' }));
      expect((await introspect('not-a-token')).body).toEqual({ active: false });
      const form = await service.http().post('/auth/api/v1/token/introspect').set('Authorization', `Bearer ${serviceToken}`).type('form').send({ token: pair.accessToken });
      expect(form.status).toBe(200);
      expect(form.body.active).toBe(true);
    });

    it('introspection refuses callers that are not ROLE_SERVICE or ROLE_ADMIN', async () => {
      const peer = await loginAs('bob@example.org', bob);
      const forbidden = await introspect(peer.accessToken, peer.accessToken);
      expect(forbidden.status).toBe(403);
      expect(forbidden.body).toEqual(envelope(403, 'Forbidden'));
      const anonymous = await service.http().post('/auth/api/v1/token/introspect').send({ token: peer.accessToken });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual(envelope(401, 'Unauthorized'));
      const missingToken = await service.http().post('/auth/api/v1/token/introspect').set('Authorization', `Bearer ${serviceToken}`).send({});
      expect(missingToken.status).toBe(422);
      expect(missingToken.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });
  });

  describe('signing keys', () => {
    it('after rotation and a restart, old tokens verify and refresh, new tokens carry the new kid', async () => {
      const old = await loginAs('bob@example.org', bob);
      const oldKid = decodeJwtPart(old.accessToken, 0).kid;
      const { kid: newKid } = await service.app.get(SigningKeysService).rotate();
      expect(newKid).not.toBe(oldKid);
      await service.close();
      service = await startTestApp({ ...storage.env, REFRESH_REUSE_GRACE: String(GRACE_SECONDS) });

      const jwks = (await service.http().get('/.well-known/jwks.json')).body as JSONWebKeySet;
      expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
      await jwtVerify(old.accessToken, createLocalJWKSet(jwks), { algorithms: ['EdDSA'] });
      const refreshed = await refresh(old.refreshToken);
      expect(refreshed.status).toBe(200);
      expect(decodeJwtPart(refreshed.body.data.accessToken, 0).kid).toBe(newKid);
      expect(decodeJwtPart((await loginAs('bob@example.org', bob)).accessToken, 0).kid).toBe(newKid);
      const out = await service.http().post(`${BASE}/logout`).set('Authorization', old.accessToken);
      expect(out.status).toBe(200);
    });
  });
});

describe('FIB session API: 429 and 500', () => {
  onPostgres('429 TooManyRequests with Retry-After, on each of its credential routes, once the address has spent its budget', async () => {
    const storage = await createTestStorage('fib_429');
    const limited = await startTestApp({ ...storage.env, RATE_LIMIT_PER_IP: '1' });
    try {
      const key = newClientKey();
      await limited.app.get(UsersService).create({ email: 'dora@example.org', account: 'dora@example', publicKeys: [key.publicKeyHex] });
      const body = { email: 'dora@example.org', signature: signEmail(key, 'dora@example.org'), authPublicKeyHex: key.publicKeyHex };
      const first = await limited.http().post(`${BASE}/session`).send(body);
      expect(first.status).toBe(200);
      const requests = [
        () => limited.http().post(`${BASE}/session`).send(body),
        () => limited.http().patch(`${BASE}/session`).set('Authorization', first.body.data.refreshToken),
        () => limited.http().post(`${BASE}/challenge`).send({ email: 'dora@example.org' }),
      ];
      for (const [i, send] of requests.entries()) {
        // The refresh and challenge routes have budgets of their own: the first request on each passes.
        if (i > 0) expect((await send()).status).toBe(200);
        const res = await send();
        expect(res.status).toBe(429);
        expect(res.body).toEqual(envelope(429, 'TooManyRequests', expect.stringMatching(/^Too many requests; retry after \d+ s\.$/)));
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    } finally {
      await limited.close();
      await storage.cleanup();
    }
  });

  onPostgres('500 InternalError when the database is unreachable: only the request id is told', async () => {
    const key = newClientKey();
    await withDatabaseGone(
      'fib_500',
      (service) => service.app.get(UsersService).create({ email: 'carol@example.org', account: 'carol@example', publicKeys: [key.publicKeyHex] }).then(() => undefined),
      async (service) => {
        const res = await service
          .http()
          .post(`${BASE}/session`)
          .set('X-Request-Id', 'req-500-fib')
          .send({ email: 'carol@example.org', signature: signEmail(key, 'carol@example.org'), authPublicKeyHex: key.publicKeyHex });
        expect(res.status).toBe(500);
        expect(res.body).toEqual({ status: { code: 500, name: 'InternalError', message: 'Internal error (request id req-500-fib)' }, data: null });
      },
    );
  });
});
