import { monthStart } from '../src/audit/audit.repository.js';
import { openDatabase, type DatabaseConnection } from '../src/database/database-connection.js';
import { MigrationRunner, readMigrations } from '../src/database/migration-runner.js';
import { migrationsDir } from '../src/database/migrations-dir.js';
import { DATABASE_CONNECTION } from '../src/database/prisma.module.js';
import { RETENTION_CLEANUP_LOCK } from '../src/retention/retention-cleanup.js';
import { UsersService } from '../src/users/users.service.js';
import { testBackend } from './support/database.js';
import { eventually } from './support/eventually.js';
import { decodeJwtPart, newClientKey, signEmail, type ClientKey } from './support/fib-client.js';
import { describeOnPostgres } from './support/postgres.js';
import { controlClock, type TestClock } from './support/test-clock.js';
import { createTestStorage, startTestApp, testConfig, type TestApp, type TestStorage } from './support/test-app.js';
import { metricValue } from './support/wallet-client.js';

const FIB = '/auth/api/v1/authentication-management';
const DAY_MS = 86_400_000;

interface Pair {
  accessToken: string;
  refreshToken: string;
}

/** SQL on the instance's own connection: on PGlite no second process may open the folder while the service holds it. */
const sqlOf = (service: TestApp) => {
  const db = service.app.get<DatabaseConnection>(DATABASE_CONNECTION);
  return <T extends object>(text: string, params: unknown[] = []) => db.query<T>(text, params);
};
const count = async (service: TestApp, text: string, params: unknown[] = []) => Number((await sqlOf(service)<{ n: string }>(text, params))[0]!.n);

async function seedFibUser(service: TestApp, email: string): Promise<ClientKey> {
  const key = newClientKey();
  await service.app.get(UsersService).create({ email, account: email.replace(/\.org$/, ''), publicKeys: [key.publicKeyHex] });
  return key;
}

function fibClient(service: TestApp, key: ClientKey, email: string) {
  return {
    async login(): Promise<Pair> {
      const res = await service.http().post(`${FIB}/session`).send({ email, signature: signEmail(key, email), authPublicKeyHex: key.publicKeyHex });
      expect(res.status).toBe(200);
      return res.body.data as Pair;
    },
    refresh: (refreshToken: string) => service.http().patch(`${FIB}/session`).set('Authorization', refreshToken),
  };
}

// The session half runs on the run's backend and, whatever that is, on embedded PGlite too.
const BACKENDS = [...new Set([testBackend(), 'pglite' as const])];

