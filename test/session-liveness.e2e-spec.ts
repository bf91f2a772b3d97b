import pg from 'pg';
import { AccountsService } from '../src/accounts/accounts.service.js';
import { SessionsService } from '../src/sessions/sessions.service.js';
import { UsersService } from '../src/users/users.service.js';
import { decodeJwtPart, newClientKey, signEmail, type ClientKey } from './support/fib-client.js';
import { describeOnPostgres } from './support/postgres.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

const FIB = '/auth/api/v1/authentication-management';
/** Issue 16: a session that ends is refused by introspection everywhere within this. */
const EVERYWHERE_WITHIN_MS = 100;

interface Pair {
  accessToken: string;
  refreshToken: string;
}

/** Logs in, introspects and ends sessions on one application. */
function client(app: TestApp) {
  return {
    async login(email: string, key: ClientKey): Promise<Pair> {
      const res = await app.http().post(`${FIB}/session`).send({ email, signature: signEmail(key, email), authPublicKeyHex: key.publicKeyHex });
      expect(res.status).toBe(200);
      return res.body.data as Pair;
    },
    async active(bearer: string, token: string): Promise<boolean> {
      const res = await app.http().post('/auth/api/v1/token/introspect').set('Authorization', `Bearer ${bearer}`).send({ token });
      expect(res.status).toBe(200);
      return (res.body as { active: boolean }).active;
    },
    refresh: (refreshToken: string) => app.http().patch(`${FIB}/session`).set('Authorization', refreshToken),
    logout: (accessToken: string) => app.http().post(`${FIB}/logout`).set('Authorization', accessToken),
  };
}

