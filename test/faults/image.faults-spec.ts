import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { imageEnv, replayDockerfile, treeSize, type ReplayedStage } from '../support/dockerfile-replay.js';
import { eventually, freePort, httpRequest } from '../support/process-service.js';

const DOCKERFILE = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
const MB = 1024 * 1024;

interface Container {
  child: ChildProcess;
  port: number;
  output: () => string;
  stop: () => Promise<number | null>;
}

/** `docker run`, as far as a directory can stand in for the image: its CMD, its ENV, its USER, its WORKDIR. */
async function run(image: ReplayedStage, env: Record<string, string>): Promise<Container> {
  const [command, ...args] = image.cmd!;
  const port = await freePort();
  let output = '';
  const child = spawn(join(image.root, 'usr/local/bin', command!), args, {
    cwd: join(image.root, image.workdir),
    uid: image.uid,
    gid: image.gid,
    env: { ...imageEnv(image), HOSTNAME: 'sigauth-replay', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    port,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The image's HEALTHCHECK, run as the engine runs it: in the container, as its user. */
function healthcheck(image: ReplayedStage, port: number): number | null {
  const [command, ...args] = image.healthcheck!;
  return spawnSync(join(image.root, 'usr/local/bin', command!), args, {
    cwd: join(image.root, image.workdir),
    uid: image.uid,
    gid: image.gid,
    env: { ...imageEnv(image), PORT: String(port) },
    timeout: 10000,
  }).status;
}

async function ready(container: Container): Promise<void> {
  await eventually('GET /health/ready answers 200', 60000, async () => {
    if (container.child.exitCode !== null) throw new Error(`the server exited (${container.child.exitCode}): ${container.output()}`);
    const answer = await httpRequest(container.port, '/health/ready');
    return { ok: answer.status === 200, seen: answer };
  });
}

describe('the Dockerfile, replayed into a directory, serves as the image would', () => {
  let parent: string;
  let build: ReplayedStage;
  let image: ReplayedStage;
  let database: TestDatabase | undefined;

  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'sigauth-image-'));
    const stages = replayDockerfile(DOCKERFILE, { context: PROJECT_ROOT, parent });
    build = stages.find((stage) => stage.name === 'build')!;
    image = stages.at(-1)!;
    const node = statSync(join(image.root, 'usr/local/bin/node')).size;
    const total = treeSize(image.root);
    console.log(
      `replayed image root ${image.root}: ${(total / MB).toFixed(0)} MB with the Node binary, ` +
        `${((total - node) / MB).toFixed(0)} MB of sigauth's own layers (node_modules ${(treeSize(join(image.root, 'app/node_modules')) / MB).toFixed(0)} MB, ` +
        `dist ${(treeSize(join(image.root, 'app/dist')) / MB).toFixed(0)} MB); the base image's OS is not counted\n` +
        stages.flatMap((stage) => stage.log.filter((line) => line.startsWith('RUN'))).join('\n'),
    );
  }, 600000);

  afterAll(async () => {
    await database?.drop();
    rmSync(parent, { recursive: true, force: true });
  });

  it('copies nothing local into the image: no data/, .env, dist or node_modules from the context', () => {
    // What the build stage has, it made itself: node_modules from npm ci, dist from the build.
    expect(readdirSync(join(build.root, 'app')).sort()).toEqual(
      ['bin', 'dist', 'node_modules', 'package-lock.json', 'package.json', 'packages', 'prisma', 'prisma.config.ts', 'scripts', 'src', 'tsconfig.build.json', 'tsconfig.json'].sort(),
    );
    expect(readdirSync(join(image.root, 'app')).sort()).toEqual(['bin', 'data', 'dist', 'node_modules', 'package.json', 'packages', 'prisma'].sort());
    expect(readdirSync(join(image.root, 'app/data'))).toEqual([]);
  });

  it('runs as a user that is not root, owning the data directory and nothing else of the application', () => {
    expect({ uid: image.uid, gid: image.gid }).toEqual({ uid: 1000, gid: 1000 });
    const data = statSync(join(image.root, 'app/data'));
    expect({ uid: data.uid, gid: data.gid, mode: (data.mode & 0o777).toString(8) }).toEqual({ uid: 1000, gid: 1000, mode: '700' });
    expect(statSync(join(image.root, 'app/dist/server/main.js')).uid).toBe(0);
    expect(image.volumes).toEqual(['/app/data']);
    expect(image.env.DATA_DIR).toBe('/app/data');
  });

  it('starts on PostgreSQL as the image user; /health/ready and the HEALTHCHECK answer', async () => {
    database = await createTestDatabase('image');
    const container = await run(image, { DATABASE_URL: database.url, PUBLIC_URL: 'http://localhost:3000' });
    try {
      await ready(container);
      expect(healthcheck(image, container.port)).toBe(0);
    } finally {
      expect(await container.stop()).toBe(0);
    }
  }, 120000);

  it('starts embedded (no DATABASE_URL) as the image user, its database in the volume it owns', async () => {
    const container = await run(image, { PUBLIC_URL: 'http://localhost:3000' });
    try {
      await ready(container);
      expect(healthcheck(image, container.port)).toBe(0);
    } finally {
      expect(await container.stop()).toBe(0);
    }
    const files = readdirSync(join(image.root, 'app/data'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) expect(statSync(join(image.root, 'app/data', name)).uid).toBe(1000);
  }, 120000);

  it('fails when the final stage copies a path the build stage does not produce', () => {
    // The original defect: COPY --from=build /app/bin with no bin/ in the build stage.
    rmSync(join(build.root, 'app/bin'), { recursive: true });
    expect(() => replayDockerfile(DOCKERFILE, { context: PROJECT_ROOT, parent: mkdtempSync(join(parent, 'again-')), reuse: { build } })).toThrow(
      /COPY --from=build \/app\/bin \.\/bin\n\s+\/app\/bin does not exist in stage build/,
    );
  });

  it('fails when a COPY names what .dockerignore leaves out of the context, and leaves out what it should', () => {
    const context = mkdtempSync(join(tmpdir(), 'sigauth-context-'));
    try {
      writeFileSync(join(context, '.dockerignore'), readFileSync(join(PROJECT_ROOT, '.dockerignore')));
      for (const dir of ['src', 'data', 'node_modules/x', 'dist', 'packages/guard/dist', 'packages/guard/node_modules/y']) mkdirSync(join(context, dir), { recursive: true });
      for (const file of ['src/main.ts', 'data/sigauth.lock', 'node_modules/x/index.js', 'dist/main.js', 'packages/guard/package.json', 'packages/guard/dist/index.js', 'packages/guard/node_modules/y/index.js', '.env', '.env.example']) {
        writeFileSync(join(context, file), '');
      }
      const [copied] = replayDockerfile('FROM node:24-bookworm-slim\nWORKDIR /app\nCOPY . ./\n', { context, parent: mkdtempSync(join(parent, 'context-')) });
      expect(readdirSync(join(copied!.root, 'app')).sort()).toEqual(['.dockerignore', '.env.example', 'packages', 'src']);
      expect(readdirSync(join(copied!.root, 'app/packages/guard'))).toEqual(['package.json']);
      expect(() => replayDockerfile('FROM node:24-bookworm-slim\nWORKDIR /app\nCOPY .env ./\n', { context, parent: mkdtempSync(join(parent, 'context-')) })).toThrow(
        /\.env is not in the build context \(\.dockerignore leaves it out\)/,
      );
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  });
});