/** What every login, refresh and request writes is deleted once its retention is over. */
describe.each(BACKENDS)('retention cleanup of sessions and refresh tokens (%s)', (backend) => {
  let storage: TestStorage;
  let service: TestApp;
  let clock: TestClock;

  beforeAll(async () => {
    storage = await createTestStorage(`retention_sessions_${backend}`, backend);
    service = await startTestApp({ ...storage.env, SESSION_MAX_AGE: '2', SESSION_RETENTION: '0', CLEANUP_INTERVAL_MS: '500' });
    clock = controlClock(service.app);
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  it('50 logins and 50 refreshes leave no rows once their sessions end; a live session is untouched and still refreshes', async () => {
    const alice = fibClient(service, await seedFibUser(service, 'alice@example.org'), 'alice@example.org');
    const start = Date.now();
    clock.set(start);
    const pairs: Pair[] = [];
    for (let i = 0; i < 50; i++) pairs.push(await alice.login());
    for (const pair of pairs) expect((await alice.refresh(pair.refreshToken)).status).toBe(200);
    const ended = pairs.map((p) => decodeJwtPart(p.accessToken, 1).sid as string);
    expect(await count(service, 'SELECT count(*) AS n FROM refresh_tokens WHERE session_id = ANY($1::uuid[])', [ended])).toBe(100);

    // Past SESSION_MAX_AGE (2 s) on the service's clock, without waiting for it: the 50 have ended.
    clock.set(start + 3000);
    const live = await alice.login();
    const liveSid = decodeJwtPart(live.accessToken, 1).sid as string;
    await eventually(
      async () => ((await count(service, 'SELECT count(*) AS n FROM sessions WHERE id = ANY($1::uuid[])', [ended])) === 0 ? true : undefined),
      { what: 'the 50 ended sessions deleted', withinMs: 5000, everyMs: 100 },
    );
    expect(await count(service, 'SELECT count(*) AS n FROM sessions')).toBe(1);
    expect(await sqlOf(service)<{ session_id: string }>('SELECT session_id FROM refresh_tokens')).toEqual([{ session_id: liveSid }]);
    expect(await metricValue(service, 'sigauth_cleanup_removed_rows_total', { table: 'sessions' })).toBe(50);
    expect(await metricValue(service, 'sigauth_cleanup_removed_rows_total', { table: 'refresh_tokens' })).toBe(100);

    const refreshed = await alice.refresh(live.refreshToken);
    expect(refreshed.status).toBe(200);
    expect(decodeJwtPart(refreshed.body.data.accessToken as string, 1).sid).toBe(liveSid);
    expect(await metricValue(service, 'sigauth_cleanup_leader')).toBe(1);
  });
});

describe('retention cleanup of retired refresh tokens', () => {
  let storage: TestStorage;
  let service: TestApp;
  let clock: TestClock;

  beforeAll(async () => {
    storage = await createTestStorage('retention_retired');
    service = await startTestApp({ ...storage.env, REFRESH_TOKEN_TTL: '60', REFRESH_REUSE_GRACE: '10', CLEANUP_INTERVAL_MS: '200' });
    clock = controlClock(service.app);
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  it('a retired token goes once past its expiry and its grace; its session and the live token stay', async () => {
    const bob = fibClient(service, await seedFibUser(service, 'bob@example.org'), 'bob@example.org');
    const start = Date.now();
    clock.set(start);
    const first = await bob.login();
    clock.set(start + 30_000);
    const second = (await bob.refresh(first.refreshToken)).body.data as Pair;
    const retired = decodeJwtPart(first.refreshToken, 1).jti as string;
    const sid = decodeJwtPart(first.accessToken, 1).sid as string;
    const tokens = () => count(service, 'SELECT count(*) AS n FROM refresh_tokens WHERE jti = $1', [retired]);

    // Retired, past its grace, but not expired (at 60 s): it stays, however many runs go by.
    clock.set(start + 59_000);
    await eventually(async () => ((await metricValue(service, 'sigauth_cleanup_runs_total', { result: 'success' })) >= 2 ? true : undefined), { what: 'two cleanup runs' });
    expect(await tokens()).toBe(1);

    clock.set(start + 61_000);
    await eventually(async () => ((await tokens()) === 0 ? true : undefined), { what: 'the retired token deleted', everyMs: 100 });
    expect(await count(service, 'SELECT count(*) AS n FROM sessions WHERE id = $1 AND revoked_at IS NULL', [sid])).toBe(1);
    const third = await bob.refresh(second.refreshToken);
    expect(third.status).toBe(200);
    expect(decodeJwtPart(third.body.data.accessToken as string, 1).sid).toBe(sid);
  });
});

describe.each(BACKENDS)('audit retention (%s)', (backend) => {
  let storage: TestStorage;
  let service: TestApp;
  let clock: TestClock;
  const insert = (at: Date, type: string) =>
    sqlOf(service)(`INSERT INTO audit_events (occurred_at, type, outcome) VALUES ($1, $2, 'success')`, [at, type]);
  const where = (type: string) => sqlOf(service)<{ partition: string }>(`SELECT tableoid::regclass::text AS partition FROM audit_events WHERE type = $1`, [type]);

  beforeAll(async () => {
    storage = await createTestStorage(`retention_audit_${backend}`, backend);
    service = await startTestApp({ ...storage.env, AUDIT_RETENTION_DAYS: '30', CLEANUP_INTERVAL_MS: '500' });
    clock = controlClock(service.app);
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  it('events older than AUDIT_RETENTION_DAYS (inserted with old timestamps) are deleted; recent ones stay', async () => {
    const now = Date.now();
    await insert(new Date(now - 400 * DAY_MS), 'test.ancient');
    await insert(new Date(now - 31 * DAY_MS), 'test.old');
    await insert(new Date(now - 29 * DAY_MS), 'test.recent');
    await insert(new Date(now), 'test.now');
    await eventually(async () => ((await where('test.ancient')).length + (await where('test.old')).length === 0 ? true : undefined), {
      what: 'the events older than 30 days deleted',
      everyMs: 100,
    });
    expect(await where('test.recent')).toHaveLength(1);
    expect(await where('test.now')).toEqual([{ partition: `audit_events_p${new Date(now).toISOString().slice(0, 7).replace('-', '')}` }]);
  });

  it('drops whole monthly partitions once past retention, creates the next ones ahead, and moves early events into them', async () => {
    const now = Date.now();
    await insert(new Date(now), 'test.this-month');
    const later = monthStart(new Date(now + 100 * DAY_MS)).getTime() + 10 * DAY_MS;
    // Written while no partition of that month exists yet: it waits in the default partition.
    await insert(new Date(later - DAY_MS), 'test.ahead');
    expect(await where('test.ahead')).toEqual([{ partition: 'audit_events_default' }]);

    clock.set(later);
    const month = (offset: number) => `audit_events_p${monthStart(new Date(later), offset).toISOString().slice(0, 7).replace('-', '')}`;
    await eventually(async () => ((await where('test.this-month')).length === 0 ? true : undefined), { what: 'the partition of this month dropped', everyMs: 100 });
    expect(await where('test.ahead')).toEqual([{ partition: month(0) }]);
    const partitions = (await sqlOf(service)<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass`)).map((r) => r.name);
    expect(partitions).toEqual(expect.arrayContaining([month(0), month(1), month(2), 'audit_events_default']));
    expect(partitions).not.toContain(`audit_events_p${new Date(now).toISOString().slice(0, 7).replace('-', '')}`);
    expect(await metricValue(service, 'sigauth_cleanup_audit_partitions_total', { action: 'dropped' })).toBeGreaterThanOrEqual(1);
    expect(await metricValue(service, 'sigauth_cleanup_removed_rows_total', { table: 'audit_events' })).toBeGreaterThanOrEqual(3);

    // The service writes on at the moved clock, into the partitions made for it.
    const stranger = newClientKey();
    const refused = await service.http().post(`${FIB}/session`).send({ email: 'nobody@example.org', signature: signEmail(stranger, 'nobody@example.org'), authPublicKeyHex: stranger.publicKeyHex });
    expect(refused.status).toBe(404);
    await eventually(async () => ((await sqlOf(service)<{ partition: string }>(`SELECT tableoid::regclass::text AS partition FROM audit_events WHERE principal = 'nobody@example.org'`))[0]?.partition), {
      what: 'the failed login audited',
    }).then((partition) => expect(partition).toBe(month(0)));
  });
});

/** Several instances on one PostgreSQL: the cleanup runs on one at a time, and another takes over. */
describeOnPostgres('retention cleanup with two instances', () => {
  let storage: TestStorage;
  let instances: TestApp[];
  const heldBy = async (): Promise<number[]> =>
    (
      await sqlOf(instances[0]!)<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [RETENTION_CLEANUP_LOCK],
      )
    ).map((r) => r.pid);
  const leaders = async (apps: TestApp[]) => (await Promise.all(apps.map((a) => metricValue(a, 'sigauth_cleanup_leader')))).flatMap((v, i) => (v === 1 ? [i] : []));
  const runs = (app: TestApp) => metricValue(app, 'sigauth_cleanup_runs_total', { result: 'success' });

  beforeAll(async () => {
    storage = await createTestStorage('retention_two');
    const env = { ...storage.env, CLEANUP_INTERVAL_MS: '200' };
    instances = [await startTestApp(env), await startTestApp(env)];
  });
  afterAll(async () => {
    for (const app of instances ?? []) await app.close().catch(() => undefined);
    await storage?.cleanup();
  });

  it('exactly one instance holds the lock and runs the cleanup; the other takes over when it goes', async () => {
    await eventually(async () => ((await leaders(instances)).length === 1 ? true : undefined), { what: 'one cleanup leader' });
    expect(await heldBy()).toHaveLength(1);
    const [leader] = await leaders(instances);
    const follower = instances[1 - leader!]!;
    // Several intervals later it is still the one: the other keeps trying and failing to take the lock.
    const before = await runs(instances[leader!]!);
    await eventually(async () => ((await runs(instances[leader!]!)) >= before + 3 ? true : undefined), { what: 'three more runs on the leader' });
    expect(await leaders(instances)).toEqual([leader]);
    expect(await runs(follower)).toBe(0);
    expect(await heldBy()).toHaveLength(1);

    await instances[leader!]!.close();
    instances = [follower];
    await eventually(async () => ((await metricValue(follower, 'sigauth_cleanup_leader')) === 1 ? true : undefined), { what: 'the other instance taking over' });
    await eventually(async () => ((await runs(follower)) > 0 ? true : undefined), { what: 'a run on the new leader' });
    expect(await heldBy()).toHaveLength(1);
  });
});

describe.each(BACKENDS)('the bounded_growth migration (%s)', (backend) => {
  it('carries the audit rows over into monthly partitions, ids and all, and the sequence continues after them', async () => {
    const storage = await createTestStorage(`bounded_growth_migration_${backend}`, backend);
    const db = await openDatabase(testConfig(storage.env), 'cli');
    try {
      const all = readMigrations(migrationsDir());
      await new MigrationRunner(db, all.slice(0, all.findIndex((m) => m.name.endsWith('_bounded_growth')))).migrate();
      await db.exec(`
        INSERT INTO audit_events (occurred_at, type, outcome, reason, principal, details) VALUES
          (now() - interval '40 days', 'login.failure', 'failure', 'BAD_SIGNATURE', 'alice@example.org', '{"api": "fib"}'),
          (now() - interval '5 years', 'login.success', 'success', NULL, 'bob@example.org', NULL),
          (now(), 'logout', 'success', NULL, 'alice@example.org', NULL);`);
      const before = await db.query<{ id: string; occurred_at: Date; type: string; details: unknown }>('SELECT id, occurred_at, type, details FROM audit_events ORDER BY id');
      await new MigrationRunner(db, all).migrate();

      const after = await db.query<{ id: string; occurred_at: Date; type: string; details: unknown; partition: string }>(
        'SELECT id, occurred_at, type, details, tableoid::regclass::text AS partition FROM audit_events ORDER BY id',
      );
      expect(after.map(({ partition: _, ...row }) => row)).toEqual(before);
      const monthOf = (at: Date) => `audit_events_p${new Date(at).toISOString().slice(0, 7).replace('-', '')}`;
      // Five years back is older than any partition the migration makes: the default partition holds it until a cleanup.
      expect(after.map((r) => r.partition)).toEqual([monthOf(before[0]!.occurred_at), 'audit_events_default', monthOf(before[2]!.occurred_at)]);
      const [next] = await db.query<{ id: string }>(`INSERT INTO audit_events (occurred_at, type, outcome) VALUES (now(), 'logout', 'success') RETURNING id`);
      expect(BigInt(next!.id)).toBeGreaterThan(BigInt(before[2]!.id));
    } finally {
      await db.close();
      await storage.cleanup();
    }
  });
});
