// What bench/run.mjs and bench/soak.mjs share: a database of their own on the PostgreSQL server at
// TEST_DATABASE_URL, users seeded through the CLI, systems started as detached process groups and
// stopped, worker RSS read from /proc, the forked load generator (load-worker.mjs), and cleanup on
// every exit path (normal end, error, Ctrl-C, SIGTERM, SIGHUP): children killed, database dropped,
// temporary files removed.
/* global AbortSignal */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { assertTweetnaclAgrees, newEd25519Key, newWallet, signEmail } from './fixtures.mjs';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(BENCH_DIR, '..');
export const RESULTS_DIR = join(BENCH_DIR, 'results');
export const SERVICE_MAIN = join(ROOT, 'dist/server/main.js');
export const CLI_MAIN = join(ROOT, 'dist/src/cli/main.js');
export const SESSION_PATH = '/auth/api/v1/authentication-management/session';
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const READY_TIMEOUT_MS = 60_000;

/** An expected failure: printed as one line, without a stack. */
export class BenchError extends Error {}

export function fail(message) {
  throw new BenchError(message);
}

// ---------------------------------------------------------------------------------------------
// Cleanup: every child is tracked and killed on any exit path; the database is dropped.

const children = new Set();
/** Process groups of the systems started, kept after their leader exits: workers may outlive it. */
const groups = new Set();
let databaseName;
let tempDir;
let cleaningUp = false;
let prefix = 'bench';

export function killGroup(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    // Services run detached as process-group leaders: the group takes the cluster workers too.
    process.kill(child.detachedGroup ? -child.pid : child.pid, signal);
  } catch {
    // already gone
  }
}

function killAllChildrenNow() {
  for (const child of children) killGroup(child, 'SIGKILL');
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // the group is gone
    }
  }
}

/** Stops every child, drops the database, removes the temporary directory. Runs once. */
export async function cleanup() {
  if (cleaningUp) return;
  cleaningUp = true;
  for (const child of children) killGroup(child, 'SIGTERM');
  await Promise.all([...children].map((child) => waitForExit(child, 3000).then((exited) => exited || killGroup(child, 'SIGKILL'))));
  killAllChildrenNow();
  if (databaseName) {
    const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
    } catch (error) {
      console.error(`${prefix}: could not drop database ${databaseName}: ${error.message}`);
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
}

/** Installs the exit, uncaught-exception and signal handlers; `label` prefixes their messages. */
export function installCleanup(label) {
  prefix = label;
  process.on('exit', killAllChildrenNow);
  process.on('uncaughtException', (error) => {
    console.error(`${prefix}: ${error.stack ?? error}`);
    cleanup().finally(() => process.exit(1));
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`${prefix}: ${signal}, stopping`);
      cleanup().finally(() => process.exit(130));
    });
  }
}

export function track(child, { detachedGroup = false } = {}) {
  child.detachedGroup = detachedGroup;
  if (detachedGroup) groups.add(child.pid);
  children.add(child);
  // Started while stopping (main goes on until exit): end it at once.
  if (cleaningUp) killGroup(child, 'SIGKILL');
  child.once('exit', () => children.delete(child));
  return child;
}

export function waitForExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

