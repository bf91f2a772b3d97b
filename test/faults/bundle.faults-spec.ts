import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { SERVER_ENTRY, startService, stopAllServices } from '../support/process-service.js';

/**
 * The bundle (scripts/bundle.mjs) behaves as the sources it was built from where esbuild would
 * otherwise change what the code sees: class names, and what import() of a CommonJS package gives.
 */
describe('the bundled server (dist/server)', () => {
  let db: TestDatabase | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('faults_bundle');
  });
  afterAll(async () => {
    await stopAllServices();
    await db?.drop();
  });

  it("logs under its classes' own names: esbuild's renamed inner class names (X2, _X) do not show", async () => {
    const service = await startService({ DATABASE_URL: db!.url }, { LOG_LEVEL: 'info' });
    await service.stop();
    const contexts = new Set([...service.output().matchAll(/"context":"([^"]*)"/g)].map((match) => match[1]!));
    // Nest's own classes (declarations esbuild turns into `var X = class _X`) and one of ours
    // (`let X = X_1 = class X`, which esbuild renames `class X2`).
    expect([...contexts].filter((name) => ['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication', 'PrismaModule'].includes(name)).sort()).toEqual([
      'InstanceLoader',
      'NestApplication',
      'PrismaModule',
      'RouterExplorer',
      'RoutesResolver',
    ]);
    expect([...contexts].filter((name) => /^_|\d$/.test(name))).toEqual([]);
    expect(service.output()).toContain('"msg":"AppModule dependencies initialized"');
  });

  it("import() of a CommonJS package gives module.exports as default, as Node does (Nest's CORS calls it)", async () => {
    const chunk = readdirSync(dirname(SERVER_ENTRY)).find((name) => /^cors-\w+\.js$/.test(name));
    expect(chunk).toBeDefined();
    const bundled = (await import(pathToFileURL(join(dirname(SERVER_ENTRY), chunk!)).href)) as { default: unknown };
    const native = (await import('@fastify/cors')) as { default: unknown };
    expect(typeof native.default).toBe('function');
    expect(typeof bundled.default).toBe('function');
  });
});
