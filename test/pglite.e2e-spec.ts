import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseConnection } from '../src/database/database-connection.js';
import { DATABASE_CONNECTION } from '../src/database/prisma.module.js';
import { UsersService } from '../src/users/users.service.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

const MIGRATIONS = readdirSync(join(process.cwd(), 'prisma', 'migrations'), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

// The one suite on embedded PGlite whatever the run's backend: `npm start` with no DATABASE_URL.
describe('embedded PGlite (DATA_DIR, no DATABASE_URL)', () => {
  let storage: TestStorage;
  let service: TestApp | undefined;

  const migrationRows = (app: TestApp): Promise<{ migration_name: string }[]> =>
    app.app.get<DatabaseConnection>(DATABASE_CONNECTION).query(`SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name`);

  beforeAll(async () => {
    storage = await createTestStorage('pglite', 'pglite');
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  it('runs on PGlite with only DATA_DIR set', () => {
    expect(storage.backend).toBe('pglite');
    expect(Object.keys(storage.env)).toEqual(['DATA_DIR']);
  });

  it('migrates at start and answers GET /health/ready with 200', async () => {
    service = await startTestApp(storage.env);
    expect(service.app.get<DatabaseConnection>(DATABASE_CONNECTION).kind).toBe('pglite');
    const res = await service.http().get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'pglite', migrations: { applied: MIGRATIONS.length } });
    await expect(migrationRows(service)).resolves.toEqual(MIGRATIONS.map((migration_name) => ({ migration_name })));
  });

  it('keeps a user across a restart on the same DATA_DIR, and is ready again without re-migrating', async () => {
    const created = await service!.app.get(UsersService).create({
      email: ' Persist@Example.org ',
      account: 'persist@example',
      role: 'ROLE_ADMIN',
      publicKeys: ['7fbedb314a9b0c00caef967ac5cabb982ec45da828a0c58a9aafc854f32422ac'],
      wallets: ['0x52908400098527886E0F7030069857D2E4169EE7'],
      password: 'survives restarts',
      passwordExpiresAt: '2027-01-01T00:00:00Z',
    });
    expect(created).toMatchObject({ email: 'persist@example.org', role: 'ROLE_ADMIN', hasPassword: true });
    await service!.close();
    service = undefined;

    service = await startTestApp(storage.env);
    const res = await service.http().get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'pglite', migrations: { applied: MIGRATIONS.length } });
    // Still one row per migration: the restart found them applied.
    await expect(migrationRows(service)).resolves.toEqual(MIGRATIONS.map((migration_name) => ({ migration_name })));

    const users = service.app.get(UsersService);
    await expect(users.getByEmail('persist@example.org')).resolves.toEqual(created);
    await expect(users.list(10)).resolves.toEqual([created]);
  });
});