/** A temporary directory, removed by cleanup(). */
export function makeTempDir(name) {
  tempDir = mkdtempSync(join(os.tmpdir(), `${name}-`));
  return tempDir;
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const loadAverage1m = () => Math.round(os.loadavg()[0] * 100) / 100;

export function redacted(url) {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

export async function postJson(base, path, body, headers = {}) {
  const response = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

export function runToCompletion(command, argv, env, label) {
  return new Promise((resolveRun, reject) => {
    const child = track(spawn(command, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolveRun(stdout) : reject(new BenchError(`${label} failed (exit ${code}): ${stderr.trim() || stdout.trim()}`))));
  });
}

// ---------------------------------------------------------------------------------------------
// /proc.

export function rssMb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU time of a process, in clock ticks (1/100 s). */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Alive and not a zombie (an orphaned worker may wait a while to be reaped). */
export function isRunning(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of the running processes for which `test(pid)` holds, in order; `test` may read /proc. */
function pidsWhere(test) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (test(entry)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids.sort((a, b) => a - b);
}

/** Every PostgreSQL process on this machine (the server and its backends), by command name. */
export function postgresPids() {
  return pidsWhere((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres');
}

export function childPids(parentPid) {
  return pidsWhere((pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 4 is the parent pid; the command name (field 2) may hold spaces, so parse after ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parentPid;
  });
}

// ---------------------------------------------------------------------------------------------
// Database and fixtures.

/** Creates a database of its own (dropped by cleanup()); returns its name and URL. */
export async function createDatabase(namePrefix = 'sigauth_bench') {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    fail(`PostgreSQL is unreachable at ${redacted(ADMIN_URL)} (${error.message || error.code}); start it or set TEST_DATABASE_URL`);
  }
  databaseName = `${namePrefix}_${process.pid}_${Date.now()}`;
  try {
    await admin.query(`CREATE DATABASE "${databaseName}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${databaseName}`;
  return { name: databaseName, url: url.toString() };
}

/** `count` ROLE_PEER users (an Ed25519 key, a wallet, a pre-signed FIB login body each) and one ROLE_SERVICE user. */
export function makeFixtures(count) {
  const users = [];
  for (let i = 0; i < count; i++) {
    const email = `user${i}@bench.sigauth`;
    const key = newEd25519Key();
    const wallet = newWallet();
    users.push({ email, account: `user${i}@bench`, key, wallet, body: JSON.stringify({ email, signature: signEmail(key, email), authPublicKeyHex: key.publicKeyHex }) });
  }
  const svcEmail = 'introspector@bench.sigauth';
  const svcKey = newEd25519Key();
  const service = { email: svcEmail, account: 'introspector@bench', key: svcKey, body: JSON.stringify({ email: svcEmail, signature: signEmail(svcKey, svcEmail), authPublicKeyHex: svcKey.publicKeyHex }) };
  assertTweetnaclAgrees(users[0].key, users[0].email);
  return { users, service };
}

function seedFile(fixtures) {
  return {
    users: [
      ...fixtures.users.map((u) => ({ email: u.email, account: u.account, role: 'ROLE_PEER', publicKeys: [u.key.publicKeyHex], wallets: [u.wallet.address] })),
      { email: fixtures.service.email, account: fixtures.service.account, role: 'ROLE_SERVICE', publicKeys: [fixtures.service.key.publicKeyHex], wallets: [] },
    ],
  };
}

/** Writes the fixtures' users as a seed file (in the temporary directory: makeTempDir() first); returns its path. */
export function writeSeedFile(fixtures) {
  const seedPath = join(tempDir, 'seed.json');
  writeFileSync(seedPath, JSON.stringify(seedFile(fixtures)));
  return seedPath;
}

/** Seeds the users of a seed file through the CLI (`db seed --file`), with `env` (DATABASE_URL). */
export async function seedUsers(seedPath, env) {
  await runToCompletion(process.execPath, ['--no-warnings', CLI_MAIN, 'db', 'seed', '--file', seedPath], env, 'seeding through the CLI');
}

/** Logs in with each body through sigauth's FIB API (16 at a time); any answer but 200 fails the bench. Returns the token pairs. */
export async function loginPairs(system, bodies) {
  const results = await mapLimit(bodies, 16, (body) => postJson(system.base, SESSION_PATH, body));
  const bad = results.find((r) => r.status !== 200);
  if (bad) fail(`${system.name}: a setup login answered ${bad.status}: ${bad.text.slice(0, 300)}`);
  return results.map((r) => r.json.data);
}

/** A queue of live refresh tokens for the refresh scenario: `count` logins over the fixtures' users. */
export async function refreshPool(system, fixtures, count) {
  const pairs = await loginPairs(system, Array.from({ length: count }, (_, i) => fixtures.users[i % fixtures.users.length].body));
  return { tokens: pairs.map((p) => p.refreshToken) };
}

/** The introspection scenario's caller (the ROLE_SERVICE user) and `count` peer access tokens to ask about, checked once. */
export async function introspectionData(system, fixtures, count) {
  const [caller] = await loginPairs(system, [fixtures.service.body]);
  const peers = await loginPairs(system, fixtures.users.slice(0, count).map((u) => u.body));
  const check = await postJson(system.base, '/auth/api/v1/token/introspect', { token: peers[0].accessToken }, { authorization: `Bearer ${caller.accessToken}` });
  if (check.status !== 200 || check.json?.active !== true) fail(`${system.name}: introspection setup check answered ${check.status}: ${check.text.slice(0, 300)}`);
  return { bearer: caller.accessToken, tokens: peers.map((p) => p.accessToken) };
}

// ---------------------------------------------------------------------------------------------
// Systems under test.

/**
 * Starts `node argv` detached (a process group with its cluster workers) on a free port and waits
 * for GET /health/ready to answer 200, then for all `workers` to be up (each logs that it listens,
 * or, when logs are quiet, all have gone idle).
 */
export async function startSystem(name, argv, env, workers) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const lines = [];
  const started = performance.now();
  const child = track(spawn(process.execPath, argv, { cwd: ROOT, env: { ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true }), { detachedGroup: true });
  let listening = 0;
  let allListeningMs;
  const onLine = (data) => {
    for (const line of String(data).split('\n')) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 200) lines.shift();
      if (/listening on/i.test(line)) {
        listening += /(\d+) workers listening/.test(line) ? Number(/(\d+) workers listening/.exec(line)[1]) : 1;
        if (listening >= workers && allListeningMs === undefined) allListeningMs = Math.round(performance.now() - started);
      }
    }
  };
  child.stdout.on('data', onLine);
  child.stderr.on('data', onLine);

  let readyMs;
  while (readyMs === undefined) {
    if (child.exitCode !== null || child.signalCode !== null) {
      fail(`${name} exited during start (${child.exitCode ?? child.signalCode}):\n  ${lines.slice(-20).join('\n  ')}`);
    }
    if (performance.now() - started > READY_TIMEOUT_MS) fail(`${name} was not ready after ${READY_TIMEOUT_MS} ms:\n  ${lines.slice(-20).join('\n  ')}`);
    try {
      const response = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) readyMs = Math.round(performance.now() - started);
    } catch {
      // not listening yet
    }
    if (readyMs === undefined) await sleep(10);
  }
  // The first worker answers /health/ready. The others are taken as up when each logs that it
  // listens or, when logs are quiet (LOG_LEVEL), when every worker has gone idle.
  let allSettledMs;
  const deadline = performance.now() + 5000;
  let previous = new Map();
  while (allListeningMs === undefined && allSettledMs === undefined && performance.now() < deadline) {
    await sleep(100);
    const now = new Map(childPids(child.pid).map((pid) => [pid, cpuTicks(pid)]));
    const idle = now.size >= workers && [...now].every(([pid, ticks]) => previous.has(pid) && ticks - previous.get(pid) <= 1);
    if (idle) allSettledMs = Math.round(performance.now() - started);
    previous = now;
  }
  return { name, child, base, lines, readyMs, allWorkersUpMs: allListeningMs ?? allSettledMs, allWorkersUpBy: allListeningMs !== undefined ? 'log' : allSettledMs !== undefined ? 'idle' : 'timeout' };
}

/** RSS of the primary and of each worker (the primary's children), in MB. */
export function sampleRss(system) {
  const primaryPid = system.child.pid;
  const workers = childPids(primaryPid).map((pid) => ({ pid, rssMb: rssMb(pid) })).filter((w) => w.rssMb !== undefined);
  return { primary: { pid: primaryPid, rssMb: rssMb(primaryPid) }, workers };
}

/** Stops a system; with primaryOnly, returns each worker's exit time (hrtime ms) for profile windows. */
export async function stopSystem(system, { primaryOnly = false } = {}) {
  const exits = {};
  if (primaryOnly) {
    // Only the primary: cluster workers then exit through process.exit on disconnect, which lets
    // --cpu-prof write their profiles (a worker killed by a signal writes none).
    const workerPids = childPids(system.child.pid);
    try {
      process.kill(system.child.pid, 'SIGTERM');
    } catch {
      // gone
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && workerPids.some((pid) => exits[pid] === undefined)) {
      for (const pid of workerPids) if (exits[pid] === undefined && !isRunning(pid)) exits[pid] = Number(process.hrtime.bigint()) / 1e6;
      await sleep(5);
    }
  }
  killGroup(system.child, 'SIGTERM');
  if (!(await waitForExit(system.child, 5000))) killGroup(system.child, 'SIGKILL');
  await waitForExit(system.child, 2000);
  // A detached group may outlive its leader for a moment: make sure no worker is left.
  try {
    process.kill(-system.child.pid, 'SIGKILL');
  } catch {
    // the whole group is gone
  }
  groups.delete(system.child.pid);
  return exits;
}

// ---------------------------------------------------------------------------------------------
// Load.

/**
 * Runs one scenario in a forked load generator (load-worker.mjs): writes `data` to the temporary
 * directory as `<name>.json` and sends `message` (url, scenario, connections, warmupSeconds,
 * durationSeconds, and optionally overallRate, timeline, notifyStart). Resolves with the answer;
 * `onEvent` receives the progress messages (`{ event: 'measuring' }` with notifyStart).
 */
export function runLoad(name, data, message, label, onEvent = () => undefined) {
  const dataFile = join(tempDir, `${name}.json`);
  writeFileSync(dataFile, JSON.stringify(data));
  return new Promise((resolveRun, reject) => {
    const child = track(fork(join(BENCH_DIR, 'load-worker.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    let answered = false;
    child.on('message', (m) => {
      if (m.event) {
        onEvent(m);
        return;
      }
      answered = true;
      if (m.ok) resolveRun(m);
      else reject(new BenchError(`load generator failed on ${label}: ${m.error}`));
    });
    child.once('error', reject);
    child.once('exit', (code) => !answered && reject(new BenchError(`load generator exited (${code}) on ${label}`)));
    child.send({ ...message, dataFile });
  });
}
