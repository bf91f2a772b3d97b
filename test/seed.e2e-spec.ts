import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { childEnv, jsonOf, PRISMA_SEED_ENTRY, runCli, runNode } from './support/cli.js';
import { countRows, withSql } from './support/sql.js';
import { createTestStorage, type TestStorage } from './support/test-app.js';

const USERS = 10_000;
const SLOW = 120_000;
const SMALL_ORDER_KEY = '0100000000000000000000000000000000000000000000000000000000000000';

interface SeedUser {
  email: string;
  account: string;
  role: string;
  publicKeys: string[];
  wallets: string[];
  password: string | null;
  passwordExpiresAt: string | null;
}

/**
 * `count` users with one Ed25519 key each. The keys are derived from random seeds with node:crypto,
 * which gives exactly the key tweetnacl derives from the same seed (RFC 8032) in a sixtieth of the
 * time (tweetnacl manages about 200 key pairs a second here); a sample is checked against tweetnacl.
 */
function seedUsers(count: number, label: string): SeedUser[] {
  const users: SeedUser[] = [];
  for (let i = 0; i < count; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const publicKeyHex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    if (i < 25) {
      const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
      expect(Buffer.from(nacl.sign.keyPair.fromSeed(seed).publicKey).toString('hex')).toBe(publicKeyHex);
    }
    users.push({
      email: `${label}-${i}@load.test`,
      account: `${label}${i}@load`,
      role: 'ROLE_PEER',
      publicKeys: [publicKeyHex],
      wallets: [],
      password: null,
      passwordExpiresAt: null,
    });
  }
  return users;
}

