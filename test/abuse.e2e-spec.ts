import { Wallet } from 'ethers';
import { AuditService } from '../src/audit/audit.service.js';
import { SigningKeysService } from '../src/tokens/signing-keys.service.js';
import { UsersService } from '../src/users/users.service.js';
import { childEnv, jsonOf, runCli } from './support/cli.js';
import { envelope, redisError } from './support/envelope.js';
import { decodeJwtPart, newClientKey, signEmail, type ClientKey } from './support/fib-client.js';
import { describeOnPostgres } from './support/postgres.js';
import { redisPrefix, REDIS_URL, requireRedis } from './support/redis.js';
import { withSql } from './support/sql.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';
import { metric } from './support/metrics.js';
import { startTestInstance, type TestInstance } from './support/process-service.js';

const FIB = '/auth/api/v1/authentication-management';
const basic = (email: string, password: string) => `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`;
const statusCounts = (statuses: number[]) => statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});

/**
 * Abuse resistance: budgets that cannot be overdrawn or turned against users,
 * an audit log that one request cannot stop, proxies trusted only as far as they are, signing keys
 * that can be revoked at once. Every instance here runs on PostgreSQL: several share a database.
 */
describeOnPostgres('abuse resistance', () => {
  let storage: TestStorage;
  let redisUp = false;
  const apps: TestApp[] = [];
  const instances: TestInstance[] = [];
  const start = async (env: Record<string, string>) => {
    const app = await startTestApp({ ...storage.env, ...env });
    apps.push(app);
    return app;
  };
  /** Another instance on the same database, as a process of its own: passport's strategies are one registry per process. */
  const startOther = async (env: Record<string, string>) => {
    const instance = await startTestInstance({ ...storage.env, ...env });
    instances.push(instance);
    return instance;
  };
  let alice: ClientKey;
  const wallet = Wallet.createRandom();
  let admin: ClientKey;

  beforeAll(async () => {
    storage = await createTestStorage('abuse');
    redisUp = await requireRedis();
    const setup = await start({});
    const users = setup.app.get(UsersService);
    alice = newClientKey();
    admin = newClientKey();
    await users.create({ email: 'alice@example.org', account: 'alice@example', publicKeys: [alice.publicKeyHex], wallets: [wallet.address] });
    await users.create({ email: 'root@example.org', account: 'root@example', role: 'ROLE_ADMIN', publicKeys: [admin.publicKeyHex] });
    await users.create({ email: 'svc@svc.example', account: 'svc@svc', role: 'ROLE_SERVICE', password: 'the right password' });
  });
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    for (const instance of instances) await instance.close().catch(() => undefined);
    await storage?.cleanup();
  });

  describe('budgets cannot be overdrawn', () => {
    const wrongPasswords = (apps: Pick<TestApp, 'http'>[], count: number) =>
      Promise.all(Array.from({ length: count }, (_, i) => apps[i % apps.length]!.http().post('/v1/users/authorize').set('Authorization', basic('svc@svc.example', `wrong ${i}`))));

    const expectAtMostFiveChecked = (responses: { status: number; body: unknown }[]) => {
      const counts = statusCounts(responses.map((r) => r.status));
      // 401 is an answer that checked the password; 429 one refused before it was hashed.
      expect(Object.keys(counts).sort()).toEqual(expect.arrayContaining(['429']));
      expect((counts[401] ?? 0) + (counts[429] ?? 0)).toBe(responses.length);
      expect(counts[401] ?? 0).toBeLessThanOrEqual(5);
      for (const res of responses) expect(res.body).toEqual(res.status === 401 ? redisError('unauthorized', 'Unauthorized') : redisError('too_many_requests'));
      return counts;
    };

    it('40 parallel wrong passwords with a budget of 5 (memory): at most 5 are checked, the rest are 429', async () => {
      const app = await start({ RATE_LIMIT_FAILURES_PER_IDENTITY: '5' });
      const counts = expectAtMostFiveChecked(await wrongPasswords([app], 40));
      console.log(`40 parallel wrong passwords, memory budget of 5: ${JSON.stringify(counts)}`);
    });

    it('the same with REDIS_URL, and across two instances sharing Redis', async () => {
      if (!redisUp) return;
      const prefix = redisPrefix();
      const one = await start({ RATE_LIMIT_FAILURES_PER_IDENTITY: '5', REDIS_URL, REDIS_KEY_PREFIX: prefix });
      expect(statusCounts((await wrongPasswords([one], 40)).map((r) => r.status))[401] ?? 0).toBeLessThanOrEqual(5);

      const shared = redisPrefix();
      const a = await start({ RATE_LIMIT_FAILURES_PER_IDENTITY: '5', REDIS_URL, REDIS_KEY_PREFIX: shared });
      const b = await startOther({ RATE_LIMIT_FAILURES_PER_IDENTITY: '5', REDIS_URL, REDIS_KEY_PREFIX: shared });
      const counts = expectAtMostFiveChecked(await wrongPasswords([a, b], 40));
      console.log(`40 parallel wrong passwords over two instances sharing Redis, budget of 5: ${JSON.stringify(counts)}`);
    });
  });

  describe('strangers cannot lock anyone out', () => {
    it('after 20 garbage FIB and 20 garbage wallet logins for a user from one address, their own signatures log in', async () => {
      const app = await start({ RATE_LIMIT_FAILURES_PER_IDENTITY: '5' });
      const garbage = { email: 'alice@example.org', signature: signEmail(newClientKey(), 'alice@example.org'), authPublicKeyHex: alice.publicKeyHex };
      const fib = [];
      for (let i = 0; i < 20; i++) fib.push((await app.http().post(`${FIB}/session`).send(garbage)).status);
      const eth = [];
      const stranger = Wallet.createRandom();
      for (let i = 0; i < 20; i++) {
        const timestampInMs = Date.now() - i;
        eth.push((await app.http().post('/api/auth/login').send({ signer: wallet.address, timestampInMs, signature: await stranger.signMessage(String(timestampInMs)) })).status);
      }
      // The budget still answers garbage: past it, 429 instead of 401.
      expect(statusCounts(fib)).toEqual({ 401: 5, 429: 15 });
      expect(statusCounts(eth)).toEqual({ 401: 5, 429: 15 });

      const own = await app.http().post(`${FIB}/session`).send({ email: 'alice@example.org', signature: signEmail(alice, 'alice@example.org'), authPublicKeyHex: alice.publicKeyHex });
      expect([own.status, own.body.status]).toEqual([200, { code: 200, name: 'OK', message: 'User authorization has been successful.' }]);
      const timestampInMs = Date.now();
      const ownWallet = await app.http().post('/api/auth/login').send({ signer: wallet.address, timestampInMs, signature: await wallet.signMessage(String(timestampInMs)) });
      expect([ownWallet.status, ownWallet.body.status]).toEqual([200, { code: 200, name: 'OK', message: 'User authorization has been successful.' }]);
    });

    it('after 5 wrong passwords from address A, the right password from address B works, and address A gets 429', async () => {
      // The test's connection is the proxy (127.0.0.1); it says which client each request is from.
      const app = await start({ RATE_LIMIT_FAILURES_PER_IDENTITY: '5', TRUST_PROXY: '127.0.0.1' });
      const from = (address: string, password: string) => app.http().post('/v1/users/authorize').set('X-Forwarded-For', address).set('Authorization', basic('svc@svc.example', password));
      for (let i = 0; i < 5; i++) expect((await from('198.51.100.1', `guess ${i}`)).status).toBe(401);
      const b = await from('198.51.100.2', 'the right password');
      expect(b.status).toBe(200);
      expect(b.body).toEqual({ access_token: expect.any(String) });
      const a = await from('198.51.100.1', 'the right password');
      expect(a.status).toBe(429);
      expect(a.body).toEqual(redisError('too_many_requests', expect.stringMatching(/^Too many requests; retry after \d+ s\.$/)));
      // IPv6 addresses count by their /64: another address of the /64 shares the budget.
      for (let i = 0; i < 5; i++) expect((await from('2001:db8:1:2::1', `guess ${i}`)).status).toBe(401);
      expect((await from('2001:db8:1:2:ffff::9', 'the right password')).status).toBe(429);
      expect((await from('2001:db8:1:3::1', 'the right password')).status).toBe(200);
    });
  });

  describe('one request cannot stop the audit log', () => {
    it('a login whose email holds a lone surrogate gets 422; the failed login after it is in the audit log within 2 s', async () => {
      const app = await start({});
      const adminToken = (await app.http().post(`${FIB}/session`).send({ email: 'root@example.org', signature: signEmail(admin, 'root@example.org'), authPublicKeyHex: admin.publicKeyHex })).body.data.accessToken as string;
      const repairedBefore = await metric(app, 'sigauth_audit_repaired_total');
      const bad = await app.http().post(`${FIB}/session`).set('Content-Type', 'application/json').send('{"email":"\\ud800@x","signature":"00","authPublicKeyHex":"00"}');
      expect(bad.status).toBe(422);
      expect(bad.body).toEqual(envelope(422, 'ArgumentNotValid', 'email must be an address of at most 254 characters'));
      const after = await app.http().post(`${FIB}/session`).set('X-Request-Id', 'after-the-surrogate').send({ email: 'alice@example.org', signature: signEmail(newClientKey(), 'x'), authPublicKeyHex: alice.publicKeyHex });
      expect(after.status).toBe(401);

      const deadline = Date.now() + 2000;
      let events: { requestId: string; principal: string }[] = [];
      while (Date.now() < deadline) {
        const res = await app.http().get('/auth/api/v1/admin/audit?type=login.failure&limit=20').set('Authorization', `Bearer ${adminToken}`);
        events = res.body.data.events;
        if (events.some((e) => e.requestId === 'after-the-surrogate')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(events.find((e) => e.requestId === 'after-the-surrogate')).toEqual(expect.objectContaining({ principal: 'alice@example.org', reason: 'INVALID_PROOF' }));
      // The surrogate's own event is stored too, its string made well-formed, and counted as repaired.
      expect(events.find((e) => e.principal === '\ufffd@x')).toEqual(expect.objectContaining({ type: 'login.failure', reason: 'ARGUMENT_NOT_VALID' }));
      expect((await metric(app, 'sigauth_audit_repaired_total')) - repairedBefore).toBe(1);
    });

    it('a row the database refuses on its own is set aside and counted; the rows beside it are written', async () => {
      const app = await start({});
      const audit = app.app.get(AuditService);
      const tag = `set-aside-${Date.now()}`;
      audit.record({ type: 'logout', outcome: 'success', reason: `${tag}-before` });
      // A user id that is no UUID: PostgreSQL refuses the row (invalid input syntax for type uuid).
      audit.record({ type: 'logout', outcome: 'success', reason: `${tag}-refused`, userId: 'not-a-uuid' });
      audit.record({ type: 'logout', outcome: 'success', reason: `${tag}-after` });
      await audit.flush();
      const reasons = await withSql(storage, (query) => query<{ reason: string }>('SELECT reason FROM audit_events WHERE reason LIKE $1 ORDER BY id', [`${tag}%`]));
      expect(reasons.map((r) => r.reason)).toEqual([`${tag}-before`, `${tag}-after`]);
      expect(await metric(app, 'sigauth_audit_rejected_total')).toBe(1);
    });

    it('1,000 requests refused with 429 leave at most a handful of audit rows', async () => {
      const app = await start({ RATE_LIMIT_PER_IP: '1', REDIS_KEY_PREFIX: redisPrefix() });
      const countRows = () => withSql(storage, async (query) => Number((await query<{ n: string }>('SELECT count(*) AS n FROM audit_events'))[0]!.n));
      const body = { email: 'flood@example.org', signature: signEmail(newClientKey(), 'flood@example.org'), authPublicKeyHex: alice.publicKeyHex };
      expect((await app.http().post(`${FIB}/session`).send(body)).status).toBe(404);
      await app.app.get(AuditService).flush();
      const before = await countRows();
      const statuses: number[] = [];
      for (let round = 0; round < 10; round++) {
        statuses.push(...(await Promise.all(Array.from({ length: 100 }, () => app.http().post(`${FIB}/session`).send(body)))).map((r) => r.status));
      }
      expect(statusCounts(statuses)).toEqual({ 429: 1000 });
      await app.app.get(AuditService).flush();
      const added = (await countRows()) - before;
      expect(added).toBeLessThanOrEqual(3);
      expect(added).toBeGreaterThanOrEqual(1);
      const [refused] = await withSql(storage, (query) => query<{ details: Record<string, unknown> }>("SELECT details FROM audit_events WHERE type = 'rate_limit.refused' ORDER BY id DESC LIMIT 1"));
      expect(refused!.details).toEqual(expect.objectContaining({ endpoint: 'fib-login', budget: 'address', limit: 1 }));
      console.log(`1,000 requests refused with 429: ${added} audit row(s)`);
    });
  });

  it('with TRUST_PROXY=10.0.0.0/8, a spoofed X-Forwarded-For from 127.0.0.1 changes neither the address counted nor the one stored', async () => {
    const app = await start({ TRUST_PROXY: '10.0.0.0/8', RATE_LIMIT_PER_IP: '2', REDIS_KEY_PREFIX: redisPrefix() });
    const login = (spoofed: string) =>
      app.http().post(`${FIB}/session`).set('X-Forwarded-For', spoofed).set('X-Request-Id', `spoof-${spoofed}`).send({ email: 'alice@example.org', signature: signEmail(alice, 'alice@example.org'), authPublicKeyHex: alice.publicKeyHex });
    const first = await login('203.0.113.1');
    expect(first.status).toBe(200);
    expect((await login('203.0.113.2')).status).toBe(200);
    // Counted under 127.0.0.1 both times: the third login from it is over the budget of 2, whatever it claims.
    const third = await login('203.0.113.3');
    expect(third.status).toBe(429);
    await app.app.get(AuditService).flush();
    const sid = decodeJwtPart(first.body.data.accessToken, 1).sid;
    await withSql(storage, async (query) => {
      expect(await query('SELECT ip FROM sessions WHERE id = $1', [sid])).toEqual([{ ip: '127.0.0.1' }]);
      expect(await query("SELECT DISTINCT ip FROM audit_events WHERE request_id LIKE 'spoof-%'")).toEqual([{ ip: '127.0.0.1' }]);
    });

    // And from a proxy it trusts, the address it gives is the client's.
    const behindProxy = await start({ TRUST_PROXY: '127.0.0.1' });
    const proxied = await behindProxy.http().post(`${FIB}/session`).set('X-Forwarded-For', '203.0.113.9').send({ email: 'alice@example.org', signature: signEmail(alice, 'alice@example.org'), authPublicKeyHex: alice.publicKeyHex });
    await withSql(storage, async (query) => {
      expect(await query('SELECT ip FROM sessions WHERE id = $1', [decodeJwtPart(proxied.body.data.accessToken, 1).sid])).toEqual([{ ip: '203.0.113.9' }]);
    });
  });

  it('keys stored in the clear are encrypted in place when an encryption key is configured, and their tokens still verify', async () => {
    const own = await createTestStorage('abuse_sealing');
    try {
      const plain = await startTestApp(own.env);
      const key = newClientKey();
      await plain.app.get(UsersService).create({ email: 'bea@example.org', account: 'bea@example', publicKeys: [key.publicKeyHex] });
      const pair = (await plain.http().post(`${FIB}/session`).send({ email: 'bea@example.org', signature: signEmail(key, 'bea@example.org'), authPublicKeyHex: key.publicKeyHex })).body.data as { refreshToken: string };
      await plain.close();
      const rows = () => withSql(own, (query) => query<{ kid: string; encrypted: boolean; private_key: string }>('SELECT kid, encrypted, private_key FROM signing_keys'));
      const [before] = await rows();
      expect(before!.encrypted).toBe(false);

      const sealed = await startTestApp({ ...own.env, SIGNING_KEY_ENCRYPTION_KEY: 'ab'.repeat(32) });
      try {
        expect((await sealed.http().patch(`${FIB}/session`).set('Authorization', pair.refreshToken)).status).toBe(200);
        const [after] = await rows();
        expect(after).toEqual({ kid: before!.kid, encrypted: true, private_key: expect.stringMatching(/^v1\./) });
        expect(after!.private_key).not.toContain(before!.private_key);
      } finally {
        await sealed.close();
      }
    } finally {
      await own.cleanup();
    }
  });

  describe('signing-keys revoke', () => {
    const introspector = async (users: TestApp, app: Pick<TestApp, 'http'>) => {
      const key = newClientKey();
      const email = `introspector-${Date.now()}@svc.example`;
      await users.app.get(UsersService).create({ email, account: email, role: 'ROLE_SERVICE', publicKeys: [key.publicKeyHex] });
      return async (token: string) => (await app.http().post('/auth/api/v1/token/introspect').set('Authorization', `Bearer ${(await app.http().post(`${FIB}/session`).send({ email, signature: signEmail(key, email), authPublicKeyHex: key.publicKeyHex })).body.data.accessToken}`).send({ token })).body;
    };

    it('refuses a token signed by the revoked key at once, on this instance and on another, in refresh and introspection; the key leaves the JWKS', async () => {
      const a = await start({});
      const b = await startOther({});
      const introspect = await introspector(a, b);
      const pair = (await a.http().post(`${FIB}/session`).send({ email: 'alice@example.org', signature: signEmail(alice, 'alice@example.org'), authPublicKeyHex: alice.publicKeyHex })).body.data as { accessToken: string; refreshToken: string };
      const kid = decodeJwtPart(pair.accessToken, 0).kid as string;
      expect(await introspect(pair.accessToken)).toEqual(expect.objectContaining({ active: true }));
      expect(((await b.http().get('/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid)).toContain(kid);

      const { revoked, signing } = await a.app.get(SigningKeysService).revoke(kid);
      expect(revoked).toBe(kid);
      expect(signing).not.toBe(kid);
      // On the instance that revoked, at once.
      expect((await a.http().patch(`${FIB}/session`).set('Authorization', pair.refreshToken)).body).toEqual(envelope(401, 'InvalidToken', 'token was not signed by a key of this service'));
      // On the other, as soon as the notice reaches it (a NOTIFY, milliseconds).
      const started = performance.now();
      let inactive = false;
      while (!inactive && performance.now() - started < 2000) {
        inactive = (await introspect(pair.accessToken)).active === false;
        if (!inactive) await new Promise((r) => setTimeout(r, 20));
      }
      expect(inactive).toBe(true);
      console.log(`signing key revocation reached the other instance in ${Math.round(performance.now() - started)} ms`);
      expect(((await b.http().get('/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid)).not.toContain(kid);
      expect((await b.http().post(`${FIB}/logout`).set('Authorization', pair.accessToken)).body).toEqual(envelope(401, 'InvalidToken', 'token was not signed by a key of this service'));
      // Logins go on, signed by the key that took over.
      const next = await b.http().post(`${FIB}/session`).send({ email: 'alice@example.org', signature: signEmail(alice, 'alice@example.org'), authPublicKeyHex: alice.publicKeyHex });
      expect(decodeJwtPart(next.body.data.accessToken, 0).kid).toBe(signing);
    });

    it('through the command line, while a server runs: its tokens are refused by that server and its key is gone from its JWKS', async () => {
      const app = await start({});
      const introspect = await introspector(app, app);
      const pair = (await app.http().post(`${FIB}/session`).send({ email: 'alice@example.org', signature: signEmail(alice, 'alice@example.org'), authPublicKeyHex: alice.publicKeyHex })).body.data as { accessToken: string };
      const kid = decodeJwtPart(pair.accessToken, 0).kid as string;
      expect(await introspect(pair.accessToken)).toEqual(expect.objectContaining({ active: true }));
      const result = jsonOf<{ revoked: string; signing: string }>(await runCli(['signing-keys', 'revoke', '--kid', kid], childEnv(storage.env)));
      expect(result.revoked).toBe(kid);
      const deadline = performance.now() + 2000;
      let body = await introspect(pair.accessToken);
      while (body.active !== false && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        body = await introspect(pair.accessToken);
      }
      expect(body).toEqual({ active: false });
      expect(((await app.http().get('/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid)).not.toContain(kid);
      const again = await runCli(['signing-keys', 'revoke', '--kid', kid], childEnv(storage.env));
      expect([again.status, again.stderr]).toEqual([1, `error: signing key ${kid} was already revoked\n`]);
      const unknown = await runCli(['signing-keys', 'revoke', '--kid', 'no-such-kid'], childEnv(storage.env));
      expect([unknown.status, unknown.stderr]).toEqual([1, 'error: no signing key with kid no-such-kid\n']);
    });
  });
});
