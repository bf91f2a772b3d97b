import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CredentialKind, Prisma, PrismaClient, Role, UserStatus } from '../src/generated/prisma/client.js';
import { openDatabase, type DatabaseConnection } from '../src/database/database-connection.js';
import { MigrationError, MigrationRunner, readMigrations, type MigrationFile } from '../src/database/migration-runner.js';
import { migrationsDir } from '../src/database/migrations-dir.js';
import { createTestStorage, testConfig, type TestStorage } from './support/test-app.js';

const ROOT = process.cwd();
const SCHEMA = readFileSync(join(ROOT, 'prisma', 'schema.prisma'), 'utf8');
const MIGRATIONS_DIR = join(ROOT, 'prisma', 'migrations');
/** The migration folders on disk and the SHA-256 of each migration.sql, computed here, not by the runner. */
const ON_DISK = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort()
  .map((name) => ({ name, checksum: createHash('sha256').update(readFileSync(join(MIGRATIONS_DIR, name, 'migration.sql'))).digest('hex') }));
const NAMES = ON_DISK.map((m) => m.name);

/** Each model of schema.prisma with the table it maps to. */
const MODELS = [...SCHEMA.matchAll(/^model (\w+) \{([^}]*)\}/gm)].map(([, name, body]) => ({
  name: name!,
  table: /@@map\("([^"]+)"\)/.exec(body!)?.[1] ?? name!,
}));

const FIB_PUBLIC_KEY = '7fbedb314a9b0c00caef967ac5cabb982ec45da828a0c58a9aafc854f32422ac';
const OTHER_PUBLIC_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const WALLET = '0x52908400098527886e0f7030069857d2e4169ee7';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Expects a Prisma known-request error with this code (P2002 unique violation, P2003 foreign key). */
async function expectPrismaError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
  expect((error as Prisma.PrismaClientKnownRequestError).code).toBe(code);
}

/** Dates are stored to the millisecond (timestamptz(3)); a fixed value reads back exactly. */
const at = (iso: string): Date => new Date(iso);
const near = (date: Date, before: number): boolean => date.getTime() >= before - 5000 && date.getTime() <= Date.now() + 5000;

