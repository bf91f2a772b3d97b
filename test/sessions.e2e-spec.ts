import { Wallet } from 'ethers';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { AddressInfo } from 'node:net';
import { AccountsService } from '../src/accounts/accounts.service.js';
import { MigrationRunner, readMigrations } from '../src/database/migration-runner.js';
import { migrationsDir } from '../src/database/migrations-dir.js';
import { openDatabase } from '../src/database/database-connection.js';
import { SigningKeysService } from '../src/tokens/signing-keys.service.js';
import { UsersService } from '../src/users/users.service.js';
import { envelope, redisError } from './support/envelope.js';
import { decodeJwtPart, newClientKey, signEmail, type ClientKey } from './support/fib-client.js';
import { describeOnPostgres } from './support/postgres.js';
import { withSql } from './support/sql.js';
import { controlClock, type TestClock } from './support/test-clock.js';
import { createTestStorage, startTestApp, testConfig, type TestApp, type TestStorage } from './support/test-app.js';

const FIB = '/auth/api/v1/authentication-management';
const GRACE_SECONDS = 10;
const MAX_AGE_SECONDS = 7200;
const basic = (email: string, password: string) => `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`;

interface Pair {
  accessToken: string;
  refreshToken: string;
}

/**
 * The session core's token semantics, across the APIs: sessions bound to the API
 * that opened them, a grace answer that is the first child byte for byte, explicitly typed tokens,
 * the maximum age, rotations racing revocations, and password changes.
 */
