import pg from 'pg';
import { UsersService } from '../src/users/users.service.js';
import { testBackend } from './support/database.js';
import { decodeJwtPart, irohaDigest, newClientKey, signDigest, signEmail, type ClientKey } from './support/fib-client.js';
import { startTestInstance, type TestInstance } from './support/process-service.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

const BASE = '/auth/api/v1/authentication-management';

const envelope = (code: number, name: string, message: string | jest.AsymmetricMatcher = expect.any(String)) => ({
  status: { code, name, message },
  data: null,
});

// A second instance on one PGlite folder is not possible (PGlite serves one process): the cases
// that start instances with other settings run on PostgreSQL only, each instance a process of its own.
const withInstances = testBackend() === 'postgresql' ? it : it.skip;

describe('account security', () => {
  let storage: TestStorage;
  let service: TestApp;
  let alice: ClientKey;
  let admin: ClientKey;
  let adminToken: string;
  const extra: TestInstance[] = [];

  const start = async (env: Record<string, string> = {}) => {
    const app = await startTestInstance({ ...storage.env, ...env });
    extra.push(app);
    return app;
  };
  const loginBody = (email: string, key: ClientKey, nonce?: string) => ({
    email,
    signature: signDigest(key, irohaDigest(nonce === undefined ? email : `${nonce}:${email}`)),
    authPublicKeyHex: key.publicKeyHex,
    ...(nonce === undefined ? {} : { nonce }),
  });
  const login = (app: Pick<TestApp, 'http'>, body: object) => app.http().post(`${BASE}/session`).send(body);
  const sql = async <T extends object>(query: string, params: unknown[] = []): Promise<T[]> => {
    const client = new pg.Client({ connectionString: storage.env.DATABASE_URL });
    await client.connect();
    try {
      return (await client.query(query, params)).rows as T[];
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    storage = await createTestStorage('security');
    service = await startTestApp(storage.env);
    const users = service.app.get(UsersService);
    alice = newClientKey();
    admin = newClientKey();
    await users.create({ email: 'alice@example.org', account: 'alice@example', publicKeys: [alice.publicKeyHex] });
    await users.create({ email: 'admin@example.org', account: 'admin@example', role: 'ROLE_ADMIN', publicKeys: [admin.publicKeyHex] });
    adminToken = (await login(service, loginBody('admin@example.org', admin))).body.data.accessToken;
  });
  afterAll(async () => {
    for (const app of extra) await app.close().catch(() => undefined);
    await service?.close();
    await storage?.cleanup();
  });

  describe('challenge login', () => {
    const challenge = (app: Pick<TestApp, 'http'>, email: string) => app.http().post(`${BASE}/challenge`).send({ email });

    it('answers a nonce of at least 128 bits, the same way whether or not the email exists', async () => {
      for (const email of ['alice@example.org', 'nobody@example.org']) {
        const res = await challenge(service, email);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ status: { code: 200, name: 'OK', message: 'Challenge issued.' }, data: { nonce: expect.stringMatching(/^[\w-]{43}$/), expiresAt: expect.any(Number) } });
        expect(Buffer.from(res.body.data.nonce, 'base64url').length).toBeGreaterThanOrEqual(16);
        expect(res.body.data.expiresAt - Date.now()).toBeGreaterThan(55_000);
        expect(res.body.data.expiresAt - Date.now()).toBeLessThanOrEqual(60_000);
      }
      const res = await challenge(service, 'not an email');
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });

    it('a challenge signature logs in once; the same nonce again gets 401', async () => {
      const { nonce } = (await challenge(service, 'alice@example.org')).body.data;
      const first = await login(service, loginBody('alice@example.org', alice, nonce));
      expect(first.status).toBe(200);
      const again = await login(service, loginBody('alice@example.org', alice, nonce));
      expect(again.status).toBe(401);
      expect(again.body).toEqual(envelope(401, 'InvalidChallenge', 'The challenge is unknown, expired or already used.'));
    });

    it('a nonce signed without its prefix, or issued for another email, does not log in', async () => {
      const { nonce } = (await challenge(service, 'alice@example.org')).body.data;
      const unsigned = await login(service, { ...loginBody('alice@example.org', alice), nonce });
      expect(unsigned.status).toBe(401);
      expect(unsigned.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
      const other = (await challenge(service, 'nobody@example.org')).body.data.nonce;
      const res = await login(service, loginBody('alice@example.org', alice, other));
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidChallenge', 'The challenge is unknown, expired or already used.'));
    });

    (testBackend() === 'postgresql' ? it : it.skip)('an expired nonce gets 401', async () => {
      const { nonce } = (await challenge(service, 'alice@example.org')).body.data;
      // Sixty seconds, fast-forwarded: the row's expiry is moved into the past.
      await sql(`UPDATE single_use_records SET expires_at = now() - interval '1 second' WHERE kind = 'fib-challenge' AND key = $1`, [nonce]);
      const res = await login(service, loginBody('alice@example.org', alice, nonce));
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidChallenge', 'The challenge is unknown, expired or already used.'));
    });

    withInstances('with LOGIN_CHALLENGE=required a static login gets 401; with off, the challenge route is gone', async () => {
      const required = await start({ LOGIN_CHALLENGE: 'required' });
      const res = await login(required, loginBody('alice@example.org', alice));
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'ChallengeRequired'));
      const { nonce } = (await challenge(required, 'alice@example.org')).body.data;
      expect((await login(required, loginBody('alice@example.org', alice, nonce))).status).toBe(200);

      const off = await start({ LOGIN_CHALLENGE: 'off' });
      const gone = await challenge(off, 'alice@example.org');
      expect(gone.status).toBe(404);
      expect(gone.body).toEqual(envelope(404, 'NotFound', 'challenge login is turned off'));
      const withNonce = await login(off, loginBody('alice@example.org', alice, 'abc'));
      expect(withNonce.status).toBe(422);
      expect(withNonce.body).toEqual(envelope(422, 'ArgumentNotValid', 'nonce is not accepted: challenge login is turned off'));
      expect((await login(off, loginBody('alice@example.org', alice))).status).toBe(200);
    });
  });

  describe('HIDE_USER_EXISTENCE', () => {
    withInstances('turns the 404 of the login APIs into their 401', async () => {
      const hidden = await start({ HIDE_USER_EXISTENCE: 'true' });
      const key = newClientKey();
      const fib = await login(hidden, loginBody('nobody@example.org', key));
      expect(fib.status).toBe(401);
      expect(fib.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
      const { Wallet } = await import('ethers');
      const wallet = Wallet.createRandom();
      const timestampInMs = Date.now();
      const eth = await hidden.http().post('/api/auth/login').send({ signer: wallet.address, timestampInMs, signature: await wallet.signMessage(String(timestampInMs)) });
      expect(eth.status).toBe(401);
      expect(eth.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
    });
  });

  describe('sessions', () => {
    const me = (token: string) => service.http().get('/auth/api/v1/me/sessions').set('Authorization', `Bearer ${token}`);

    it('users list their sessions and end one; its refresh token then fails', async () => {
      const first = (await login(service, loginBody('alice@example.org', alice))).body.data;
      const second = (await login(service, loginBody('alice@example.org', alice))).body.data;
      const list = await me(second.accessToken);
      expect(list.status).toBe(200);
      const sid = decodeJwtPart(first.accessToken, 1).sid as string;
      const listed = list.body.data.sessions.find((s: { id: string }) => s.id === sid);
      expect(listed).toEqual(
        expect.objectContaining({ id: sid, credentialKind: 'ED25519_KEY', ip: expect.any(String), createdAt: expect.any(String), lastUsedAt: expect.any(String), revokedAt: null, current: false }),
      );
      expect(list.body.data.sessions.find((s: { current: boolean }) => s.current).id).toBe(decodeJwtPart(second.accessToken, 1).sid);
      const ended = await service.http().delete(`/auth/api/v1/me/sessions/${sid}`).set('Authorization', `Bearer ${second.accessToken}`);
      expect(ended.status).toBe(200);
      expect(ended.body).toEqual({ status: { code: 200, name: 'OK', message: 'Session ended.' }, data: { ended: true } });
      const refresh = await service.http().patch(`${BASE}/session`).set('Authorization', first.refreshToken);
      expect(refresh.status).toBe(401);
      expect(refresh.body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
    });

    it("another user's session id answers 404", async () => {
      const mine = (await login(service, loginBody('alice@example.org', alice))).body.data;
      const theirs = decodeJwtPart(adminToken, 1).sid as string;
      const res = await service.http().delete(`/auth/api/v1/me/sessions/${theirs}`).set('Authorization', `Bearer ${mine.accessToken}`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual(envelope(404, 'SessionNotFound', 'no such session'));
    });

    it('disabling a user or revoking a key ends the sessions that used it', async () => {
      const users = service.app.get(UsersService);
      const k1 = newClientKey();
      const k2 = newClientKey();
      const user = await users.create({ email: 'carol@example.org', account: 'carol@example', publicKeys: [k1.publicKeyHex, k2.publicKeyHex] });
      const viaK1 = (await login(service, loginBody('carol@example.org', k1))).body.data;
      const viaK2 = (await login(service, loginBody('carol@example.org', k2))).body.data;
      const revoke = await service.http().delete(`/auth/api/v1/admin/users/${user.id}/keys/${k1.publicKeyHex}`).set('Authorization', `Bearer ${adminToken}`);
      expect(revoke.status).toBe(200);
      expect(revoke.body.data).toEqual(expect.objectContaining({ publicKeyHex: k1.publicKeyHex, revokedAt: expect.any(String), sessionsEnded: 1 }));
      expect((await service.http().patch(`${BASE}/session`).set('Authorization', viaK1.refreshToken)).status).toBe(401);
      const stillLive = await service.http().patch(`${BASE}/session`).set('Authorization', viaK2.refreshToken);
      expect(stillLive.status).toBe(200);
      const disable = await service.http().post(`/auth/api/v1/admin/users/${user.id}/disable`).set('Authorization', `Bearer ${adminToken}`);
      expect(disable.status).toBe(200);
      expect(disable.body.data).toEqual(expect.objectContaining({ status: 'DISABLED', sessionsEnded: 1 }));
      expect((await service.http().patch(`${BASE}/session`).set('Authorization', stillLive.body.data.refreshToken)).status).toBe(401);
      expect((await login(service, loginBody('carol@example.org', k2))).status).toBe(404);
    });
  });

  describe('admin API', () => {
    const asAdmin = (method: 'get' | 'post' | 'delete', path: string) => service.http()[method](`/auth/api/v1/admin${path}`).set('Authorization', `Bearer ${adminToken}`);

    it('creates, lists, reads, disables and enables users; adds and revokes keys and wallets', async () => {
      const key = newClientKey();
      const createdRes = await asAdmin('post', '/users').send({ email: 'Dave@Example.org', account: 'dave@example', publicKeys: [key.publicKeyHex] });
      expect(createdRes.status).toBe(201);
      expect(createdRes.body).toEqual({
        status: { code: 201, name: 'Created', message: 'User created.' },
        data: expect.objectContaining({ id: expect.any(String), email: 'dave@example.org', account: 'dave@example', role: 'ROLE_PEER', status: 'ACTIVE', hasPassword: false }),
      });
      const id = createdRes.body.data.id as string;
      const duplicate = await asAdmin('post', '/users').send({ email: 'dave@example.org', account: 'x' });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body).toEqual(envelope(409, 'Conflict', 'a user with email dave@example.org already exists'));
      const invalid = await asAdmin('post', '/users').send({ email: 'eve@example.org', account: 'eve', publicKeys: ['00'] });
      expect(invalid.status).toBe(422);
      expect(invalid.body).toEqual(envelope(422, 'InvalidPublicKey', 'public key must be exactly 64 hex digits'));
      const badRole = await asAdmin('post', '/users').send({ email: 'eve@example.org', account: 'eve', role: 'ROLE_ROOT' });
      expect(badRole.status).toBe(422);
      expect(badRole.body).toEqual(envelope(422, 'ArgumentNotValid'));

      const page = await asAdmin('get', '/users?limit=2');
      expect(page.status).toBe(200);
      expect(page.body.data.users).toHaveLength(2);
      expect(page.body.data.next).toBe(page.body.data.users[1].id);
      const next = await asAdmin('get', `/users?limit=2&after=${page.body.data.next}`);
      expect(next.body.data.users[0].id).not.toBe(page.body.data.users[0].id);
      expect((await asAdmin('get', '/users?limit=0')).status).toBe(422);

      expect((await asAdmin('get', `/users/${id}`)).body.data.email).toBe('dave@example.org');
      const missing = await asAdmin('get', '/users/00000000-0000-4000-8000-000000000000');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual(envelope(404, 'UserNotFound'));
      expect((await asAdmin('get', '/users/not-a-uuid')).status).toBe(404);

      const { Wallet } = await import('ethers');
      const wallet = Wallet.createRandom();
      const added = await asAdmin('post', `/users/${id}/wallets`).send({ address: wallet.address });
      expect(added.status).toBe(201);
      expect(added.body.data).toEqual(expect.objectContaining({ address: wallet.address.toLowerCase(), kind: 'EOA', revokedAt: null }));
      const contract = Wallet.createRandom().address;
      const addedContract = await asAdmin('post', `/users/${id}/wallets`).send({ address: contract, kind: 'CONTRACT' });
      expect(addedContract.status).toBe(201);
      expect(addedContract.body.data).toEqual(expect.objectContaining({ address: contract.toLowerCase(), kind: 'CONTRACT', revokedAt: null }));
      const unknownKind = await asAdmin('post', `/users/${id}/wallets`).send({ address: Wallet.createRandom().address, kind: 'MULTISIG' });
      expect(unknownKind.status).toBe(422);
      expect(unknownKind.body).toEqual(envelope(422, 'ArgumentNotValid'));
      expect((await asAdmin('delete', `/users/${id}/wallets/${wallet.address}`)).status).toBe(200);
      const revokedAgain = await asAdmin('delete', `/users/${id}/wallets/${wallet.address}`);
      expect(revokedAgain.status).toBe(404);
      expect(revokedAgain.body).toEqual(envelope(404, 'CredentialNotFound'));
      const key2 = newClientKey();
      expect((await asAdmin('post', `/users/${id}/keys`).send({ publicKeyHex: key2.publicKeyHex })).status).toBe(201);
      expect((await asAdmin('post', `/users/${id}/keys`).send({ publicKeyHex: key2.publicKeyHex })).status).toBe(409);
      expect((await asAdmin('post', `/users/${id}/disable`)).body.data.status).toBe('DISABLED');
      expect((await asAdmin('post', `/users/${id}/enable`)).body.data.status).toBe('ACTIVE');
      const sessions = await asAdmin('get', `/users/${id}/sessions`);
      expect(sessions.status).toBe(200);
      expect(sessions.body.data).toEqual({ sessions: [] });
    });

    it('admins end anyone\'s session', async () => {
      const pair = (await login(service, loginBody('alice@example.org', alice))).body.data;
      const sid = decodeJwtPart(pair.accessToken, 1).sid;
      const res = await asAdmin('delete', `/sessions/${sid}`);
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ ended: true });
      expect((await service.http().patch(`${BASE}/session`).set('Authorization', pair.refreshToken)).status).toBe(401);
      const unknown = await asAdmin('delete', '/sessions/00000000-0000-4000-8000-000000000000');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual(envelope(404, 'SessionNotFound', 'no such session'));
    });

    it('a non-admin token gets 403 from every admin route, no token 401', async () => {
      const peer = (await login(service, loginBody('alice@example.org', alice))).body.data.accessToken;
      const id = '00000000-0000-4000-8000-000000000000';
      const routes: ['get' | 'post' | 'delete', string][] = [
        ['post', '/users'],
        ['get', '/users'],
        ['get', `/users/${id}`],
        ['post', `/users/${id}/disable`],
        ['post', `/users/${id}/enable`],
        ['post', `/users/${id}/keys`],
        ['delete', `/users/${id}/keys/${alice.publicKeyHex}`],
        ['post', `/users/${id}/wallets`],
        ['delete', `/users/${id}/wallets/0x0000000000000000000000000000000000000000`],
        ['get', `/users/${id}/sessions`],
        ['delete', `/sessions/${id}`],
        ['get', '/audit'],
      ];
      for (const [method, path] of routes) {
        const forbidden = await service.http()[method](`/auth/api/v1/admin${path}`).set('Authorization', `Bearer ${peer}`).send({});
        expect([method, path, forbidden.status]).toEqual([method, path, 403]);
        expect(forbidden.body).toEqual(envelope(403, 'Forbidden', 'this route needs one of the roles ROLE_ADMIN'));
        const anonymous = await service.http()[method](`/auth/api/v1/admin${path}`).send({});
        expect([method, path, anonymous.status]).toEqual([method, path, 401]);
        expect(anonymous.body).toEqual(envelope(401, 'Unauthorized'));
      }
    });
  });

  describe('audit log', () => {
    type Event = { type: string; outcome: string; reason?: string; userId: string | null; principal: string | null; sessionId: string | null; ip: string | null; userAgent: string | null; requestId: string | null; occurredAt: string };
    const events = async (query: string): Promise<Event[]> => {
      const res = await service.http().get(`/auth/api/v1/admin/audit?${query}`).set('Authorization', `Bearer ${adminToken}`);
      expect(res.status).toBe(200);
      return res.body.data.events as Event[];
    };

    it('records a login, a failed login, a refresh, a reuse, a logout and an admin action exactly once, with their fields', async () => {
      const users = service.app.get(UsersService);
      const key = newClientKey();
      const frank = await users.create({ email: 'frank@example.org', account: 'frank@example', publicKeys: [key.publicKeyHex] });
      const ok = await service.http().post(`${BASE}/session`).set('User-Agent', 'audit-test/1').set('X-Request-Id', 'audit-login-1').send(loginBody('frank@example.org', key));
      expect(ok.status).toBe(200);
      const sid = decodeJwtPart(ok.body.data.accessToken, 1).sid;
      const bad = await service.http().post(`${BASE}/session`).set('X-Request-Id', 'audit-fail-1').send({ ...loginBody('frank@example.org', key), signature: signEmail(key, 'other') });
      expect(bad.status).toBe(401);
      const refreshed = await service.http().patch(`${BASE}/session`).set('X-Request-Id', 'audit-refresh-1').set('Authorization', ok.body.data.refreshToken);
      expect(refreshed.status).toBe(200);
      const second = await service.http().patch(`${BASE}/session`).set('Authorization', refreshed.body.data.refreshToken);
      expect(second.status).toBe(200);
      const reuse = await service.http().patch(`${BASE}/session`).set('X-Request-Id', 'audit-reuse-1').set('Authorization', ok.body.data.refreshToken);
      expect(reuse.status).toBe(401);
      const other = (await login(service, loginBody('frank@example.org', key))).body.data;
      expect((await service.http().post(`${BASE}/logout`).set('X-Request-Id', 'audit-logout-1').set('Authorization', other.accessToken)).status).toBe(200);
      expect((await service.http().post(`/auth/api/v1/admin/users/${frank.id}/disable`).set('X-Request-Id', 'audit-admin-1').set('Authorization', `Bearer ${adminToken}`)).status).toBe(200);

      const all = await events(`userId=${frank.id}&limit=100`);
      const byRequest = (id: string) => all.filter((e) => e.requestId === id);
      expect(byRequest('audit-login-1')).toEqual([
        expect.objectContaining({ type: 'login.success', outcome: 'success', userId: frank.id, principal: 'frank@example.org', sessionId: sid, ip: expect.any(String), userAgent: 'audit-test/1' }),
      ]);
      expect(byRequest('audit-refresh-1')).toEqual([expect.objectContaining({ type: 'token.refresh', outcome: 'success', userId: frank.id, sessionId: sid })]);
      expect(byRequest('audit-reuse-1')).toEqual([expect.objectContaining({ type: 'token.reuse_detected', outcome: 'failure', reason: 'REFRESH_TOKEN_REUSED', userId: frank.id, sessionId: sid })]);
      expect(byRequest('audit-logout-1')).toEqual([expect.objectContaining({ type: 'logout', outcome: 'success', userId: frank.id, sessionId: decodeJwtPart(other.accessToken, 1).sid })]);
      // Both of frank's sessions had already ended (reuse, logout): none left to end.
      expect(byRequest('audit-admin-1')).toEqual([
        expect.objectContaining({ type: 'user.disabled', outcome: 'success', userId: frank.id, principal: 'frank@example.org', details: { actor: 'admin@example.org', sessionsEnded: 0 } }),
      ]);
      const failures = (await events('type=login.failure&limit=1000')).filter((e) => e.requestId === 'audit-fail-1');
      expect(failures).toEqual([expect.objectContaining({ type: 'login.failure', outcome: 'failure', reason: 'INVALID_PROOF', userId: null, principal: 'frank@example.org', details: { endpoint: 'fib-login' } })]);

      const logins = await events(`userId=${frank.id}&type=login.success`);
      expect(logins).toHaveLength(2);
      const from = new Date(Date.now() + 60_000).toISOString();
      expect(await events(`userId=${frank.id}&from=${from}`)).toEqual([]);
      const page = await events(`userId=${frank.id}&limit=2`);
      expect(page).toHaveLength(2);
      const res = await service.http().get('/auth/api/v1/admin/audit?type=nope').set('Authorization', `Bearer ${adminToken}`);
      expect(res.status).toBe(422);
    });

    (testBackend() === 'postgresql' ? it : it.skip)('a graceful shutdown loses no event', async () => {
      const app = await start();
      const key = newClientKey();
      await service.app.get(UsersService).create({ email: 'grace@example.org', account: 'grace@example', publicKeys: [key.publicKeyHex] });
      const results = await Promise.all(Array.from({ length: 30 }, () => login(app, loginBody('grace@example.org', key))));
      expect(results.every((r) => r.status === 200)).toBe(true);
      await app.close();
      const rows = await sql<{ count: string }>(`SELECT count(*) FROM audit_events e JOIN users u ON u.id = e.user_id WHERE u.email = 'grace@example.org' AND e.type = 'login.success'`);
      expect(Number(rows[0]!.count)).toBe(30);
    });
  });
});