describe('migrations and the generated Prisma client', () => {
  const storages: TestStorage[] = [];
  const connections: DatabaseConnection[] = [];
  let storage: TestStorage;
  let db: DatabaseConnection;
  let migrations: MigrationFile[];
  let firstRun: string[];

  const connect = async (s: TestStorage): Promise<DatabaseConnection> => {
    const connection = await openDatabase(testConfig(s.env), 'server');
    connections.push(connection);
    return connection;
  };
  const migrationRows = (connection: DatabaseConnection) =>
    connection.query<{ id: string; migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; logs: string | null }>(
      `SELECT id, migration_name, checksum, finished_at, rolled_back_at, logs FROM "_prisma_migrations" ORDER BY migration_name`,
    );

  beforeAll(async () => {
    storage = await createTestStorage('prisma_client');
    storages.push(storage);
    db = await connect(storage);
    migrations = readMigrations(migrationsDir());
    firstRun = await new MigrationRunner(db, migrations).migrate();
  });
  afterAll(async () => {
    for (const c of connections) await c.close().catch(() => undefined);
    for (const s of storages) await s.cleanup();
  });

  describe('MigrationRunner', () => {
    it('reads every migration folder, in order, with the SHA-256 of its migration.sql', () => {
      expect(NAMES.length).toBeGreaterThan(0);
      expect(migrationsDir()).toBe(MIGRATIONS_DIR);
      expect(migrations.map(({ name, checksum }) => ({ name, checksum }))).toEqual(ON_DISK);
    });

    it('applies them all on a fresh database and records each in _prisma_migrations as Prisma would', async () => {
      expect(firstRun).toEqual(NAMES);
      const rows = await migrationRows(db);
      expect(rows).toEqual(
        ON_DISK.map(({ name, checksum }) => ({
          id: expect.stringMatching(UUID),
          migration_name: name,
          checksum,
          finished_at: expect.any(Date),
          rolled_back_at: null,
          logs: null,
        })),
      );
    });

    it('applies nothing the second time, from the same runner or a new one', async () => {
      const before = await migrationRows(db);
      await expect(new MigrationRunner(db, migrations).migrate()).resolves.toEqual([]);
      // PGlite's files belong to one connection: there, the second runner shares it.
      const second = storage.backend === 'pglite' ? db : await connect(storage);
      await expect(new MigrationRunner(second, readMigrations(migrationsDir())).migrate()).resolves.toEqual([]);
      await expect(migrationRows(db)).resolves.toEqual(before);
      await expect(new MigrationRunner(db, migrations).status()).resolves.toEqual({ applied: NAMES, pending: [] });
    });

    it('refuses a migration whose file changed after it was applied', async () => {
      const before = await migrationRows(db);
      const edited = migrations.map((m, i) =>
        i === 0 ? { ...m, sql: `${m.sql}\n-- edited`, checksum: createHash('sha256').update(`${m.sql}\n-- edited`).digest('hex') } : m,
      );
      const attempt = new MigrationRunner(db, edited).migrate();
      await expect(attempt).rejects.toBeInstanceOf(MigrationError);
      await expect(attempt).rejects.toThrow(new RegExp(`${NAMES[0]}.*checksum`));
      await expect(migrationRows(db)).resolves.toEqual(before);
    });

    it('rolls back a migration that fails and records nothing for it', async () => {
      const broken: MigrationFile = {
        name: '29991231000000_broken',
        sql: 'CREATE TABLE "broken_probe" (id INT);\nSELECT * FROM "no_such_table";',
        checksum: 'f'.repeat(64),
      };
      await expect(new MigrationRunner(db, [...migrations, broken]).migrate()).rejects.toThrow(/migration 29991231000000_broken failed: .*no_such_table/);
      await expect(db.query(`SELECT to_regclass('"broken_probe"')::text AS t`)).resolves.toEqual([{ t: null }]);
      expect((await migrationRows(db)).map((r) => r.migration_name)).toEqual(NAMES);
      await expect(new MigrationRunner(db, [...migrations, broken]).status()).resolves.toEqual({ applied: NAMES, pending: [broken.name] });
    });

    it('lets two runners racing on one fresh database both succeed, applying each migration once', async () => {
      if (storage.backend === 'pglite') {
        console.warn('skipped: racing runners need PostgreSQL (PGlite serves one process, one runner)');
        return;
      }
      const fresh = await createTestStorage('prisma_race');
      storages.push(fresh);
      const [a, b] = [await connect(fresh), await connect(fresh)];
      const results = await Promise.all([new MigrationRunner(a, migrations).migrate(), new MigrationRunner(b, migrations).migrate()]);
      // The advisory lock makes them take turns: one applies everything, the other finds nothing left.
      expect(results.flat().sort()).toEqual(NAMES);
      expect(results.map((r) => r.length).sort()).toEqual([0, NAMES.length]);
      expect((await migrationRows(a)).map((r) => r.migration_name)).toEqual(NAMES);
    });
  });

  describe('the generated client against the migrated database', () => {
    let prisma: PrismaClient;

    beforeAll(() => {
      prisma = new PrismaClient({ adapter: db.adapter });
    });
    afterAll(async () => {
      await prisma?.$disconnect();
    });

    it('the migrations create exactly the tables of schema.prisma, and this file covers every model', async () => {
      const covered = ['User', 'PublicKey', 'Wallet', 'SigningKey', 'Session', 'RefreshToken', 'SingleUseRecord', 'AuditEvent', 'ChainCursor', 'ChainRegistration'];
      expect(MODELS.map((m) => m.name).sort()).toEqual(covered.sort());
      // The audit log's monthly partitions are tables of their own, but not models: partitions are left out.
      const tables = await db.query<{ table_name: string }>(
        `SELECT c.relname AS table_name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
      );
      expect(tables.map((t) => t.table_name)).toEqual([...MODELS.map((m) => m.table), '_prisma_migrations'].sort());
    });

    it('User: create with defaults and with every column, read, update, delete; email is unique', async () => {
      const started = Date.now();
      const minimal = await prisma.user.create({ data: { email: 'minimal@example.org', account: 'minimal@example' } });
      expect(minimal).toEqual({
        id: expect.stringMatching(UUID),
        email: 'minimal@example.org',
        account: 'minimal@example',
        role: Role.ROLE_PEER,
        status: UserStatus.ACTIVE,
        passwordHash: null,
        passwordId: null,
        passwordExpiresAt: null,
        createdAt: expect.any(Date),
        updatedAt: expect.any(Date),
      });
      expect(near(minimal.createdAt, started)).toBe(true);

      const id = randomUUID();
      const full = {
        id,
        email: 'full@example.org',
        account: 'full@services',
        role: Role.ROLE_SERVICE,
        status: UserStatus.DISABLED,
        passwordHash: '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
        passwordId: randomUUID(),
        passwordExpiresAt: at('2027-06-01T12:34:56.789Z'),
        createdAt: at('2026-01-02T03:04:05.006Z'),
        updatedAt: at('2026-01-02T03:04:05.006Z'),
      };
      await prisma.user.create({ data: full });
      const read = await prisma.user.findUniqueOrThrow({ where: { email: 'full@example.org' }, include: { publicKeys: true, wallets: true, sessions: true } });
      expect(read).toEqual({ ...full, updatedAt: expect.any(Date), publicKeys: [], wallets: [], sessions: [] });
      // Raw SQL sees the same row under the migration's column names.
      await expect(
        db.query(`SELECT email, account, role::text, status::text, password_hash, password_id, password_expires_at FROM users WHERE id = $1`, [id]),
      ).resolves.toEqual([
        { email: full.email, account: full.account, role: 'ROLE_SERVICE', status: 'DISABLED', password_hash: full.passwordHash, password_id: full.passwordId, password_expires_at: full.passwordExpiresAt },
      ]);

      const updated = await prisma.user.update({
        where: { id },
        data: { account: 'renamed@services', role: Role.ROLE_ADMIN, status: UserStatus.ACTIVE, passwordHash: null, passwordExpiresAt: null },
      });
      expect(updated).toMatchObject({ account: 'renamed@services', role: 'ROLE_ADMIN', status: 'ACTIVE', passwordHash: null, passwordExpiresAt: null });
      expect(updated.updatedAt.getTime()).toBeGreaterThan(read.updatedAt.getTime());
      expect(updated.createdAt).toEqual(full.createdAt);

      const duplicate = prisma.user.create({ data: { email: 'full@example.org', account: 'someone-else' } });
      await expect(duplicate).rejects.toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
      await expectPrismaError(duplicate, 'P2002');

      await prisma.user.delete({ where: { id } });
      await prisma.user.delete({ where: { id: minimal.id } });
      await expect(prisma.user.findUnique({ where: { id } })).resolves.toBeNull();
      await expect(prisma.user.count()).resolves.toBe(0);
    });

    it('PublicKey: create, read with its user, revoke, delete; one active row per (user, key); user must exist', async () => {
      const user = await prisma.user.create({ data: { email: 'keys@example.org', account: 'keys@example' } });
      const started = Date.now();
      const key = await prisma.publicKey.create({ data: { userId: user.id, publicKeyHex: FIB_PUBLIC_KEY } });
      expect(key).toEqual({ id: expect.stringMatching(UUID), userId: user.id, publicKeyHex: FIB_PUBLIC_KEY, createdAt: expect.any(Date), revokedAt: null });
      expect(near(key.createdAt, started)).toBe(true);

      const read = await prisma.publicKey.findUniqueOrThrow({ where: { id: key.id }, include: { user: true } });
      expect(read).toEqual({ ...key, user });
      await expect(prisma.user.findUniqueOrThrow({ where: { id: user.id }, include: { publicKeys: true } })).resolves.toMatchObject({ publicKeys: [key] });

      // public_keys_active_key (a partial index in the migration only): one active row per (user, key).
      await expectPrismaError(prisma.publicKey.create({ data: { userId: user.id, publicKeyHex: FIB_PUBLIC_KEY } }), 'P2002');
      await expectPrismaError(prisma.publicKey.create({ data: { userId: randomUUID(), publicKeyHex: OTHER_PUBLIC_KEY } }), 'P2003');

      const revokedAt = at('2026-11-22T10:00:00.123Z');
      await expect(prisma.publicKey.update({ where: { id: key.id }, data: { revokedAt } })).resolves.toEqual({ ...key, revokedAt });
      await expect(prisma.publicKey.findMany({ where: { publicKeyHex: FIB_PUBLIC_KEY, revokedAt: null } })).resolves.toEqual([]);
      // A revoked key may be added again, as a new row.
      const again = await prisma.publicKey.create({ data: { userId: user.id, publicKeyHex: FIB_PUBLIC_KEY } });
      expect(again.id).not.toBe(key.id);

      await prisma.publicKey.deleteMany({ where: { userId: user.id } });
      await expect(prisma.publicKey.count()).resolves.toBe(0);
      await prisma.user.delete({ where: { id: user.id } });
    });

    it('Wallet: create, read with its user, revoke, delete; an address is active for one user at a time', async () => {
      const [owner, other] = await Promise.all([
        prisma.user.create({ data: { email: 'wallet-owner@example.org', account: 'owner' } }),
        prisma.user.create({ data: { email: 'wallet-other@example.org', account: 'other' } }),
      ]);
      const wallet = await prisma.wallet.create({ data: { userId: owner.id, address: WALLET } });
      expect(wallet).toEqual({ id: expect.stringMatching(UUID), userId: owner.id, address: WALLET, kind: 'EOA', createdAt: expect.any(Date), revokedAt: null });
      await expect(prisma.wallet.findUniqueOrThrow({ where: { id: wallet.id }, include: { user: true } })).resolves.toEqual({
        ...wallet,
        user: owner,
      });

      await expectPrismaError(prisma.wallet.create({ data: { userId: owner.id, address: WALLET } }), 'P2002');
      // wallets_active_address_key (a partial index in the migration only): one active holder per address.
      await expectPrismaError(prisma.wallet.create({ data: { userId: other.id, address: WALLET } }), 'P2002');

      const revokedAt = at('2026-11-22T11:00:00.000Z');
      await expect(prisma.wallet.update({ where: { id: wallet.id }, data: { revokedAt } })).resolves.toEqual({ ...wallet, revokedAt });
      const moved = await prisma.wallet.create({ data: { userId: other.id, address: WALLET } });
      await expect(prisma.wallet.findMany({ where: { address: WALLET }, orderBy: { createdAt: 'asc' } })).resolves.toEqual([{ ...wallet, revokedAt }, moved]);

      await prisma.wallet.deleteMany({ where: { address: WALLET } });
      await expect(prisma.wallet.count()).resolves.toBe(0);
      await prisma.user.deleteMany({ where: { id: { in: [owner.id, other.id] } } });
    });

    it('SigningKey: create with defaults and with every column, read, retire, delete', async () => {
      const started = Date.now();
      const plain = await prisma.signingKey.create({ data: { kid: 'kid-plain', publicKeyHex: FIB_PUBLIC_KEY, privateKey: 'MC4CAQAwBQYDK2VwBCIEIA' } });
      expect(plain).toEqual({ kid: 'kid-plain', publicKeyHex: FIB_PUBLIC_KEY, privateKey: 'MC4CAQAwBQYDK2VwBCIEIA', encrypted: false, createdAt: expect.any(Date), retiredAt: null, revokedAt: null });
      expect(near(plain.createdAt, started)).toBe(true);

      const sealed = { kid: 'kid-sealed', publicKeyHex: OTHER_PUBLIC_KEY, privateKey: 'iv.ciphertext.tag', encrypted: true, createdAt: at('2026-01-01T00:00:00.001Z'), retiredAt: null, revokedAt: at('2026-01-01T00:00:01.000Z') };
      await prisma.signingKey.create({ data: sealed });
      await expect(prisma.signingKey.findUniqueOrThrow({ where: { kid: 'kid-sealed' } })).resolves.toEqual(sealed);
      await expect(prisma.signingKey.findMany({ orderBy: { createdAt: 'asc' }, select: { kid: true } })).resolves.toEqual([{ kid: 'kid-sealed' }, { kid: 'kid-plain' }]);

      const retiredAt = at('2026-11-22T12:00:00.500Z');
      await expect(prisma.signingKey.update({ where: { kid: 'kid-sealed' }, data: { retiredAt } })).resolves.toEqual({ ...sealed, retiredAt });
      await expect(prisma.signingKey.findMany({ where: { retiredAt: null }, select: { kid: true } })).resolves.toEqual([{ kid: 'kid-plain' }]);
      await expectPrismaError(prisma.signingKey.create({ data: { kid: 'kid-plain', publicKeyHex: FIB_PUBLIC_KEY, privateKey: 'x' } }), 'P2002');

      await prisma.signingKey.deleteMany({ where: { kid: { in: ['kid-plain', 'kid-sealed'] } } });
      await expect(prisma.signingKey.count()).resolves.toBe(0);
    });

    it('Session and RefreshToken: every column, every credential kind, the token chain, revocation, delete', async () => {
      const user = await prisma.user.create({ data: { email: 'sessions@example.org', account: 'sessions', publicKeys: { create: { publicKeyHex: FIB_PUBLIC_KEY } } }, include: { publicKeys: true } });
      const keyId = user.publicKeys[0]!.id;
      const expiresAt = at('2026-11-23T12:00:00.000Z');
      const started = Date.now();

      const session = await prisma.session.create({
        data: { userId: user.id, clientId: 'fib', credentialKind: CredentialKind.ED25519_KEY, credentialId: keyId, ip: '203.0.113.7', userAgent: 'fib-client/1.0', expiresAt },
      });
      expect(session).toEqual({
        id: expect.stringMatching(UUID),
        userId: user.id,
        clientId: 'fib',
        credentialKind: 'ED25519_KEY',
        credentialId: keyId,
        ip: '203.0.113.7',
        userAgent: 'fib-client/1.0',
        createdAt: expect.any(Date),
        lastUsedAt: expect.any(Date),
        expiresAt,
        revokedAt: null,
        revokedReason: null,
        dpopJkt: null,
      });
      expect(near(session.createdAt, started) && near(session.lastUsedAt, started)).toBe(true);
      const bare = await prisma.session.create({ data: { userId: user.id, clientId: 'service', credentialKind: CredentialKind.PASSWORD, expiresAt } });
      expect(bare).toMatchObject({ clientId: 'service', credentialKind: 'PASSWORD', credentialId: null, ip: null, userAgent: null });

      const first = await prisma.refreshToken.create({ data: { jti: randomUUID(), sessionId: session.id, expiresAt } });
      const issuedWith = { accessJti: null, accessExpiresAt: null, kid: null, claims: null };
      expect(first).toEqual({ jti: first.jti, sessionId: session.id, parentJti: null, issuedAt: expect.any(Date), expiresAt, rotatedAt: null, ...issuedWith });
      expect(near(first.issuedAt, started)).toBe(true);
      const rotatedAt = at('2026-11-22T13:00:00.250Z');
      await expect(prisma.refreshToken.update({ where: { jti: first.jti }, data: { rotatedAt } })).resolves.toEqual({ ...first, rotatedAt });
      const second = {
        jti: randomUUID(),
        sessionId: session.id,
        parentJti: first.jti,
        issuedAt: new Date(first.issuedAt.getTime() + 1000),
        expiresAt,
        rotatedAt: null,
        accessJti: randomUUID(),
        accessExpiresAt: at('2026-11-22T13:05:00.000Z'),
        kid: 'kid-1',
        claims: { acc: 'sessions', sub: 'sessions@example.org', role: 'ROLE_PEER' },
      };
      await prisma.refreshToken.create({ data: second });
      await expect(prisma.refreshToken.findUniqueOrThrow({ where: { parentJti: first.jti }, include: { session: true } })).resolves.toEqual({ ...second, session });
      await expectPrismaError(prisma.refreshToken.create({ data: { ...second } }), 'P2002');
      // A parent has one child at most: a second child of `first` is refused.
      await expectPrismaError(prisma.refreshToken.create({ data: { ...second, jti: randomUUID() } }), 'P2002');
      await expectPrismaError(prisma.refreshToken.create({ data: { jti: randomUUID(), sessionId: randomUUID(), expiresAt } }), 'P2003');

      const read = await prisma.session.findUniqueOrThrow({ where: { id: session.id }, include: { user: true, refreshTokens: { orderBy: { issuedAt: 'asc' } } } });
      expect(read.user.email).toBe('sessions@example.org');
      expect(read.refreshTokens.map((t) => t.jti)).toEqual([first.jti, second.jti]);

      const revoked = await prisma.session.update({
        where: { id: session.id },
        data: { credentialKind: CredentialKind.WALLET, lastUsedAt: rotatedAt, revokedAt: rotatedAt, revokedReason: 'key revoked' },
      });
      expect(revoked).toEqual({ ...session, credentialKind: 'WALLET', lastUsedAt: rotatedAt, revokedAt: rotatedAt, revokedReason: 'key revoked' });
      await expect(prisma.session.findMany({ where: { userId: user.id, revokedAt: null }, select: { id: true } })).resolves.toEqual([{ id: bare.id }]);

      await prisma.refreshToken.delete({ where: { jti: second.jti } });
      await expect(prisma.refreshToken.findMany({ select: { jti: true } })).resolves.toEqual([{ jti: first.jti }]);
      // Deleting a session takes its refresh tokens with it.
      await prisma.session.delete({ where: { id: session.id } });
      await expect(prisma.refreshToken.count()).resolves.toBe(0);
      await prisma.user.delete({ where: { id: user.id } });
      await expect(prisma.session.count()).resolves.toBe(0);
    });

    it('SingleUseRecord: issue with and without a binding, read by its compound key, spend once, purge by expiry; each (kind, key) once', async () => {
      const started = Date.now();
      const key = { kind: 'wallet-login', key: `${WALLET}:1764000000123` };
      const bare = await prisma.singleUseRecord.create({ data: { ...key, expiresAt: at('2026-11-22T14:00:00.000Z') } });
      expect(bare).toEqual({ ...key, boundTo: null, expiresAt: at('2026-11-22T14:00:00.000Z'), createdAt: expect.any(Date) });
      expect(near(bare.createdAt, started)).toBe(true);
      await expect(prisma.singleUseRecord.findUniqueOrThrow({ where: { kind_key: key } })).resolves.toEqual(bare);
      await expectPrismaError(prisma.singleUseRecord.create({ data: { ...key, expiresAt: at('2026-11-22T15:00:00.000Z') } }), 'P2002');
      // The same key under another kind is another record.
      const challenge = { kind: 'fib-challenge', key: key.key, boundTo: 'alice@wonderland.space', expiresAt: at('2026-11-22T15:00:00.000Z'), createdAt: at('2026-11-22T14:59:00.000Z') };
      await expect(prisma.singleUseRecord.create({ data: challenge })).resolves.toEqual(challenge);

      const later = at('2026-11-22T16:00:00.000Z');
      await expect(prisma.singleUseRecord.update({ where: { kind_key: key }, data: { expiresAt: later } })).resolves.toEqual({ ...bare, expiresAt: later });
      // Spending an issued nonce is a conditional delete: only the first of two attempts removes a row, and only for its binding.
      const spend = (boundTo: string) => prisma.singleUseRecord.deleteMany({ where: { kind: 'fib-challenge', key: key.key, boundTo } });
      await expect(spend('someone@else')).resolves.toEqual({ count: 0 });
      await expect(spend(challenge.boundTo)).resolves.toEqual({ count: 1 });
      await expect(spend(challenge.boundTo)).resolves.toEqual({ count: 0 });

      await prisma.singleUseRecord.create({ data: { kind: 'dpop-proof', key: 'jkt:jti', expiresAt: at('2026-11-22T15:30:00.000Z') } });
      await expect(prisma.singleUseRecord.deleteMany({ where: { expiresAt: { lt: later } } })).resolves.toEqual({ count: 1 });
      await expect(prisma.singleUseRecord.findMany()).resolves.toEqual([{ ...bare, expiresAt: later }]);
      await prisma.singleUseRecord.delete({ where: { kind_key: key } });
      await expect(prisma.singleUseRecord.count()).resolves.toBe(0);
    });

    it('AuditEvent: create with every column (bigint id, JSON details) and with only the required ones, read, update, delete', async () => {
      const userId = randomUUID();
      const sessionId = randomUUID();
      const full = {
        occurredAt: at('2026-11-22T09:00:00.042Z'),
        type: 'login',
        outcome: 'failure',
        reason: 'BAD_SIGNATURE',
        userId,
        principal: 'alice@wonderland.space',
        sessionId,
        ip: '2001:db8::1',
        userAgent: 'fib-client/1.0',
        requestId: 'req-123',
        details: { api: 'fib', attempts: 2, nested: { ok: false }, list: [1, 'two', null] },
      };
      const first = await prisma.auditEvent.create({ data: full });
      expect(first).toEqual({ id: expect.any(BigInt), ...full });
      const bare = await prisma.auditEvent.create({ data: { occurredAt: at('2026-11-22T09:00:01.000Z'), type: 'logout', outcome: 'success' } });
      expect(bare).toEqual({
        id: first.id + 1n,
        occurredAt: at('2026-11-22T09:00:01.000Z'),
        type: 'logout',
        outcome: 'success',
        reason: null,
        userId: null,
        principal: null,
        sessionId: null,
        ip: null,
        userAgent: null,
        requestId: null,
        details: null,
      });

      await expect(prisma.auditEvent.findUniqueOrThrow({ where: { id_occurredAt: { id: first.id, occurredAt: first.occurredAt } } })).resolves.toEqual(first);
      await expect(
        prisma.auditEvent.findMany({ where: { userId, occurredAt: { gte: at('2026-11-22T00:00:00.000Z') } }, select: { type: true } }),
      ).resolves.toEqual([{ type: 'login' }]);
      await expect(prisma.auditEvent.update({ where: { id_occurredAt: { id: bare.id, occurredAt: bare.occurredAt } }, data: { reason: 'user asked', details: { by: 'cli' } } })).resolves.toEqual({
        ...bare,
        reason: 'user asked',
        details: { by: 'cli' },
      });
      await expect(prisma.auditEvent.deleteMany({ where: { id: { in: [first.id, bare.id] } } })).resolves.toEqual({ count: 2 });
      await expect(prisma.auditEvent.count()).resolves.toBe(0);
    });

    it('User without an email (registered by the Factory): many may have none; session_principals gives the account as subject', async () => {
      const [a, b] = [await prisma.user.create({ data: { account: '0xAbC0000000000000000000000000000000000001', wallets: { create: { address: '0xabc0000000000000000000000000000000000001' } } } }), await prisma.user.create({ data: { account: 'b' } })];
      expect(a.email).toBeNull();
      expect(b.email).toBeNull();
      await expect(db.query(`SELECT subject, email FROM session_principals WHERE user_id = $1`, [a.id])).resolves.toEqual([{ subject: '0xAbC0000000000000000000000000000000000001', email: null }]);
      await prisma.user.deleteMany({ where: { id: { in: [a.id, b.id] } } });
    });

    it('ChainCursor: create, read by its compound key (bigint), move, delete; one per chain, Factory and event', async () => {
      const key = { chainId: 31337n, factoryAddress: '0xe78a0f7e598cc8b0bb87894b0f60dd2a88d6a8ab', eventTopic: '0x' + 'ab'.repeat(32) };
      const cursor = { ...key, blockNumber: 12n, blockHash: '0x' + '01'.repeat(32), updatedAt: at('2026-12-02T00:00:00.000Z') };
      await expect(prisma.chainCursor.create({ data: cursor })).resolves.toEqual(cursor);
      await expectPrismaError(prisma.chainCursor.create({ data: cursor }), 'P2002');
      const where = { chainId_factoryAddress_eventTopic: key };
      const moved = { blockNumber: 9_007_199_254_740_993n, blockHash: '0x' + '02'.repeat(32) };
      await expect(prisma.chainCursor.update({ where, data: moved })).resolves.toMatchObject(moved);
      await expect(prisma.chainCursor.findUniqueOrThrow({ where })).resolves.toMatchObject(moved);
      await prisma.chainCursor.delete({ where });
      await expect(prisma.chainCursor.count()).resolves.toBe(0);
    });

    it('ChainRegistration: create with and without a user, read, delete; one per (chain, transaction, log index)', async () => {
      const row = {
        chainId: 1n,
        transactionHash: '0x' + '0c'.repeat(32),
        logIndex: 3,
        factoryAddress: '0xe78a0f7e598cc8b0bb87894b0f60dd2a88d6a8ab',
        blockNumber: 19_000_000n,
        blockHash: '0x' + '0d'.repeat(32),
        ownerAddress: WALLET,
        contractAddress: '0xcc5f0a600fd9dc5dd8964581607e5cc0d22c5a78',
        userId: randomUUID(),
        registeredAt: at('2026-12-02T00:00:00.123Z'),
      };
      await expect(prisma.chainRegistration.create({ data: row })).resolves.toEqual(row);
      await expectPrismaError(prisma.chainRegistration.create({ data: row }), 'P2002');
      const other = await prisma.chainRegistration.create({ data: { ...row, logIndex: 4, userId: null, registeredAt: undefined } });
      expect(other).toMatchObject({ logIndex: 4, userId: null, registeredAt: expect.any(Date) });
      await expect(prisma.chainRegistration.findMany({ where: { ownerAddress: WALLET }, orderBy: { logIndex: 'asc' }, select: { logIndex: true } })).resolves.toEqual([{ logIndex: 3 }, { logIndex: 4 }]);
      await expect(prisma.chainRegistration.deleteMany({ where: { transactionHash: row.transactionHash } })).resolves.toEqual({ count: 2 });
    });

    it('deleting a user cascades to its keys, wallets, sessions and their refresh tokens', async () => {
      const keep = await prisma.user.create({
        data: { email: 'keep@example.org', account: 'keep', publicKeys: { create: { publicKeyHex: OTHER_PUBLIC_KEY } } },
      });
      const user = await prisma.user.create({
        data: {
          email: 'cascade@example.org',
          account: 'cascade',
          publicKeys: { create: [{ publicKeyHex: FIB_PUBLIC_KEY }, { publicKeyHex: OTHER_PUBLIC_KEY }] },
          wallets: { create: { address: WALLET } },
          sessions: {
            create: [
              { clientId: 'fib', credentialKind: CredentialKind.ED25519_KEY, expiresAt: at('2026-12-01T00:00:00.000Z') },
              { clientId: 'wallet', credentialKind: CredentialKind.WALLET, expiresAt: at('2026-12-01T00:00:00.000Z') },
            ],
          },
        },
        include: { sessions: true },
      });
      for (const s of user.sessions) {
        await prisma.refreshToken.create({ data: { jti: randomUUID(), sessionId: s.id, expiresAt: at('2026-12-01T00:00:00.000Z') } });
      }
      const counts = async () => ({
        keys: await prisma.publicKey.count({ where: { userId: user.id } }),
        wallets: await prisma.wallet.count({ where: { userId: user.id } }),
        sessions: await prisma.session.count({ where: { userId: user.id } }),
        refreshTokens: await prisma.refreshToken.count({ where: { session: { userId: user.id } } }),
        allRefreshTokens: await prisma.refreshToken.count(),
      });
      await expect(counts()).resolves.toEqual({ keys: 2, wallets: 1, sessions: 2, refreshTokens: 2, allRefreshTokens: 2 });

      await prisma.user.delete({ where: { id: user.id } });
      await expect(counts()).resolves.toEqual({ keys: 0, wallets: 0, sessions: 0, refreshTokens: 0, allRefreshTokens: 0 });
      await expect(prisma.publicKey.findMany({ select: { userId: true } })).resolves.toEqual([{ userId: keep.id }]);
      await prisma.user.delete({ where: { id: keep.id } });
    });
  });
});
