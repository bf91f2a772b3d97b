// The embedded server's memory: `node bench/embedded-memory.mjs [--logins 10000] [--users 1000] [--plain]`.
//
// Runs `npm start` (or, with --plain, `node dist/server/main.js` without the memory flags `npm start`
// adds) on a fresh DATA_DIR with no DATABASE_URL: embedded PGlite. Seeds the users through the CLI
// while the server runs, then sends the FIB logins (round robin over the users, 16 at a time) and
// prints the server's RSS from /proc/<pid>/status (the pid its DATA_DIR lock names): once ready and
// idle, and after the logins, with the peak (VmHWM). Rate limits are off: every request comes from
// 127.0.0.1. Build first (`npm run build`): the timing of `npm start` is of a built tree.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  CLI_MAIN,
  ROOT,
  SERVICE_MAIN,
  SESSION_PATH,
  cleanup,
  freePort,
  installCleanup,
  makeFixtures,
  makeTempDir,
  mapLimit,
  postJson,
  runToCompletion,
  sleep,
  track,
  writeSeedFile,
} from './harness.mjs';

const { values: args } = parseArgs({
  options: {
    logins: { type: 'string', default: '10000' },
    users: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '16' },
    plain: { type: 'boolean', default: false },
  },
});
const LOGINS = Number(args.logins);
const CONCURRENCY = Number(args.concurrency);

installCleanup('embedded-memory');

/** RSS now and at its peak (VmHWM), in MB. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

async function waitReady(base, child) {
  const started = performance.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before it was ready`);
    try {
      const res = await fetch(`${base}/health/ready`);
      if (res.status === 200) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
}

const dataDir = join(makeTempDir('sigauth-embedded-memory'), 'data');
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const env = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_PER_IP: '0', RATE_LIMIT_FAILURES_PER_IDENTITY: '0' };
delete env.DATABASE_URL;
delete env.NODE_OPTIONS;

const [command, argv] = args.plain ? [process.execPath, [SERVICE_MAIN]] : ['npm', ['start', '--silent']];
const started = track(spawn(command, argv, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'], detached: true }), { detachedGroup: true });
const readyMs = await waitReady(base, started);
const lockFile = join(dataDir, 'sigauth.lock');
if (!existsSync(lockFile)) throw new Error(`${lockFile} is missing: is the server on embedded PGlite?`);
const serverPid = JSON.parse(readFileSync(lockFile, 'utf8')).pid;
await sleep(3000);
const idle = memory(serverPid);

const fixtures = makeFixtures(Number(args.users));
await runToCompletion(process.execPath, [CLI_MAIN, 'db', 'seed', '--file', writeSeedFile(fixtures)], env, 'seeding through the CLI');

const statuses = new Map();
const loginsStarted = performance.now();
await mapLimit(
  Array.from({ length: LOGINS }, (_, i) => fixtures.users[i % fixtures.users.length]),
  CONCURRENCY,
  async (user) => {
    const res = await postJson(base, SESSION_PATH, user.body);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  },
);
const loginSeconds = (performance.now() - loginsStarted) / 1000;
await sleep(3000);
const afterLogins = memory(serverPid);

process.kill(serverPid, 'SIGTERM');
const exitCode = await new Promise((resolve) => started.once('exit', resolve));
await cleanup();

console.log(
  JSON.stringify(
    {
      command: [args.plain ? 'node' : 'npm', ...argv].join(' '),
      readyMs: Math.round(readyMs),
      idle,
      logins: { count: LOGINS, users: fixtures.users.length, concurrency: CONCURRENCY, statuses: Object.fromEntries(statuses), perSecond: Math.round(LOGINS / loginSeconds) },
      afterLogins,
      exitCode,
    },
    null,
    2,
  ),
);