describe('session core: token semantics', () => {
  let storage: TestStorage;
  let service: TestApp;
  let clock: TestClock;
  let alice: ClientKey;
  let introspector: string;
  const wallet = Wallet.createRandom();
  let walletTimestamp = Date.now() - 60_000;

  const fibLogin = async (key = alice, email = 'alice@example.org'): Promise<Pair> => {
    const res = await service.http().post(`${FIB}/session`).send({ email, signature: signEmail(key, email), authPublicKeyHex: key.publicKeyHex });
    expect(res.status).toBe(200);
    return res.body.data as Pair;
  };
  const fibRefresh = (refreshToken: string) => service.http().patch(`${FIB}/session`).set('Authorization', refreshToken);
  const walletLogin = async (): Promise<Pair> => {
    const timestampInMs = (walletTimestamp += 1);
    const res = await service.http().post('/api/auth/login').send({ signer: wallet.address, timestampInMs, signature: await wallet.signMessage(String(timestampInMs)) });
    expect(res.status).toBe(200);
    return res.body.data as Pair;
  };
  const walletRefresh = (pair: Pair) => service.http().post('/api/auth/refresh').send({ expiredAccessToken: pair.accessToken, refreshToken: pair.refreshToken });
  const introspect = async (token: string) => {
    const res = await service.http().post('/auth/api/v1/token/introspect').set('Authorization', `Bearer ${introspector}`).send({ token });
    expect(res.status).toBe(200);
    return res.body as { active: boolean };
  };
  const logout = (accessToken: string) => service.http().post(`${FIB}/logout`).set('Authorization', accessToken);

  beforeAll(async () => {
    storage = await createTestStorage('sessions');
    service = await startTestApp({ ...storage.env, REFRESH_REUSE_GRACE: String(GRACE_SECONDS), SESSION_MAX_AGE: String(MAX_AGE_SECONDS) });
    clock = controlClock(service.app);
    const users = service.app.get(UsersService);
    alice = newClientKey();
    const svc = newClientKey();
    await users.create({ email: 'alice@example.org', account: 'alice@example', publicKeys: [alice.publicKeyHex] });
    await users.create({ email: 'eve@example.org', account: 'eve@example', wallets: [wallet.address] });
    await users.create({ email: 'svc@example.org', account: 'svc@services', role: 'ROLE_SERVICE', publicKeys: [svc.publicKeyHex] });
    await users.create({ email: 'billing@svc.example', account: 'billing@svc', role: 'ROLE_SERVICE', password: 'first password' });
    introspector = (await fibLogin(svc, 'svc@example.org')).accessToken;
  });
  afterEach(() => clock.reset());
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  describe('a session is bound to the API that opened it', () => {
    it('a wallet refresh token on the FIB PATCH is 401, and it still refreshes on its own API afterwards', async () => {
      const pair = await walletLogin();
      const res = await fibRefresh(pair.refreshToken);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken', 'token was issued to another API'));
      expect((await walletRefresh(pair)).status).toBe(200);
    });

    it('a FIB access and refresh pair on /api/auth/refresh is 401, and the FIB session is untouched', async () => {
      const pair = await fibLogin();
      const res = await walletRefresh(pair);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken', 'token was issued to another API'));
      expect((await fibRefresh(pair.refreshToken)).status).toBe(200);
    });

    it('a FIB access token on refresh_jwt is 401 in the Redis shape', async () => {
      const pair = await fibLogin();
      const res = await service.http().post('/v1/users/refresh_jwt').set('Authorization', `JWT ${pair.accessToken}`);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(redisError('unauthorized', 'token was issued to another API'));
    });

    it('every token names its API in client_id, and introspection says it', async () => {
      const fib = await fibLogin();
      const eth = await walletLogin();
      const svc = (await service.http().post('/v1/users/authorize').set('Authorization', basic('billing@svc.example', 'first password'))).body.access_token as string;
      for (const [token, client] of [[fib.accessToken, 'fib'], [fib.refreshToken, 'fib'], [eth.accessToken, 'wallet'], [eth.refreshToken, 'wallet'], [svc, 'service']] as const) {
        expect(decodeJwtPart(token, 1).client_id).toBe(client);
        expect(await introspect(token)).toEqual(expect.objectContaining({ active: true, client_id: client }));
      }
    });
  });

  describe('the grace window gives the first child again, never a sibling', () => {
    it('a parent replayed within grace gets exactly the first child; after the owner rotates again, nothing issued to the replayer works', async () => {
      const login = await fibLogin();
      const owner = await fibRefresh(login.refreshToken);
      expect(owner.status).toBe(200);
      clock.advance((GRACE_SECONDS - 1) * 1000);
      const replayer = await fibRefresh(login.refreshToken);
      expect(replayer.status).toBe(200);
      // Byte for byte: the same access token, the same refresh token, the same expiries.
      expect(replayer.body).toEqual(owner.body);
      await withSql(storage, async (query) => {
        const children = await query('SELECT jti FROM refresh_tokens WHERE parent_jti = $1', [decodeJwtPart(login.refreshToken, 1).jti]);
        expect(children).toHaveLength(1);
      });

      // The owner rotates on; the replayer holds nothing the rotation did not retire.
      const next = await fibRefresh(owner.body.data.refreshToken);
      expect(next.status).toBe(200);
      clock.advance(GRACE_SECONDS * 1000 + 1);
      const stolen = replayer.body.data as Pair;
      const again = await fibRefresh(stolen.refreshToken);
      expect(again.status).toBe(401);
      expect(again.body).toEqual(envelope(401, 'InvalidToken', 'refresh token was already used; the session has been revoked'));
      expect(await introspect(stolen.accessToken)).toEqual({ active: false });
      expect(await introspect(stolen.refreshToken)).toEqual({ active: false });
      expect((await fibRefresh(login.refreshToken)).status).toBe(401);
      // Reuse detection ends the family for the owner too: the thief's chain and the owner's are one.
      expect((await fibRefresh(next.body.data.refreshToken)).body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
    });

    it('within grace, a parent whose child was already used is a reuse, not a second chain', async () => {
      const login = await fibLogin();
      const first = (await fibRefresh(login.refreshToken)).body.data as Pair;
      expect((await fibRefresh(first.refreshToken)).status).toBe(200);
      const replay = await fibRefresh(login.refreshToken);
      expect(replay.status).toBe(401);
      expect(replay.body).toEqual(envelope(401, 'InvalidToken', 'refresh token was already used; the session has been revoked'));
      expect(await introspect(first.accessToken)).toEqual({ active: false });
    });

    it('the grace answer is the same pair for the wallet API too', async () => {
      const login = await walletLogin();
      const owner = await walletRefresh(login);
      const replayer = await walletRefresh(login);
      expect([owner.status, replayer.status]).toEqual([200, 200]);
      expect(replayer.body).toEqual(owner.body);
    });

    it('the grace answer survives a signing-key rotation in between: it is re-signed by the key that signed it first', async () => {
      const login = await fibLogin();
      const owner = await fibRefresh(login.refreshToken);
      await service.app.get(SigningKeysService).rotate();
      const replayer = await fibRefresh(login.refreshToken);
      expect(replayer.status).toBe(200);
      expect(replayer.body).toEqual(owner.body);
      const next = await fibRefresh(owner.body.data.refreshToken);
      expect(decodeJwtPart(next.body.data.accessToken, 0).kid).not.toBe(decodeJwtPart(owner.body.data.accessToken, 0).kid);
    });
  });

  describe('access and refresh tokens are never taken for each other', () => {
    it('an access token presented as a refresh token is 401, on each API', async () => {
      const fib = await fibLogin();
      expect((await fibRefresh(fib.accessToken)).body).toEqual(envelope(401, 'InvalidToken', 'expected a refresh token'));
      const eth = await walletLogin();
      expect((await walletRefresh({ accessToken: eth.accessToken, refreshToken: eth.accessToken })).body).toEqual(envelope(401, 'InvalidToken', 'expected a refresh token'));
    });

    it('a refresh token presented as an access token is 401: logout, bearer routes, refresh_jwt, the Ethereum pair', async () => {
      const fib = await fibLogin();
      expect((await logout(fib.refreshToken)).body).toEqual(envelope(401, 'InvalidToken', 'expected an access token'));
      const me = await service.http().get('/auth/api/v1/me/sessions').set('Authorization', `Bearer ${fib.refreshToken}`);
      expect([me.status, me.body]).toEqual([401, envelope(401, 'InvalidToken', 'expected an access token')]);
      const jwt = await service.http().post('/v1/users/refresh_jwt').set('Authorization', `JWT ${fib.refreshToken}`);
      expect([jwt.status, jwt.body]).toEqual([401, redisError('unauthorized', 'expected an access token')]);
      const eth = await walletLogin();
      expect((await walletRefresh({ accessToken: eth.refreshToken, refreshToken: eth.refreshToken })).body).toEqual(envelope(401, 'InvalidToken', 'expected an access token'));
    });

    it('jose.jwtVerify with typ at+jwt against the JWKS accepts an access token and refuses a refresh token', async () => {
      const url = new URL('/.well-known/jwks.json', `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`);
      const keySet = createRemoteJWKSet(url);
      const pair = await fibLogin();
      const { payload, protectedHeader } = await jwtVerify(pair.accessToken, keySet, { typ: 'at+jwt', algorithms: ['EdDSA'], issuer: 'sigauth', audience: 'sigauth' });
      expect(protectedHeader.typ).toBe('at+jwt');
      expect(payload.sub).toBe('alice@example.org');
      await expect(jwtVerify(pair.refreshToken, keySet, { typ: 'at+jwt', algorithms: ['EdDSA'], issuer: 'sigauth', audience: 'sigauth' })).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
    });
  });

  it('a refresh racing a logout (20 rounds) never returns a pair that works after the logout', async () => {
    let won = 0;
    for (let round = 0; round < 20; round++) {
      const pair = await fibLogin();
      const results = await Promise.all([fibRefresh(pair.refreshToken), logout(pair.accessToken), fibRefresh(pair.refreshToken)]);
      expect(results[1]!.status).toBe(200);
      for (const res of [results[0]!, results[2]!]) {
        expect([200, 401]).toContain(res.status);
        if (res.status !== 200) {
          expect(res.body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
          continue;
        }
        won += 1;
        const issued = res.body.data as Pair;
        expect((await fibRefresh(issued.refreshToken)).body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
        expect(await introspect(issued.accessToken)).toEqual({ active: false });
        expect((await logout(issued.accessToken)).status).toBe(401);
      }
    }
    console.log(`refresh racing logout: ${won} of 40 refreshes answered before the logout; none usable after it`);
  });

  describe('SESSION_MAX_AGE', () => {
    it('ends a session that keeps rotating: no rotation extends it past the maximum age', async () => {
      const started = Date.now();
      clock.set(started);
      let pair = await fibLogin();
      const loginIat = decodeJwtPart(pair.accessToken, 1).iat as number;
      expect(decodeJwtPart(pair.refreshToken, 1).exp).toBe(loginIat + MAX_AGE_SECONDS);
      for (let minutes = 25; minutes < MAX_AGE_SECONDS / 60; minutes += 25) {
        clock.set(started + minutes * 60_000);
        const res = await fibRefresh(pair.refreshToken);
        expect(res.status).toBe(200);
        pair = res.body.data as Pair;
        expect(decodeJwtPart(pair.refreshToken, 1).exp).toBe(loginIat + MAX_AGE_SECONDS);
        expect(decodeJwtPart(pair.accessToken, 1).exp).toBeLessThanOrEqual(loginIat + MAX_AGE_SECONDS);
      }
      // One minute before the end, the access token it gets is cut short to the end.
      clock.set((loginIat + MAX_AGE_SECONDS - 60) * 1000);
      const last = await fibRefresh(pair.refreshToken);
      expect(last.status).toBe(200);
      expect(last.body.data.expirationTime).toBe(60);
      expect(last.body.data.refreshExpiryAt).toBe((loginIat + MAX_AGE_SECONDS) * 1000);
      clock.set((loginIat + MAX_AGE_SECONDS) * 1000);
      // Every token of the session was capped at its end, so at the end there is nothing left to present.
      const refused = await fibRefresh(last.body.data.refreshToken);
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual(envelope(401, 'InvalidToken', 'token has expired'));
    });

    it('ends a service account session that keeps renewing with refresh_jwt', async () => {
      const started = Date.now();
      clock.set(started);
      let token = (await service.http().post('/v1/users/authorize').set('Authorization', basic('billing@svc.example', 'first password')).send({ ttl: 3600 })).body.access_token as string;
      const end = Math.floor(started / 1000) + MAX_AGE_SECONDS;
      for (const at of [started + 3_599_000, (end - 2) * 1000]) {
        clock.set(at);
        const res = await service.http().post('/v1/users/refresh_jwt').set('Authorization', `JWT ${token}`).send({ ttl: 3600 });
        expect(res.status).toBe(200);
        token = res.body.access_token as string;
      }
      // An hour asked for, two seconds given: the session ends then.
      expect(decodeJwtPart(token, 1).exp).toBe(end);
      clock.set(end * 1000);
      const refused = await service.http().post('/v1/users/refresh_jwt').set('Authorization', `JWT ${token}`);
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual(redisError('unauthorized', 'token has expired'));
    });
  });

  describe('a password change ends the sessions the old password opened', () => {
    it('through the admin API: the old tokens stop renewing and introspect inactive; the new password logs in, the old does not', async () => {
      const users = service.app.get(UsersService);
      const admin = newClientKey();
      const adminUser = await users.create({ email: 'root@example.org', account: 'root@example', role: 'ROLE_ADMIN', publicKeys: [admin.publicKeyHex] });
      const ops = await users.create({ email: 'ops@svc.example', account: 'ops@svc', role: 'ROLE_SERVICE', password: 'old password' });
      const adminToken = (await fibLogin(admin, 'root@example.org')).accessToken;
      const before = (await service.http().post('/v1/users/authorize').set('Authorization', basic('ops@svc.example', 'old password'))).body.access_token as string;
      const keySession = await fibLogin(admin, 'root@example.org');

      const res = await service.http().put(`/auth/api/v1/admin/users/${ops.id}/password`).set('Authorization', `Bearer ${adminToken}`).send({ password: 'new password' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: { code: 200, name: 'OK', message: 'Password set.' },
        data: expect.objectContaining({ id: ops.id, email: 'ops@svc.example', hasPassword: true, passwordExpiresAt: null, sessionsEnded: 1 }),
      });
      const renew = await service.http().post('/v1/users/refresh_jwt').set('Authorization', `JWT ${before}`);
      expect([renew.status, renew.body]).toEqual([401, redisError('unauthorized', 'session has ended')]);
      expect(await introspect(before)).toEqual({ active: false });
      expect((await service.http().post('/v1/users/authorize').set('Authorization', basic('ops@svc.example', 'old password'))).body).toEqual(redisError('unauthorized', 'Unauthorized'));
      const after = await service.http().post('/v1/users/authorize').set('Authorization', basic('ops@svc.example', 'new password'));
      expect(after.status).toBe(200);
      expect((await service.http().post('/v1/users/refresh_jwt').set('Authorization', `JWT ${after.body.access_token}`)).status).toBe(200);
      // Sessions opened by another credential are not the password's: the admin's key session lives on.
      expect(await introspect(keySession.accessToken)).toEqual(expect.objectContaining({ active: true }));
      expect(adminUser.id).not.toBe(ops.id);

      const bad = await service.http().put(`/auth/api/v1/admin/users/${ops.id}/password`).set('Authorization', `Bearer ${adminToken}`).send({ password: '' });
      expect([bad.status, bad.body]).toEqual([422, envelope(422, 'ArgumentNotValid', 'password must be 1 to 1024 characters')]);
    });

    it('through a seed: the same password keeps its sessions, another ends them', async () => {
      const accounts = service.app.get(AccountsService);
      const seedUser = (password: string) => [{ email: 'seeded@svc.example', account: 'seeded@svc', role: 'ROLE_SERVICE', password }];
      await accounts.seed(seedUser('seed one'));
      const token = (await service.http().post('/v1/users/authorize').set('Authorization', basic('seeded@svc.example', 'seed one'))).body.access_token as string;
      await expect(accounts.seed(seedUser('seed one'))).resolves.toEqual({ created: 0, updated: 1, sessionsEnded: 0 });
      expect(await introspect(token)).toEqual(expect.objectContaining({ active: true }));
      await expect(accounts.seed(seedUser('seed two'))).resolves.toEqual({ created: 0, updated: 1, sessionsEnded: 1 });
      expect(await introspect(token)).toEqual({ active: false });
      expect((await service.http().post('/v1/users/authorize').set('Authorization', basic('seeded@svc.example', 'seed two'))).status).toBe(200);
    });
  });

  it('tokens issued before explicit typing (typ JWT, no client_id) still refresh, into tokens of the new kind', async () => {
    const pair = await fibLogin();
    const claims = decodeJwtPart(pair.refreshToken, 1);
    const { kid, privateKey } = await service.app.get(SigningKeysService).signingKey();
    const { sign } = await import('node:crypto');
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const { client_id: _client, ...legacyClaims } = { ...claims, aud: 'sigauth' } as Record<string, unknown>;
    const input = `${b64({ typ: 'JWT', alg: 'EdDSA', kid })}.${b64(legacyClaims)}`;
    const legacy = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
    const res = await fibRefresh(legacy);
    expect(res.status).toBe(200);
    expect(decodeJwtPart(res.body.data.accessToken, 0).typ).toBe('at+jwt');
    expect(decodeJwtPart(res.body.data.refreshToken, 1).client_id).toBe('fib');
    // Bound through its session: the same legacy token is still refused by another API.
    expect((await walletRefresh({ accessToken: pair.accessToken, refreshToken: legacy })).status).toBe(401);
  });

  describe('the audit log', () => {
    type Event = { type: string; outcome: string; reason: string | null; userId: string | null; principal: string | null; sessionId: string | null; requestId: string | null };
    let adminToken: string;
    let aliceId: string;
    let eveId: string;
    beforeAll(async () => {
      const users = service.app.get(UsersService);
      const admin = newClientKey();
      await users.create({ email: 'auditor@example.org', account: 'auditor@example', role: 'ROLE_ADMIN', publicKeys: [admin.publicKeyHex] });
      adminToken = (await fibLogin(admin, 'auditor@example.org')).accessToken;
      aliceId = (await users.getByEmail('alice@example.org')).id;
      eveId = (await users.getByEmail('eve@example.org')).id;
    });
    const eventsOf = async (requestId: string): Promise<Event[]> => {
      const res = await service.http().get('/auth/api/v1/admin/audit?limit=1000').set('Authorization', `Bearer ${adminToken}`);
      expect(res.status).toBe(200);
      return (res.body.data.events as Event[]).filter((e) => e.requestId === requestId);
    };
    const refusal = (reason: string, userId: string, principal: string, sessionId: string) => [
      expect.objectContaining({ type: 'token.refresh', outcome: 'failure', reason, userId, principal, sessionId }),
    ];
    const sidOf = (token: string) => decodeJwtPart(token, 1).sid as string;

    it('records every refused rotation once, with its reason; a reuse only as a reuse; a forged token not at all', async () => {
      const ended = await fibLogin();
      expect((await logout(ended.accessToken)).status).toBe(200);
      expect((await fibRefresh(ended.refreshToken).set('X-Request-Id', 'refusal-ended')).status).toBe(401);

      const foreign = await walletLogin();
      expect((await fibRefresh(foreign.refreshToken).set('X-Request-Id', 'refusal-other-api')).status).toBe(401);

      const [first, second] = [await walletLogin(), await walletLogin()];
      const mismatched = await walletRefresh({ accessToken: first.accessToken, refreshToken: second.refreshToken }).set('X-Request-Id', 'refusal-pair');
      expect(mismatched.status).toBe(401);

      const live = await fibLogin();
      const claims = decodeJwtPart(live.refreshToken, 1);
      const { randomUUID } = await import('node:crypto');
      const keys = service.app.get(SigningKeysService);
      const { TokenService } = await import('../src/tokens/token.service.js');
      const unknown = service.app.get(TokenService).signRefresh(await keys.signingKey(), {
        sub: claims.sub as string,
        acjti: randomUUID(),
        clientId: 'fib',
        sid: claims.sid as string,
        iat: claims.iat as number,
        exp: claims.exp as number,
        jti: randomUUID(),
      }).token;
      expect((await fibRefresh(unknown).set('X-Request-Id', 'refusal-unknown')).status).toBe(401);

      const expiring = await fibLogin();
      clock.advance(MAX_AGE_SECONDS * 1000);
      const expired = await fibRefresh(expiring.refreshToken).set('X-Request-Id', 'refusal-expired');
      expect(expired.body).toEqual(envelope(401, 'InvalidToken', 'token has expired'));
      clock.reset();

      const reused = await fibLogin();
      expect((await fibRefresh(reused.refreshToken)).status).toBe(200);
      clock.advance((GRACE_SECONDS + 1) * 1000);
      expect((await fibRefresh(reused.refreshToken).set('X-Request-Id', 'refusal-reuse')).status).toBe(401);
      clock.reset();

      const [header, payload] = live.refreshToken.split('.');
      expect((await fibRefresh(`${header}.${payload}.${'A'.repeat(86)}`).set('X-Request-Id', 'refusal-forged')).status).toBe(401);

      expect(await eventsOf('refusal-ended')).toEqual(refusal('SESSION_ENDED', aliceId, 'alice@example.org', sidOf(ended.refreshToken)));
      expect(await eventsOf('refusal-other-api')).toEqual(refusal('OTHER_API', eveId, 'eve@example.org', sidOf(foreign.refreshToken)));
      expect(await eventsOf('refusal-pair')).toEqual(refusal('TOKEN_PAIR_MISMATCH', eveId, 'eve@example.org', sidOf(second.refreshToken)));
      expect(await eventsOf('refusal-unknown')).toEqual(refusal('REFRESH_TOKEN_UNKNOWN', aliceId, 'alice@example.org', sidOf(live.refreshToken)));
      expect(await eventsOf('refusal-expired')).toEqual(refusal('REFRESH_TOKEN_EXPIRED', aliceId, 'alice@example.org', sidOf(expiring.refreshToken)));
      expect(await eventsOf('refusal-reuse')).toEqual([expect.objectContaining({ type: 'token.reuse_detected', outcome: 'failure', reason: 'REFRESH_TOKEN_REUSED' })]);
      expect(await eventsOf('refusal-forged')).toEqual([]);
    });
  });
});

describeOnPostgres('the session-core migration', () => {
  it('binds existing sessions to their API, gives passwords ids, and ends families that had forked', async () => {
    const storage = await createTestStorage('session_core_migration');
    const db = await openDatabase(testConfig(storage.env), 'cli');
    try {
      const all = readMigrations(migrationsDir());
      const at = all.findIndex((m) => m.name.endsWith('_session_core'));
      await new MigrationRunner(db, all.slice(0, at)).migrate();
      await db.exec(`
        INSERT INTO users (id, email, account, password_hash, updated_at) VALUES
          ('00000000-0000-4000-8000-000000000001', 'svc@x', 'svc', '$argon2id$hash', now()),
          ('00000000-0000-4000-8000-000000000002', 'peer@x', 'peer', NULL, now());
        INSERT INTO sessions (id, user_id, credential_kind, credential_id, expires_at) VALUES
          ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', 'PASSWORD', NULL, now() + interval '1 day'),
          ('00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-000000000002', 'WALLET', gen_random_uuid(), now() + interval '1 day'),
          ('00000000-0000-4000-8000-00000000000c', '00000000-0000-4000-8000-000000000002', 'ED25519_KEY', gen_random_uuid(), now() + interval '1 day');
        INSERT INTO refresh_tokens (jti, session_id, parent_jti, issued_at, expires_at, rotated_at) VALUES
          ('00000000-0000-4000-8000-0000000000f0', '00000000-0000-4000-8000-00000000000c', NULL, now() - interval '2 s', now() + interval '1 day', now()),
          ('00000000-0000-4000-8000-0000000000f1', '00000000-0000-4000-8000-00000000000c', '00000000-0000-4000-8000-0000000000f0', now() - interval '1 s', now() + interval '1 day', NULL),
          ('00000000-0000-4000-8000-0000000000f2', '00000000-0000-4000-8000-00000000000c', '00000000-0000-4000-8000-0000000000f0', now(), now() + interval '1 day', NULL);`);
      await new MigrationRunner(db, all).migrate();
      const sessions = await db.query<{ id: string; client_id: string; credential_id: string | null; revoked_reason: string | null }>(
        'SELECT id, client_id, credential_id, revoked_reason FROM sessions ORDER BY id',
      );
      const [user] = await db.query<{ password_id: string }>("SELECT password_id FROM users WHERE email = 'svc@x'");
      expect(user!.password_id).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
      expect(sessions).toEqual([
        { id: '00000000-0000-4000-8000-00000000000a', client_id: 'service', credential_id: user!.password_id, revoked_reason: null },
        { id: '00000000-0000-4000-8000-00000000000b', client_id: 'wallet', credential_id: expect.any(String), revoked_reason: null },
        { id: '00000000-0000-4000-8000-00000000000c', client_id: 'fib', credential_id: expect.any(String), revoked_reason: 'refresh family forked (ended by the session-core upgrade)' },
      ]);
      const children = await db.query<{ jti: string }>("SELECT jti FROM refresh_tokens WHERE parent_jti = '00000000-0000-4000-8000-0000000000f0'");
      expect(children).toEqual([{ jti: '00000000-0000-4000-8000-0000000000f1' }]);
    } finally {
      await db.close();
      await storage.cleanup();
    }
  });
});