/** Polls until `inactive` says so, at most `boundMs`; the milliseconds it took, or undefined past the bound. */
async function msUntil(inactive: () => Promise<boolean>, boundMs: number): Promise<number | undefined> {
  const started = performance.now();
  for (;;) {
    if (await inactive()) return performance.now() - started;
    if (performance.now() - started > boundMs) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describeOnPostgres('session liveness cache: two instances on one PostgreSQL database', () => {
  let storage: TestStorage;
  let a: TestApp;
  let b: TestApp;
  let onA: ReturnType<typeof client>;
  let onB: ReturnType<typeof client>;
  let bearerOnB: string;
  let n = 0;
  const observedMs: Record<string, number> = {};

  /** A fresh user with a key, created on A, and a session of theirs that B has seen live (so B holds it in memory). */
  const liveOnB = async (): Promise<{ email: string; key: ClientKey; pair: Pair; sid: string }> => {
    const email = `peer${(n += 1)}@example.org`;
    const key = newClientKey();
    await a.app.get(UsersService).create({ email, account: `peer${n}@example`, publicKeys: [key.publicKeyHex] });
    const pair = await onA.login(email, key);
    expect(await onB.active(bearerOnB, pair.accessToken)).toBe(true);
    return { email, key, pair, sid: decodeJwtPart(pair.accessToken, 1).sid as string };
  };

  /** Runs `body` with the ending trigger off in this run's database, so that no ending is notified. */
  const withoutNotifications = async (body: () => Promise<void>): Promise<void> => {
    const db = new pg.Client({ connectionString: storage.env.DATABASE_URL });
    await db.connect();
    try {
      await db.query('ALTER TABLE sessions DISABLE TRIGGER sessions_ended_notify');
      await body();
    } finally {
      await db.query('ALTER TABLE sessions ENABLE TRIGGER sessions_ended_notify');
      await db.end();
    }
  };

  beforeAll(async () => {
    storage = await createTestStorage('session_liveness');
    const env = { ...storage.env, REFRESH_REUSE_GRACE: '0' };
    a = await startTestApp(env);
    b = await startTestApp(env);
    onA = client(a);
    onB = client(b);
    const svc = newClientKey();
    await a.app.get(UsersService).create({ email: 'svc@example.org', account: 'svc@services', role: 'ROLE_SERVICE', publicKeys: [svc.publicKeyHex] });
    bearerOnB = (await client(b).login('svc@example.org', svc)).accessToken;
  });

  afterAll(async () => {
    // The observed delays, for the record: the assertions below hold each to the bound.
    console.log(`session liveness: ended on A, refused on B after ${JSON.stringify(Object.fromEntries(Object.entries(observedMs).map(([k, v]) => [k, Math.round(v * 10) / 10])))} ms`);
    await a?.close();
    await b?.close();
    await storage?.cleanup();
  });

  it('B answers a session it has seen live from memory: an ending that sends no notification is not seen there', async () => {
    const { pair, sid } = await liveOnB();
    const db = new pg.Client({ connectionString: storage.env.DATABASE_URL });
    await db.connect();
    try {
      // Replica mode skips ordinary triggers for this connection: the row ends, no notification goes out.
      await db.query("SET session_replication_role = 'replica'");
      await db.query('UPDATE sessions SET revoked_at = now() WHERE id = $1', [sid]);
    } finally {
      await db.end();
    }
    expect(await onB.active(bearerOnB, pair.accessToken)).toBe(true);
    // The notification the trigger would have sent, sent by hand: now B refuses it.
    const db2 = new pg.Client({ connectionString: storage.env.DATABASE_URL });
    await db2.connect();
    try {
      await db2.query("SELECT pg_notify('sigauth_session_ended', $1)", [sid]);
    } finally {
      await db2.end();
    }
    expect(await msUntil(async () => !(await onB.active(bearerOnB, pair.accessToken)), EVERYWHERE_WITHIN_MS)).toBeDefined();
  });

  const endings: [string, (s: { email: string; key: ClientKey; pair: Pair; sid: string }) => Promise<void>][] = [
    ['logout', async ({ pair }) => void expect((await onA.logout(pair.accessToken)).status).toBe(200)],
    [
      'reuse detection',
      async ({ pair }) => {
        expect((await onA.refresh(pair.refreshToken)).status).toBe(200);
        expect((await onA.refresh(pair.refreshToken)).status).toBe(401);
      },
    ],
    ['an admin revocation', async ({ sid }) => void expect(await a.app.get(SessionsService).end((await a.app.get(SessionsService).find(sid))!, 'revoked by an admin', 'test')).toBe(true)],
    ['a disabled user', async ({ email }) => void expect((await a.app.get(AccountsService).disableUser(email, 'test')).sessionsEnded).toBe(1)],
    ['a revoked key', async ({ email, key }) => void expect((await a.app.get(AccountsService).revokePublicKey(email, key.publicKeyHex, 'test')).sessionsEnded).toBe(1)],
  ];

  it.each(endings)('a session ended on A by %s is refused by introspection on B within 100 ms', async (name, end) => {
    const session = await liveOnB();
    await end(session);
    const ms = await msUntil(async () => !(await onB.active(bearerOnB, session.pair.accessToken)), EVERYWHERE_WITHIN_MS);
    expect(ms).toBeDefined();
    observedMs[name] = ms!;
    // And on A, which ended it, at once.
    expect(await onA.active(bearerOnB, session.pair.accessToken)).toBe(false);
  });

  it.each(endings)('a session ended on A by %s is refused by A at once, before any notification: A drops it as the ending commits', async (_name, end) => {
    const session = await liveOnB();
    expect(await onA.active(bearerOnB, session.pair.accessToken)).toBe(true);
    // No notification goes out while the trigger is off, so only what A does itself can tell it.
    await withoutNotifications(async () => {
      await end(session);
      expect(await onA.active(bearerOnB, session.pair.accessToken)).toBe(false);
      // B hears nothing and still answers from memory: the notification, not luck, is what tells it.
      expect(await onB.active(bearerOnB, session.pair.accessToken)).toBe(true);
    });
  });

  it('a seed that changes a password: the sessions it opened are refused at once on the instance that seeded, before any notification', async () => {
    const accounts = a.app.get(AccountsService);
    const seed = (password: string) => accounts.seed([{ email: 'seeded@svc.example', account: 'seeded@svc', role: 'ROLE_SERVICE', password }]);
    await seed('seed one');
    const basic = `Basic ${Buffer.from('seeded@svc.example:seed one').toString('base64')}`;
    const token = ((await a.http().post('/v1/users/authorize').set('Authorization', basic).send({})).body as { access_token: string }).access_token;
    expect(await onA.active(bearerOnB, token)).toBe(true);
    await withoutNotifications(async () => {
      await expect(seed('seed two')).resolves.toEqual({ created: 0, updated: 1, sessionsEnded: 1 });
      expect(await onA.active(bearerOnB, token)).toBe(false);
    });
  });

  it('a changed password ends the sessions it opened, on B too within 100 ms', async () => {
    await a.app.get(UsersService).create({ email: 'billing@svc.example', account: 'billing@svc', role: 'ROLE_SERVICE', password: 'first password' });
    const basic = `Basic ${Buffer.from('billing@svc.example:first password').toString('base64')}`;
    const res = await a.http().post('/v1/users/authorize').set('Authorization', basic).send({});
    expect(res.status).toBe(200);
    const token = (res.body as { access_token: string }).access_token;
    expect(await onB.active(bearerOnB, token)).toBe(true);
    await a.app.get(AccountsService).setPassword('billing@svc.example', 'second password', null, 'test');
    const ms = await msUntil(async () => !(await onB.active(bearerOnB, token)), EVERYWHERE_WITHIN_MS);
    expect(ms).toBeDefined();
    observedMs['a changed password'] = ms!;
  });
});

describe('session liveness cache: one process on embedded PGlite', () => {
  let storage: TestStorage;
  let app: TestApp;
  let on: ReturnType<typeof client>;
  let bearer: string;

  beforeAll(async () => {
    storage = await createTestStorage('session_liveness_pglite', 'pglite');
    app = await startTestApp(storage.env);
    on = client(app);
    const svc = newClientKey();
    const peer = newClientKey();
    const users = app.app.get(UsersService);
    await users.create({ email: 'svc@example.org', account: 'svc@services', role: 'ROLE_SERVICE', publicKeys: [svc.publicKeyHex] });
    await users.create({ email: 'peer@example.org', account: 'peer@example', publicKeys: [peer.publicKeyHex] });
    bearer = (await on.login('svc@example.org', svc)).accessToken;
    pairOf = () => on.login('peer@example.org', peer);
  });
  let pairOf: () => Promise<Pair>;

  afterAll(async () => {
    await app?.close();
    await storage?.cleanup();
  });

  it('an ending is seen by the very next request: logout, then introspection says inactive', async () => {
    for (let i = 0; i < 3; i++) {
      const pair = await pairOf();
      expect(await on.active(bearer, pair.accessToken)).toBe(true);
      expect((await on.logout(pair.accessToken)).status).toBe(200);
      expect(await on.active(bearer, pair.accessToken)).toBe(false);
      expect((await on.logout(pair.accessToken)).status).toBe(401);
    }
  });

  it('a disabled user: the next introspection says inactive', async () => {
    const pair = await pairOf();
    expect(await on.active(bearer, pair.accessToken)).toBe(true);
    await app.app.get(AccountsService).disableUser('peer@example.org', 'test');
    expect(await on.active(bearer, pair.accessToken)).toBe(false);
  });
});
