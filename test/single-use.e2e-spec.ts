import { randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import type { Response } from 'supertest';
import { SingleUseStore } from '../src/auth/single-use.repository.js';
import { openDatabase } from '../src/database/database-connection.js';
import { MigrationRunner, readMigrations } from '../src/database/migration-runner.js';
import { migrationsDir } from '../src/database/migrations-dir.js';
import { UsersService } from '../src/users/users.service.js';
import { testBackend } from './support/database.js';
import { irohaDigest, newClientKey, signDigest, type ClientKey } from './support/fib-client.js';
import { describeOnPostgres } from './support/postgres.js';
import { withSql } from './support/sql.js';
import { createTestStorage, startTestApp, testConfig, type TestApp, type TestStorage } from './support/test-app.js';
import { siweText } from './support/wallet-client.js';

const FIB = '/auth/api/v1/authentication-management';
const DOMAIN = 'app.example.com';
const SIWE_ENV = { SIWE_DOMAINS: DOMAIN, SIWE_URIS: `https://${DOMAIN}` };
const statuses = (results: Response[]) => results.map((r) => r.status).sort((a, b) => a - b);

/** Every nonce, replay record and jti lives in one table, and one row decides a race between instances. */
describeOnPostgres('single-use records across two instances', () => {
  let storage: TestStorage;
  let instances: [TestApp, TestApp];
  let key: ClientKey;
  let wallet: Wallet;
  const email = 'twice@example.org';

  beforeAll(async () => {
    storage = await createTestStorage('single_use_two');
    const env = { ...storage.env, ...SIWE_ENV };
    instances = [await startTestApp(env), await startTestApp(env)];
    key = newClientKey();
    wallet = Wallet.createRandom() as unknown as Wallet;
    await instances[0].app.get(UsersService).create({ email, account: 'twice', publicKeys: [key.publicKeyHex], wallets: [wallet.address] });
  });
  afterAll(async () => {
    for (const app of instances ?? []) await app.close().catch(() => undefined);
    await storage?.cleanup();
  });

  it('a FIB challenge issued by one instance logs in once, whichever instances race to spend it', async () => {
    const issued = await instances[0].http().post(`${FIB}/challenge`).send({ email });
    expect(issued.status).toBe(200);
    const nonce = issued.body.data.nonce as string;
    const body = { email, signature: signDigest(key, irohaDigest(`${nonce}:${email}`)), authPublicKeyHex: key.publicKeyHex, nonce };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => instances[i % 2]!.http().post(`${FIB}/session`).send(body)));
    expect(statuses(results)).toEqual([200, ...Array(9).fill(401)]);
    for (const res of results.filter((r) => r.status === 401)) expect(res.body.status.name).toBe('InvalidChallenge');
  });

  it('a SIWE nonce issued by one instance is spent once across both', async () => {
    const issued = await instances[1].http().post('/api/auth/siwe/nonce');
    expect(issued.status).toBe(200);
    const message = siweText({ domain: DOMAIN, address: wallet.address, uri: `https://${DOMAIN}/login`, chainId: 1, nonce: issued.body.data.nonce as string, issuedAt: new Date().toISOString() });
    const body = { message, signature: await wallet.signMessage(message) };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => instances[i % 2]!.http().post('/api/auth/siwe/login').send(body)));
    expect(statuses(results)).toEqual([200, ...Array(9).fill(401)]);
    for (const res of results.filter((r) => r.status === 401)) expect(res.body.status.name).toBe('InvalidNonce');
  });

  it('a signed wallet timestamp replayed at the other instance: SignatureReplayed', async () => {
    const timestampInMs = Date.now() - 777;
    const body = { signer: wallet.address, timestampInMs, signature: await wallet.signMessage(String(timestampInMs)) };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => instances[i % 2]!.http().post('/api/auth/login').send(body)));
    expect(statuses(results)).toEqual([200, ...Array(9).fill(401)]);
    for (const res of results.filter((r) => r.status === 401)) expect(res.body.status.name).toBe('SignatureReplayed');
    // Kept a whole window past its own window, for an instance whose clock is behind.
    const [row] = await withSql(storage, (query) => query<{ expires_at: Date }>("SELECT expires_at FROM single_use_records WHERE kind = 'wallet-login' AND key = $1", [`${wallet.address.toLowerCase()}:${timestampInMs}`]));
    expect(row!.expires_at.getTime()).toBe(timestampInMs + 10 * 60_000);
  });

  it('a client-chosen jti claimed on both instances at once: one claim wins; once its time is over it may be claimed again', async () => {
    const stores = instances.map((i) => i.app.get(SingleUseStore));
    const jti = `jkt:${randomUUID()}`;
    const now = new Date();
    const expiresAt = new Date(now.getTime() + 60_000);
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => stores[i % 2]!.claim('dpop-proof', jti, expiresAt, now)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const later = new Date(expiresAt.getTime() + 1);
    await expect(stores[1]!.claim('dpop-proof', jti, new Date(later.getTime() + 60_000), later)).resolves.toBe(true);
    await expect(stores[0]!.claim('dpop-proof', jti, new Date(later.getTime() + 60_000), later)).resolves.toBe(false);
  });

  it('an issued nonce is spent only for what it was issued for, only before it expires, and only once', async () => {
    const [a, b] = instances.map((i) => i.app.get(SingleUseStore));
    const now = new Date();
    const expiresAt = new Date(now.getTime() + 60_000);
    const nonce = randomUUID();
    await a!.issue('fib-challenge', nonce, expiresAt, now, 'alice@example.org');
    await expect(b!.consume('fib-challenge', nonce, now, 'mallory@example.org')).resolves.toBe(false);
    await expect(b!.consume('fib-challenge', nonce, now)).resolves.toBe(false);
    await expect(b!.consume('siwe-nonce', nonce, now, 'alice@example.org')).resolves.toBe(false);
    await expect(b!.consume('fib-challenge', nonce, expiresAt, 'alice@example.org')).resolves.toBe(false);
    await expect(b!.consume('fib-challenge', nonce, now, 'alice@example.org')).resolves.toBe(true);
    await expect(a!.consume('fib-challenge', nonce, now, 'alice@example.org')).resolves.toBe(false);
  });
});