describe('seeding', () => {
  let dir: string;
  const storages: TestStorage[] = [];
  const storage = async (label: string): Promise<TestStorage> => {
    const created = await createTestStorage(label);
    storages.push(created);
    return created;
  };
  const writeSeed = (name: string, users: SeedUser[]): string => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ users }));
    return file;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigauth-seed-'));
  });
  afterAll(async () => {
    for (const s of storages) await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  describe(`db seed --file with ${USERS} users`, () => {
    let db: TestStorage;
    let file: string;
    let users: SeedUser[];

    beforeAll(async () => {
      db = await storage('seed_bulk');
      users = seedUsers(USERS, 'bulk');
      file = writeSeed('bulk.json', users);
    }, SLOW);

    it(
      'creates every user with its key',
      async () => {
        const result = await runCli(['db', 'seed', '--file', file], childEnv(db.env));
        const out = jsonOf<{ created: number; updated: number; ms: number }>(result);
        console.log(`db seed of ${USERS} users with one key each: ${out.ms} ms (${db.backend})`);
        expect(out).toEqual({ created: USERS, updated: 0, sessionsEnded: 0, ms: expect.any(Number) });
        expect(result.stderr).toBe('');

        await expect(countRows(db, ['users', 'public_keys'])).resolves.toEqual({ users: USERS, public_keys: USERS });
        // Every user holds exactly the key the file gave it, active, with the file's account and role.
        const rows = await withSql(db, (q) =>
          q<{ email: string; account: string; role: string; public_key_hex: string; revoked_at: Date | null }>(
            `SELECT u.email, u.account, u.role::text, k.public_key_hex, k.revoked_at FROM users u JOIN public_keys k ON k.user_id = u.id`,
          ),
        );
        const expected = new Map(users.map((u) => [u.email, u]));
        expect(rows).toHaveLength(USERS);
        const wrong = rows.filter((row) => {
          const user = expected.get(row.email);
          return !user || row.account !== user.account || row.role !== 'ROLE_PEER' || row.public_key_hex !== user.publicKeys[0] || row.revoked_at !== null;
        });
        expect(wrong).toEqual([]);
        expect(new Set(rows.map((r) => r.email)).size).toBe(USERS);
      },
      SLOW,
    );

    it(
      'is idempotent: a second run updates every user and adds nothing',
      async () => {
        const before = await withSql(db, (q) => q<{ id: string; email: string }>(`SELECT id, email FROM users ORDER BY email`));
        const out = jsonOf<{ created: number; updated: number; ms: number }>(await runCli(['db', 'seed', '--file', file], childEnv(db.env)));
        console.log(`db seed again (all ${USERS} exist): ${out.ms} ms`);
        expect(out).toEqual({ created: 0, updated: USERS, sessionsEnded: 0, ms: expect.any(Number) });
        await expect(countRows(db, ['users', 'public_keys'])).resolves.toEqual({ users: USERS, public_keys: USERS });
        // Upserted in place: the same ids.
        await expect(withSql(db, (q) => q(`SELECT id, email FROM users ORDER BY email`))).resolves.toEqual(before);
      },
      SLOW,
    );
  });

  describe('npx prisma db seed (node dist/prisma/seed.js)', () => {
    it('seeds SEED_FILE=prisma/seed.example.json: the three example users with their roles and credentials, and neither an admin nor a password', async () => {
      const db = await storage('seed_prisma');
      const result = await runNode(PRISMA_SEED_ENTRY, [], childEnv(db.env, { SEED_FILE: 'prisma/seed.example.json' }));
      expect(jsonOf(result)).toEqual({ file: 'prisma/seed.example.json', created: 3, updated: 0, sessionsEnded: 0, ms: expect.any(Number) });

      const example = JSON.parse(readFileSync(join(process.cwd(), 'prisma', 'seed.example.json'), 'utf8')) as { users: SeedUser[] };
      expect(example.users).toHaveLength(3);
      const rows = await withSql(db, (q) =>
        q(
          `SELECT u.email, u.account, u.role::text, u.status::text,
                  u.password_hash IS NOT NULL AS has_password, u.password_expires_at,
                  COALESCE((SELECT array_agg(public_key_hex ORDER BY public_key_hex) FROM public_keys WHERE user_id = u.id), '{}') AS keys,
                  COALESCE((SELECT array_agg(address ORDER BY address) FROM wallets WHERE user_id = u.id), '{}') AS wallets
             FROM users u ORDER BY u.email`,
        ),
      );
      expect(rows).toEqual(
        example.users
          .map((u) => ({
            email: u.email.toLowerCase(),
            account: u.account,
            role: u.role,
            status: 'ACTIVE',
            has_password: u.password !== null,
            password_expires_at: u.passwordExpiresAt ? new Date(u.passwordExpiresAt) : null,
            keys: [...u.publicKeys].sort(),
            wallets: u.wallets.map((w) => w.toLowerCase()).sort(),
          }))
          .sort((a, b) => a.email.localeCompare(b.email)),
      );
      expect((rows as { role: string; has_password: boolean }[]).map((r) => [r.role, r.has_password]).sort()).toEqual([
        ['ROLE_PEER', false],
        ['ROLE_PEER', false],
        ['ROLE_SERVICE', false],
      ]);
    });
  });

  describe('db seed with no --file (the example file)', () => {
    it('creates no admin and no password: nothing it adds can be logged in with by someone who read the file', async () => {
      const db = await storage('seed_bare');
      expect(jsonOf(await runCli(['db', 'seed'], childEnv(db.env)))).toEqual({ created: 3, updated: 0, sessionsEnded: 0, ms: expect.any(Number) });
      await expect(
        withSql(db, (q) => q(`SELECT count(*)::int AS users, count(*) FILTER (WHERE role = 'ROLE_ADMIN')::int AS admins, count(password_hash)::int AS passwords FROM users`)),
      ).resolves.toEqual([{ users: 3, admins: 0, passwords: 0 }]);
    });
  });

  describe('a seed file with one bad user', () => {
    // The bad user comes after a whole batch of 1,000, so a seed that wrote batch by batch before
    // validating everything would leave rows behind.
    const badSeed = (): string => {
      const users = seedUsers(1500, 'bad');
      users.push({ ...users[0]!, email: 'small-order@load.test', publicKeys: [SMALL_ORDER_KEY] });
      return writeSeed('bad.json', users);
    };

    it('fails through prisma/seed.ts, non-zero and one error line, and writes nothing', async () => {
      const db = await storage('seed_bad_prisma');
      const result = await runNode(PRISMA_SEED_ENTRY, [], childEnv(db.env, { SEED_FILE: badSeed() }));
      expect({ status: result.status === 0 ? 0 : 'non-zero', stdout: result.stdout }).toEqual({ status: 'non-zero', stdout: '' });
      expect(result.stderr).toMatch(/^error: users\[1500\]: public key is of small order\n$/);
      await expect(countRows(db, ['users', 'public_keys', 'wallets'])).resolves.toEqual({ users: 0, public_keys: 0, wallets: 0 });
    });

    it('fails through db seed --file, non-zero and one error line, and writes nothing', async () => {
      const db = await storage('seed_bad_cli');
      const result = await runCli(['db', 'seed', '--file', badSeed()], childEnv(db.env));
      expect({ status: result.status === 0 ? 0 : 'non-zero', stdout: result.stdout }).toEqual({ status: 'non-zero', stdout: '' });
      expect(result.stderr).toMatch(/^error: users\[1500\]: public key is of small order\n$/);
      await expect(countRows(db, ['users', 'public_keys', 'wallets'])).resolves.toEqual({ users: 0, public_keys: 0, wallets: 0 });
    });
  });
});
