// npm run bench: sigauth against the floor (bench/floor-server.mjs) on a fresh PostgreSQL database.
//
//   node bench/run.mjs [--scenarios login,refresh,introspect,wallet-login] [--duration 15] [--warmup 3]
//                      [--connections 64] [--users 1000] [--no-floor] [--profile]
//
// Needs `npm run build` first (it runs dist/src/main.js and the CLI in dist/). PostgreSQL comes from
// TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres); the bench creates a
// database of its own there and drops it at the end. Prints a table and writes
// bench/results/latest.json. --profile runs sigauth's workers under --cpu-prof for the scenarios
// given (the floor is skipped) and prints the top self-time functions of the measured window.
/* global AbortSignal */
import { fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { assertTweetnaclAgrees, newEd25519Key, newWallet, signEmail } from './fixtures.mjs';
import { summarizeProfiles } from './profile-summary.mjs';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const SERVICE_MAIN = join(ROOT, 'dist/src/main.js');
const CLI_MAIN = join(ROOT, 'dist/src/cli/main.js');
const FLOOR_MAIN = join(BENCH_DIR, 'floor-server.mjs');
const SESSION_PATH = '/auth/api/v1/authentication-management/session';
const WALLET_LOGIN_PATH = '/api/auth/login';
const ALL_SCENARIOS = ['login', 'refresh', 'introspect', 'wallet-login'];
const FLOOR_SCENARIOS = new Set(['login', 'refresh', 'introspect']);
const REFRESH_POOL = 400;
const INTROSPECT_TOKENS = 200;
const READY_TIMEOUT_MS = 60_000;

/** An expected failure: printed as one line, without a stack. */
class BenchError extends Error {}

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: ALL_SCENARIOS.join(',') },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    users: { type: 'string', default: '1000' },
    workers: { type: 'string' },
    'no-floor': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
const scenarios = args.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const USERS = Number(args.users);
const WORKERS = Number(args.workers ?? os.availableParallelism());
const RUN_FLOOR = !args['no-floor'] && !args.profile;
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

// ---------------------------------------------------------------------------------------------
// Cleanup: every child is tracked and killed on any exit path; the database is dropped.

const children = new Set();
/** Process groups of the systems started, kept after their leader exits: workers may outlive it. */
const groups = new Set();
let databaseName;
let tempDir;
let cleaningUp = false;

function fail(message) {
  throw new BenchError(message);
}

function killGroup(child, signal) {
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

async function cleanup() {
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
      console.error(`bench: could not drop database ${databaseName}: ${error.message}`);
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
}

process.on('exit', killAllChildrenNow);
process.on('uncaughtException', (error) => {
  console.error(`bench: ${error.stack ?? error}`);
  cleanup().finally(() => process.exit(1));
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`bench: ${signal}, stopping`);
    cleanup().finally(() => process.exit(130));
  });
}

function track(child, { detachedGroup = false } = {}) {
  child.detachedGroup = detachedGroup;
  if (detachedGroup) groups.add(child.pid);
  children.add(child);
  // Started while stopping (main goes on until exit): end it at once.
  if (cleaningUp) killGroup(child, 'SIGKILL');
  child.once('exit', () => children.delete(child));
  return child;
}

function waitForExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function mapLimit(items, limit, fn) {
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

async function postJson(base, path, body, headers = {}) {
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

function runToCompletion(command, argv, env, label) {
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

function rssMb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU time of a process, in clock ticks (1/100 s). */
function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Alive and not a zombie (an orphaned worker may wait a while to be reaped). */
function isRunning(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function childPids(parentPid) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the parent pid; the command name (field 2) may hold spaces, so parse after ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parentPid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids.sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------
// Database and fixtures.

async function createDatabase() {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    fail(`PostgreSQL is unreachable at ${redacted(ADMIN_URL)} (${error.message || error.code}); start it or set TEST_DATABASE_URL`);
  }
  databaseName = `sigauth_bench_${process.pid}_${Date.now()}`;
  try {
    await admin.query(`CREATE DATABASE "${databaseName}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${databaseName}`;
  return url.toString();
}

function makeFixtures(count) {
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

async function presignWalletLogins(users, count) {
  const wallets = users.map((u) => u.wallet);
  const parts = Math.max(1, Math.min(os.availableParallelism(), 4));
  const per = Math.ceil(count / parts);
  const baseMs = Date.now();
  const chunks = await Promise.all(
    Array.from({ length: parts }, (_, p) =>
      new Promise((resolveChunk, reject) => {
        const child = track(fork(join(BENCH_DIR, 'wallet-signer.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
        child.once('message', (m) => resolveChunk(m.bodies));
        child.once('error', reject);
        child.once('exit', (code) => code !== 0 && reject(new BenchError(`wallet signer exited with ${code}`)));
        child.send({ wallets, first: p * per, count: Math.min(per, count - p * per), baseMs });
      }),
    ),
  );
  return chunks.flat();
}

// ---------------------------------------------------------------------------------------------
// Systems under test.

async function startSystem(name, argv, env) {
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
        if (listening >= WORKERS && allListeningMs === undefined) allListeningMs = Math.round(performance.now() - started);
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
    const idle = now.size >= WORKERS && [...now].every(([pid, ticks]) => previous.has(pid) && ticks - previous.get(pid) <= 1);
    if (idle) allSettledMs = Math.round(performance.now() - started);
    previous = now;
  }
  return { name, child, base, lines, readyMs, allWorkersUpMs: allListeningMs ?? allSettledMs, allWorkersUpBy: allListeningMs !== undefined ? 'log' : allSettledMs !== undefined ? 'idle' : 'timeout' };
}

function sampleRss(system) {
  const primaryPid = system.child.pid;
  const workers = childPids(primaryPid).map((pid) => ({ pid, rssMb: rssMb(pid) })).filter((w) => w.rssMb !== undefined);
  return { primary: { pid: primaryPid, rssMb: rssMb(primaryPid) }, workers };
}

/** Stops a system; with primaryOnly, returns each worker's exit time (hrtime ms) for profile windows. */
async function stopSystem(system, { primaryOnly = false } = {}) {
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

function drive(system, scenario, data) {
  const dataFile = join(tempDir, `${system.name}-${scenario}.json`);
  writeFileSync(dataFile, JSON.stringify(data));
  return new Promise((resolveRun, reject) => {
    const child = track(fork(join(BENCH_DIR, 'load-worker.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    let answered = false;
    child.once('message', (m) => {
      answered = true;
      if (m.ok) resolveRun(m);
      else reject(new BenchError(`load generator failed on ${system.name}/${scenario}: ${m.error}`));
    });
    child.once('error', reject);
    child.once('exit', (code) => !answered && reject(new BenchError(`load generator exited (${code}) on ${system.name}/${scenario}`)));
    child.send({ url: system.base, scenario, connections: CONNECTIONS, warmupSeconds: WARMUP, durationSeconds: DURATION, dataFile });
  });
}

async function loginTokens(system, bodies) {
  const results = await mapLimit(bodies, 16, (body) => postJson(system.base, SESSION_PATH, body));
  const bad = results.find((r) => r.status !== 200);
  if (bad) fail(`${system.name}: a setup login answered ${bad.status}: ${bad.text.slice(0, 300)}`);
  return results.map((r) => r.json.data);
}

async function prepare(system, scenario, fixtures, context) {
  const users = fixtures.users;
  switch (scenario) {
    case 'login':
      return { bodies: users.map((u) => u.body) };
    case 'refresh': {
      if (system.name === 'floor') {
        const perUser = REFRESH_POOL / 8;
        const pools = await mapLimit(users.slice(0, 8), 8, async (u) => {
          const r = await postJson(system.base, '/bench/refresh-pool', { email: u.email, count: perUser });
          if (r.status !== 200) fail(`floor: refresh pool setup answered ${r.status}: ${r.text}`);
          return r.json.tokens;
        });
        return { tokens: pools.flat() };
      }
      const pairs = await loginTokens(system, Array.from({ length: REFRESH_POOL }, (_, i) => users[i % users.length].body));
      return { tokens: pairs.map((p) => p.refreshToken) };
    }
    case 'introspect': {
      const [caller] = await loginTokens(system, [fixtures.service.body]);
      const peers = await loginTokens(system, users.slice(0, INTROSPECT_TOKENS).map((u) => u.body));
      const check = await postJson(system.base, '/auth/api/v1/token/introspect', { token: peers[0].accessToken }, { authorization: `Bearer ${caller.accessToken}` });
      if (check.status !== 200 || check.json?.active !== true) fail(`${system.name}: introspection setup check answered ${check.status}: ${check.text.slice(0, 300)}`);
      return { bearer: caller.accessToken, tokens: peers.map((p) => p.accessToken) };
    }
    case 'wallet-login': {
      // Sized from the FIB login rate (a wallet login costs more: secp256k1 recovery in JS) so the
      // pre-signed pairs outlast warm-up and measurement.
      const expectedRate = Math.min(Math.max(context.loginRate ?? 1000, 500), 6000);
      const count = Math.ceil(expectedRate * 1.3 * (WARMUP + DURATION)) + 4 * CONNECTIONS;
      const started = performance.now();
      const bodies = await presignWalletLogins(users, count);
      console.log(`  pre-signed ${bodies.length} wallet logins in ${Math.round(performance.now() - started)} ms`);
      const check = await postJson(system.base, WALLET_LOGIN_PATH, bodies.pop());
      if (check.status !== 200) fail(`${system.name}: wallet login setup check answered ${check.status}: ${check.text.slice(0, 300)}`);
      return { bodies };
    }
    default:
      throw new Error(scenario);
  }
}

/** Whether POST /api/auth/login exists: a malformed body gets 422 from the route, 404 only when there is none. */
async function walletRouteExists(system) {
  const r = await postJson(system.base, WALLET_LOGIN_PATH, {});
  return r.status !== 404;
}

const DB_COUNTERS = ['xact_commit', 'xact_rollback', 'tup_returned', 'tup_fetched', 'tup_inserted', 'tup_updated', 'tup_deleted'];

async function databaseCounters(db) {
  const { rows } = await db.query(`SELECT ${DB_COUNTERS.join(', ')} FROM pg_stat_database WHERE datname = current_database()`);
  return Object.fromEntries(DB_COUNTERS.map((c) => [c, Number(rows[0][c])]));
}

/**
 * PostgreSQL's own counters over warm-up and measurement, per request: transactions (each
 * statement outside BEGIN is one), rows read and written. Backends publish their counters within
 * about a second of going idle, hence the wait.
 */
async function databaseWorkPerRequest(db, before, requests) {
  await sleep(1100);
  const after = await databaseCounters(db);
  const per = (c) => Math.round(((after[c] - before[c]) / requests) * 100) / 100;
  return {
    transactions: per('xact_commit') + per('xact_rollback'),
    rowsRead: per('tup_fetched'),
    rowsInserted: per('tup_inserted'),
    rowsUpdated: per('tup_updated'),
    rowsDeleted: per('tup_deleted'),
  };
}

/** Starts a system and records its start to ready and its RSS when up. */
async function startForBench(name, argv, env) {
  console.log(`\n${name}: starting (${WORKERS} workers)`);
  const system = await startSystem(name, argv, env);
  const upBy = { log: 'all workers listening', idle: 'all workers up and idle', timeout: 'workers still busy after 5 s' }[system.allWorkersUpBy];
  console.log(`  ready in ${system.readyMs} ms (${upBy}${system.allWorkersUpMs !== undefined ? ` at ${system.allWorkersUpMs} ms` : ''})`);
  system.report = { startToReadyMs: system.readyMs, allWorkersUpMs: system.allWorkersUpMs ?? null, allWorkersUpBy: system.allWorkersUpBy, rssAtReady: sampleRss(system), scenarios: {} };
  console.log(`  RSS when up: ${system.report.rssAtReady.workers.map((w) => `${w.rssMb} MB`).join(', ')} per worker (primary ${system.report.rssAtReady.primary.rssMb} MB)`);
  system.context = {};
  return system;
}

async function runScenario(system, scenario, fixtures, db) {
  const label = `  ${system.name.padEnd(7)}`;
  if (scenario === 'wallet-login' && !(await walletRouteExists(system))) {
    console.log(`${label} skipped: endpoint missing (POST ${WALLET_LOGIN_PATH} answers 404)`);
    system.report.scenarios[scenario] = { skipped: 'endpoint missing' };
    return;
  }
  const data = await prepare(system, scenario, fixtures, system.context);
  process.stdout.write(`${label} ${WARMUP} s warm-up + ${DURATION} s at ${CONNECTIONS} connections ... `);
  const before = await databaseCounters(db);
  const answer = await drive(system, scenario, data);
  const r = answer.result;
  r.databasePerRequest = await databaseWorkPerRequest(db, before, r.totalRequests + answer.warmup.totalRequests);
  if (scenario === 'login') system.context.loginRate = r.requestsPerSecond;
  // Other work on the machine skews every figure: the 1-minute load average says how much there was.
  r.loadAverage1m = Math.round(os.loadavg()[0] * 100) / 100;
  console.log(`${Math.round(r.requestsPerSecond)} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, errors ${r.errors + r.timeouts}, non-2xx ${r.non2xx} (load average ${r.loadAverage1m})`);
  for (const [status, samples] of Object.entries(r.non2xxSamples)) console.log(`      ${status}: ${samples[0]}`);
  const d = r.databasePerRequest;
  console.log(`      PostgreSQL per request: ${d.transactions} transactions, ${d.rowsRead} rows read, ${d.rowsInserted} inserted, ${d.rowsUpdated} updated`);
  system.report.scenarios[scenario] = { ...r, warmup: answer.warmup, window: answer.window };
}

/** Samples RSS per worker after the run, then stops the system. */
async function finishSystem(system, options = {}) {
  const rss = sampleRss(system);
  system.report.rss = rss;
  console.log(`${system.name}: RSS after the run ${rss.workers.map((w) => `${w.rssMb} MB`).join(', ')} per worker (primary ${rss.primary.rssMb} MB)`);
  system.report.log = system.lines.filter((l) => !/listening on/i.test(l)).slice(-20);
  system.report.workerExitMs = await stopSystem(system, options);
  return system.report;
}

/**
 * Both systems run side by side and each scenario drives one and then the other, so that a change
 * in the machine's other load during the run skews both figures of a ratio alike. The idle one
 * costs nothing but memory.
 */
async function benchAll(fixtures, serviceArgv, serviceEnv, floorEnv, results) {
  const db = new pg.Client({ connectionString: serviceEnv.DATABASE_URL });
  // Dropping the database at the end (or on Ctrl-C) terminates this connection: not an error.
  db.on('error', () => undefined);
  await db.connect();
  try {
    const sigauth = await startForBench('sigauth', serviceArgv, serviceEnv);
    const floor = RUN_FLOOR && scenarios.some((s) => FLOOR_SCENARIOS.has(s)) ? await startForBench('floor', [FLOOR_MAIN], floorEnv) : undefined;
    for (const scenario of scenarios) {
      console.log(`\n${scenario}`);
      await runScenario(sigauth, scenario, fixtures, db);
      if (floor && FLOOR_SCENARIOS.has(scenario)) await runScenario(floor, scenario, fixtures, db);
    }
    console.log('');
    results.systems.sigauth = await finishSystem(sigauth, { primaryOnly: args.profile });
    if (floor) results.systems.floor = await finishSystem(floor);
  } finally {
    await db.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

const fmt = (n, digits = 0) => (n === undefined || n === null || Number.isNaN(n) ? '-' : Number(n).toFixed(digits));

function table(results) {
  const rows = [['scenario', 'system', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'req/s vs floor', 'p99 vs floor']];
  for (const scenario of scenarios) {
    for (const system of ['sigauth', 'floor']) {
      const s = results.systems[system]?.scenarios[scenario];
      if (!s) continue;
      if (s.skipped) {
        rows.push([scenario, system, `skipped: ${s.skipped}`, '', '', '', '', '', '']);
        continue;
      }
      const ratio = results.ratios[scenario];
      const mine = system === 'sigauth' && ratio;
      rows.push([
        scenario,
        system,
        fmt(s.requestsPerSecond),
        fmt(s.latencyMs.p50),
        fmt(s.latencyMs.p99),
        String(s.errors + s.timeouts),
        String(s.non2xx + (s.wrong2xx ?? 0)),
        mine ? `${fmt(ratio.requestsPerSecond * 100)} %` : '',
        mine ? `${fmt(ratio.p99, 2)}x` : '',
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  for (const system of ['sigauth', 'floor']) {
    const s = results.systems[system];
    if (!s) continue;
    out.push(`${system}: start to ready ${s.startToReadyMs} ms; RSS per worker after the run ${s.rss?.workers.map((w) => `${w.rssMb} MB`).join(', ') ?? '-'}`);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

function redacted(url) {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function main() {
  for (const s of scenarios) if (!ALL_SCENARIOS.includes(s)) fail(`unknown scenario "${s}" (known: ${ALL_SCENARIOS.join(', ')})`);
  for (const [name, value] of [['duration', DURATION], ['warmup', WARMUP], ['connections', CONNECTIONS], ['users', USERS], ['workers', WORKERS]]) {
    if (!Number.isFinite(value) || value < (name === 'warmup' ? 0 : 1)) fail(`--${name} must be a positive number`);
  }
  if (!existsSync(SERVICE_MAIN) || !existsSync(CLI_MAIN)) fail(`${SERVICE_MAIN} is missing: run \`npm run build\` first`);
  const started = Date.now();
  const databaseUrl = await createDatabase();
  tempDir = mkdtempSync(join(os.tmpdir(), 'sigauth-bench-'));
  mkdirSync(RESULTS_DIR, { recursive: true });
  console.log(`bench: database ${databaseName}, ${USERS} users, scenarios ${scenarios.join(', ')}, ${WORKERS} workers, ${os.availableParallelism()} cores`);
  const [load1] = os.loadavg();
  if (load1 > os.availableParallelism() / 2) {
    console.log(`bench: warning: load average ${load1.toFixed(1)} on ${os.availableParallelism()} cores before starting: other work will skew the figures`);
  }

  let t = performance.now();
  const fixtures = makeFixtures(USERS);
  const seedPath = join(tempDir, 'seed.json');
  writeFileSync(seedPath, JSON.stringify(seedFile(fixtures)));
  const fixturesMs = Math.round(performance.now() - t);
  t = performance.now();
  const baseEnv = { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', NODE_ENV: 'production' };
  delete baseEnv.NODE_OPTIONS;
  await runToCompletion(process.execPath, ['--no-warnings', CLI_MAIN, 'db', 'seed', '--file', seedPath], baseEnv, 'seeding through the CLI');
  const seedMs = Math.round(performance.now() - t);
  console.log(`bench: fixtures in ${fixturesMs} ms, seeded ${USERS + 1} users through the CLI in ${seedMs} ms`);

  const results = {
    date: new Date().toISOString(),
    machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverage1mAtStart: Math.round(os.loadavg()[0] * 100) / 100 },
    settings: { users: USERS, workers: WORKERS, connections: CONNECTIONS, warmupSeconds: WARMUP, durationSeconds: DURATION, scenarios },
    seedMs,
    systems: {},
    ratios: {},
  };

  let profileDir;
  const serviceArgv = [SERVICE_MAIN];
  if (args.profile) {
    profileDir = join(RESULTS_DIR, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
    mkdirSync(profileDir, { recursive: true });
    serviceArgv.unshift('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  // All load comes from one address: its per-address budget is raised to the maximum so that the
  // limiter still counts every request, as it would for many clients, without refusing any.
  const serviceEnv = { ...baseEnv, WORKERS: String(WORKERS), RATE_LIMIT_PER_IP: process.env.RATE_LIMIT_PER_IP ?? '1000000' };
  await benchAll(fixtures, serviceArgv, serviceEnv, { ...baseEnv, FLOOR_WORKERS: String(WORKERS) }, results);

  for (const scenario of scenarios) {
    const mine = results.systems.sigauth.scenarios[scenario];
    const floor = results.systems.floor?.scenarios[scenario];
    if (!mine || mine.skipped || !floor || floor.skipped) continue;
    results.ratios[scenario] = {
      requestsPerSecond: Math.round((mine.requestsPerSecond / floor.requestsPerSecond) * 1000) / 1000,
      p99: Math.round((mine.latencyMs.p99 / floor.latencyMs.p99) * 100) / 100,
    };
  }
  results.totalSeconds = Math.round((Date.now() - started) / 1000);

  console.log(`\n${table(results)}\n`);
  if (args.profile) {
    const summary = summarizeProfiles(profileDir, results.systems.sigauth);
    results.profile = summary;
    console.log(summary.text);
    writeFileSync(join(RESULTS_DIR, 'profile-latest.json'), JSON.stringify(results, null, 2) + '\n');
    console.log(`bench: wrote bench/results/profile-latest.json; profiles in ${profileDir.slice(ROOT.length + 1)} (open in Chrome DevTools)`);
  } else {
    writeFileSync(join(RESULTS_DIR, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
    console.log(`bench: wrote bench/results/latest.json (${results.totalSeconds} s in all)`);
  }
}

main()
  .catch((error) => {
    console.error(`bench: ${error instanceof BenchError ? error.message : (error.stack ?? error)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