// The migration runs on the run's backend and, whatever that is, on embedded PGlite too.
const BACKENDS = [...new Set([testBackend(), 'pglite' as const])];

describe.each(BACKENDS)('the single_use_records migration (%s)', (backend) => {
  it('carries the live nonces, replay records and jtis over from the four tables it replaces, and drops them', async () => {
    const storage = await createTestStorage(`single_use_migration_${backend}`, backend);
    const db = await openDatabase(testConfig(storage.env), 'cli');
    try {
      const all = readMigrations(migrationsDir());
      await new MigrationRunner(db, all.slice(0, all.findIndex((m) => m.name.endsWith('_single_use_records')))).migrate();
      await db.exec(`
        INSERT INTO login_challenges (nonce, email, expires_at, used_at) VALUES
          ('c-live', 'alice@example.org', now() + interval '30 seconds', NULL),
          ('c-used', 'alice@example.org', now() + interval '30 seconds', now()),
          ('c-expired', 'alice@example.org', now() - interval '1 second', NULL);
        INSERT INTO siwe_nonces (nonce, expires_at, used_at) VALUES
          ('s-live', now() + interval '4 minutes', NULL),
          ('s-used', now() + interval '4 minutes', now()),
          ('s-expired', now() - interval '1 second', NULL);
        INSERT INTO wallet_login_replays (address, timestamp_ms, expires_at) VALUES
          ('0xaa', 1764000000001, now() + interval '2 minutes'),
          ('0xaa', 1764000000002, now() - interval '2 minutes'),
          ('0xaa', 1764000000003, now() - interval '6 minutes');
        INSERT INTO one_time_ids (scope, id, expires_at) VALUES
          ('dpop-proof', 'jkt:live', now() + interval '1 minute'),
          ('client-assertion', 'user:live', now() + interval '1 hour'),
          ('dpop-proof', 'jkt:expired', now() - interval '1 second');`);
      const old = await db.query<{ key: string; expires_at: Date }>(
        `SELECT nonce AS key, expires_at FROM login_challenges UNION ALL SELECT nonce, expires_at FROM siwe_nonces
          UNION ALL SELECT address || ':' || timestamp_ms, expires_at FROM wallet_login_replays UNION ALL SELECT id, expires_at FROM one_time_ids`,
      );
      const expiryOf = (key: string) => new Date(old.find((r) => r.key === key)!.expires_at);

      await new MigrationRunner(db, all).migrate();

      const rows = await db.query<{ kind: string; key: string; bound_to: string | null; expires_at: Date }>('SELECT kind, key, bound_to, expires_at FROM single_use_records ORDER BY kind, key');
      expect(rows).toEqual([
        { kind: 'client-assertion', key: 'user:live', bound_to: null, expires_at: expiryOf('user:live') },
        { kind: 'dpop-proof', key: 'jkt:live', bound_to: null, expires_at: expiryOf('jkt:live') },
        { kind: 'fib-challenge', key: 'c-live', bound_to: 'alice@example.org', expires_at: expiryOf('c-live') },
        { kind: 'siwe-nonce', key: 's-live', bound_to: null, expires_at: expiryOf('s-live') },
        // A wallet's record was kept a window (5 minutes) past its expiry: that later time is the new row's.
        { kind: 'wallet-login', key: '0xaa:1764000000001', bound_to: null, expires_at: new Date(expiryOf('0xaa:1764000000001').getTime() + 300_000) },
        { kind: 'wallet-login', key: '0xaa:1764000000002', bound_to: null, expires_at: new Date(expiryOf('0xaa:1764000000002').getTime() + 300_000) },
      ]);
      const left = await db.query<{ name: string }>(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname IN ('login_challenges', 'siwe_nonces', 'wallet_login_replays', 'one_time_ids')",
      );
      expect(left).toEqual([]);
    } finally {
      await db.close();
      await storage.cleanup();
    }
  });
});
