import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { addUsers, eventually, freePort, httpRequest, loginPair, seedUser, startService, type ServiceProcess } from './support/process-service.js';

/** The guard snippet of the README, exactly as a reader copies it. */
function readmeSnippet(): string {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const block = /<!-- guard-snippet -->\s*```ts\n([\s\S]*?)```\s*<!-- \/guard-snippet -->/.exec(readme);
  if (!block) throw new Error('README.md has no ```ts block between <!-- guard-snippet --> and <!-- /guard-snippet -->');
  return block[1]!;
}

/** The README's install line for the guard. */
function readmeInstall(): string[] {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const line = /^npm install (@sigauth\/guard)\b.*$/m.exec(readme);
  if (!line) throw new Error('README.md has no `npm install @sigauth/guard` line');
  return line[0].split(/\s+/).slice(2);
}

/** This machine's environment (its registry's CA, any proxy) without what npm and Jest set for this run. */
function hostEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|NODE_OPTIONS$|INIT_CWD$|NODE_ENV$)/i.test(key)));
}

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: hostEnv(), timeout: 180000, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return `${result.stdout}${result.stderr}`;
}

/** The version of a package sigauth itself installed: the consumer app asks for the same, so npm finds it in its cache. */
const installed = (name: string): string => (JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The guard as another team gets it: `npm pack` of packages/guard, installed (from the tarball, by
 * the README's package name) into a new NestJS application in a temporary folder, which imports
 * the README's snippet unchanged except for sigauth's address, and boots.
 */
describe('the @sigauth/guard tarball in a fresh NestJS application, with the README snippet', () => {
  let dir: string;
  let tarball: string;
  let packOutput: string;
  let installOutput: string;
  let database: TestDatabase;
  let sigauth: ServiceProcess;
  let consumer: ChildProcess | undefined;
  let consumerPort: number;
  let consumerLog = '';
  const user = seedUser('reader@example.org', 'reader@example');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigauth-guard-package-'));
    packOutput = run('npm', ['pack', '--json', '--pack-destination', dir, '-w', '@sigauth/guard'], PROJECT_ROOT);
    const [packed] = JSON.parse(packOutput.slice(packOutput.indexOf('['), packOutput.lastIndexOf(']') + 1)) as { filename: string; size: number; entryCount: number; files: { path: string }[] }[];
    tarball = join(dir, packed!.filename);
    console.log(`@sigauth/guard tarball: ${packed!.filename}, ${packed!.size} bytes, ${packed!.entryCount} files`);

    // The default sigauth: PUBLIC_URL and JWT_ISSUER unset, so the issuer is http://localhost:<PORT>.
    database = await createTestDatabase('guard_package');
    const storage = { DATABASE_URL: database.url };
    await addUsers(storage, [user]);
    sigauth = await startService(storage, { JWT_ISSUER: undefined, PUBLIC_URL: undefined } as unknown as Record<string, string>);

    const app = join(dir, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'billing', private: true, type: 'module' }, null, 2));
    const [name] = readmeInstall();
    expect(name).toBe('@sigauth/guard');
    installOutput = run(
      'npm',
      [
        'install', '--prefer-offline', '--no-audit', '--no-fund',
        tarball,
        `@nestjs/common@${installed('@nestjs/common')}`, `@nestjs/core@${installed('@nestjs/core')}`, `@nestjs/platform-fastify@${installed('@nestjs/platform-fastify')}`,
        `reflect-metadata@${installed('reflect-metadata')}`, `rxjs@${installed('rxjs')}`,
      ],
      app,
    );
    const snippet = readmeSnippet().replaceAll('http://localhost:3000', `http://localhost:${sigauth.port}`);
    writeFileSync(join(app, 'src/app.module.ts'), snippet);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2023', module: 'nodenext', moduleResolution: 'nodenext', strict: true, experimentalDecorators: true, emitDecoratorMetadata: true, skipLibCheck: true, types: [], rootDir: 'src', outDir: 'dist' }, include: ['src'] }),
    );
    run(process.execPath, [join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
    writeFileSync(
      join(app, 'main.mjs'),
      [
        "import 'reflect-metadata';",
        "import { NestFactory } from '@nestjs/core';",
        "import { FastifyAdapter } from '@nestjs/platform-fastify';",
        "import { AppModule } from './dist/app.module.js';",
        'const app = await NestFactory.create(AppModule, new FastifyAdapter(), { logger: ["warn", "error"] });',
        "await app.listen(Number(process.argv[2]), '127.0.0.1');",
        "console.log('listening');",
      ].join('\n'),
    );
    consumerPort = await freePort();
    consumer = spawn(process.execPath, ['main.mjs', String(consumerPort)], { cwd: app, env: hostEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    consumer.stdout!.setEncoding('utf8').on('data', (d: string) => (consumerLog += d));
    consumer.stderr!.setEncoding('utf8').on('data', (d: string) => (consumerLog += d));
    await eventually('the consumer application listens', 30000, async () => {
      if (consumer!.exitCode !== null) throw new Error(`the consumer exited (${consumer!.exitCode}): ${consumerLog}`);
      return { ok: consumerLog.includes('listening'), seen: consumerLog };
    });
  }, 240000);

  afterAll(async () => {
    consumer?.kill('SIGTERM');
    await sigauth?.stop();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('packs the built guard only: dist, package.json, README; no sources, tests or install script', () => {
    const files = (JSON.parse(packOutput.slice(packOutput.indexOf('['), packOutput.lastIndexOf(']') + 1)) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/dpop-proof.js']));
    expect(files.filter((f) => !/^(package\.json|README\.md|dist\/[\w.-]+\.(js|d\.ts))$/.test(f))).toEqual([]);
    expect(files.some((f) => f.includes('.spec.'))).toBe(false);
    const manifest = JSON.parse(spawnSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }).stdout) as { scripts?: Record<string, string> };
    expect(Object.keys(manifest.scripts ?? {}).filter((s) => /install/.test(s))).toEqual([]);
  });

  it('installs without warnings, with one copy of Nest', () => {
    expect(installOutput).not.toMatch(/ERESOLVE|EBADENGINE|peer dep/i);
    const tree = run('npm', ['ls', '@nestjs/core', '--all', '--parseable'], join(dir, 'app')).trim().split('\n');
    expect(tree).toHaveLength(1);
  });

  it('lets a token from a default sigauth in (200), and refuses none or a forged one (401)', async () => {
    const { accessToken } = await loginPair(sigauth, user);
    const ok = await httpRequest(consumerPort, '/invoices', { headers: { authorization: `Bearer ${accessToken}` } });
    expect({ status: ok.status, body: ok.body }).toEqual({ status: 200, body: { for: user.email } });
    expect((await httpRequest(consumerPort, '/invoices')).status).toBe(401);
    const forged = `${accessToken.slice(0, -4)}AAAA`;
    expect((await httpRequest(consumerPort, '/invoices', { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
  });
});
