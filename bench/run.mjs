// npm run bench: sigauth against the floor (bench/floor-server.mjs) on a fresh PostgreSQL database.
//
//   node bench/run.mjs [--scenarios login,refresh,introspect,wallet-login] [--duration 15] [--warmup 3]
//                      [--connections 64] [--users 1000] [--no-floor] [--profile]
//
// Needs `npm run build` first (it runs dist/server/main.js and the CLI in dist/). PostgreSQL comes from
// TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres); the bench creates a
// database of its own there and drops it at the end. Prints a table and writes
// bench/results/latest.json. --profile runs sigauth's workers under --cpu-prof for the scenarios
// given (the floor is skipped) and prints the top self-time functions of the measured window.
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  BENCH_DIR,
  BenchError,
  CLI_MAIN,
  ROOT,
  RESULTS_DIR,
  SERVICE_MAIN,
  cleanup,
  childPids,
  cpuTicks,
  createDatabase,
  fail,
  installCleanup,
  introspectionData,
  makeFixtures,
  makeTempDir,
  mapLimit,
  postJson,
  postgresPids,
  refreshPool,
  runLoad,
  sampleRss,
  seedUsers,
  sleep,
  startSystem,
  stopSystem,
  track,
  writeSeedFile,
} from './harness.mjs';
import { summarizeProfiles } from './profile-summary.mjs';

const FLOOR_MAIN = join(BENCH_DIR, 'floor-server.mjs');
const WALLET_LOGIN_PATH = '/api/auth/login';
const ALL_SCENARIOS = ['login', 'refresh', 'introspect', 'wallet-login'];
const FLOOR_SCENARIOS = new Set(['login', 'refresh', 'introspect']);
// The second floor, in the floor's own processes: its login also persists the session (sigauth's
// INSERT, its own commit). Refresh and introspection are the same handlers on both floors (the
// refresh floor already writes its rotation in one statement; introspection writes nothing), so
// they are measured once and both ratios of those scenarios are to that one measurement.
const SESSION_FLOOR_SCENARIOS = new Set(['login']);
const PERSISTED_LOGIN_PATH = '/floor/persisted-session';
const SYSTEMS = ['sigauth', 'floor', 'sessionFloor'];
const SYSTEM_LABELS = { sigauth: 'sigauth', floor: 'floor', sessionFloor: 'floor+session' };
const REFRESH_POOL = 400;
const INTROSPECT_TOKENS = 200;

const USAGE = `usage: node bench/run.mjs [--scenarios ${ALL_SCENARIOS.join(',')}] [--duration 15] [--warmup 3]
                         [--connections 64] [--users 1000] [--workers N] [--no-floor] [--profile]
                         [--node-option=--max-semi-space-size=4 ...]
(bench/README.md explains the scenarios and the figures)`;

/** parseArgs, with a usage line instead of a stack trace for an option it does not know. */
function parseArguments(config) {
  try {
    return parseArgs(config);
  } catch (error) {
    console.error(`bench: ${error.message}\n${USAGE}`);
    process.exit(2);
  }
}

const { values: args } = parseArguments({
  options: {
    scenarios: { type: 'string', default: ALL_SCENARIOS.join(',') },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    users: { type: 'string', default: '1000' },
    workers: { type: 'string' },
    'no-floor': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'node-option': { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const scenarios = args.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const USERS = Number(args.users);
const WORKERS = Number(args.workers ?? os.availableParallelism());
const RUN_FLOOR = !args['no-floor'] && !args.profile;

installCleanup('bench');

// ---------------------------------------------------------------------------------------------
// Fixtures.

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
// Load.

function drive(system, scenario, data) {
  const message = { url: system.base, scenario, connections: CONNECTIONS, warmupSeconds: WARMUP, durationSeconds: DURATION };
  return runLoad(`${system.name}-${scenario}`, data, message, `${system.name}/${scenario}`);
}

async function prepare(system, scenario, fixtures, context) {
  const users = fixtures.users;
  switch (scenario) {
    case 'login':
      return { bodies: users.map((u) => u.body), ...(system.name === 'sessionFloor' ? { path: PERSISTED_LOGIN_PATH } : {}) };
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
      return refreshPool(system, fixtures, REFRESH_POOL);
    }
    case 'introspect':
      return introspectionData(system, fixtures, INTROSPECT_TOKENS);
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
  const system = await startSystem(name, argv, env, WORKERS);
  const upBy = { log: 'all workers listening', idle: 'all workers up and idle', timeout: 'workers still busy after 5 s' }[system.allWorkersUpBy];
  console.log(`  ready in ${system.readyMs} ms (${upBy}${system.allWorkersUpMs !== undefined ? ` at ${system.allWorkersUpMs} ms` : ''})`);
  system.report = { startToReadyMs: system.readyMs, allWorkersUpMs: system.allWorkersUpMs ?? null, allWorkersUpBy: system.allWorkersUpBy, rssAtReady: sampleRss(system), scenarios: {} };
  console.log(`  RSS when up: ${system.report.rssAtReady.workers.map((w) => `${w.rssMb} MB`).join(', ')} per worker (primary ${system.report.rssAtReady.primary.rssMb} MB)`);
  system.context = {};
  return system;
}

/** CPU time so far of a system (its primary and workers) and of PostgreSQL (every postgres process), in ticks. */
function cpuSnapshot(system) {
  const ticks = (pids) => new Map(pids.map((pid) => [pid, cpuTicks(pid)]));
  return { system: ticks([system.child.pid, ...childPids(system.child.pid)]), postgres: ticks(postgresPids()) };
}

/**
 * CPU milliseconds per request over warm-up and measurement: the system's processes, and
 * PostgreSQL's (every backend, so only the work of this run while nothing else queries it).
 * A process that ended in between counts for nothing; one that started counts from zero.
 */
function cpuPerRequest(before, after, requests) {
  const spent = (a, b) => [...b].reduce((sum, [pid, t]) => sum + Math.max(0, t - (a.get(pid) ?? 0)), 0);
  const ms = (ticks) => Math.round(((ticks * 10) / requests) * 1000) / 1000;
  return { systemMs: ms(spent(before.system, after.system)), postgresMs: ms(spent(before.postgres, after.postgres)) };
}

async function runScenario(system, scenario, fixtures, db) {
  const label = `  ${(SYSTEM_LABELS[system.name] ?? system.name).padEnd(13)}`;
  if (scenario === 'wallet-login' && !(await walletRouteExists(system))) {
    console.log(`${label} skipped: endpoint missing (POST ${WALLET_LOGIN_PATH} answers 404)`);
    system.report.scenarios[scenario] = { skipped: 'endpoint missing' };
    return;
  }
  const data = await prepare(system, scenario, fixtures, system.context);
  process.stdout.write(`${label} ${WARMUP} s warm-up + ${DURATION} s at ${CONNECTIONS} connections ... `);
  const before = await databaseCounters(db);
  const cpuBefore = cpuSnapshot(system);
  const answer = await drive(system, scenario, data);
  const cpuAfter = cpuSnapshot(system);
  const r = answer.result;
  r.cpuPerRequest = cpuPerRequest(cpuBefore, cpuAfter, r.totalRequests + answer.warmup.totalRequests);
  r.databasePerRequest = await databaseWorkPerRequest(db, before, r.totalRequests + answer.warmup.totalRequests);
  if (scenario === 'login') system.context.loginRate = r.requestsPerSecond;
  // Other work on the machine skews every figure: the 1-minute load average says how much there was.
  r.loadAverage1m = Math.round(os.loadavg()[0] * 100) / 100;
  console.log(`${Math.round(r.requestsPerSecond)} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, errors ${r.errors + r.timeouts}, non-2xx ${r.non2xx} (load average ${r.loadAverage1m})`);
  for (const [status, samples] of Object.entries(r.non2xxSamples)) console.log(`      ${status}: ${samples[0]}`);
  const d = r.databasePerRequest;
  console.log(`      PostgreSQL per request: ${d.transactions} transactions, ${d.rowsRead} rows read, ${d.rowsInserted} inserted, ${d.rowsUpdated} updated`);
  console.log(`      CPU per request: ${r.cpuPerRequest.systemMs} ms in ${SYSTEM_LABELS[system.name] ?? system.name}'s processes, ${r.cpuPerRequest.postgresMs} ms in PostgreSQL`);
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
    const sessionFloor = floor && { ...floor, name: 'sessionFloor', report: { sameProcessesAs: 'floor', scenarios: {} }, context: {} };
    for (const scenario of scenarios) {
      console.log(`\n${scenario}`);
      await runScenario(sigauth, scenario, fixtures, db);
      if (floor && FLOOR_SCENARIOS.has(scenario)) await runScenario(floor, scenario, fixtures, db);
      if (sessionFloor && SESSION_FLOOR_SCENARIOS.has(scenario)) await runScenario(sessionFloor, scenario, fixtures, db);
    }
    console.log('');
    results.systems.sigauth = await finishSystem(sigauth, { primaryOnly: args.profile });
    if (floor) results.systems.floor = await finishSystem(floor);
    if (sessionFloor) results.systems.sessionFloor = sessionFloor.report;
  } finally {
    await db.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

const fmt = (n, digits = 0) => (n === undefined || n === null || Number.isNaN(n) ? '-' : Number(n).toFixed(digits));

function table(results) {
  const rows = [['scenario', 'system', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'req/s vs floor', 'p99 vs floor', 'req/s vs floor+session', 'p99 vs floor+session']];
  const ratioCells = (ratio) => (ratio ? [`${fmt(ratio.requestsPerSecond * 100)} %`, `${fmt(ratio.p99, 2)}x`] : ['', '']);
  for (const scenario of scenarios) {
    for (const system of SYSTEMS) {
      const s = results.systems[system]?.scenarios[scenario];
      if (!s) continue;
      if (s.skipped) {
        rows.push([scenario, SYSTEM_LABELS[system], `skipped: ${s.skipped}`, '', '', '', '', '', '', '', '']);
        continue;
      }
      const ratio = system === 'sigauth' ? results.ratios[scenario] : undefined;
      rows.push([
        scenario,
        SYSTEM_LABELS[system],
        fmt(s.requestsPerSecond),
        fmt(s.latencyMs.p50),
        fmt(s.latencyMs.p99),
        String(s.errors + s.timeouts),
        String(s.non2xx + (s.wrong2xx ?? 0)),
        ...ratioCells(ratio?.floor),
        ...ratioCells(ratio?.sessionFloor),
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  if (results.systems.sessionFloor && scenarios.some((s) => FLOOR_SCENARIOS.has(s) && !SESSION_FLOOR_SCENARIOS.has(s))) {
    out.push('floor+session serves refresh and introspection with the floor\'s own handlers: those ratios are to the floor\'s measurement.');
  }
  for (const system of ['sigauth', 'floor']) {
    const s = results.systems[system];
    if (!s) continue;
    out.push(`${system}: start to ready ${s.startToReadyMs} ms; RSS per worker after the run ${s.rss?.workers.map((w) => `${w.rssMb} MB`).join(', ') ?? '-'}`);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  for (const s of scenarios) if (!ALL_SCENARIOS.includes(s)) fail(`unknown scenario "${s}" (known: ${ALL_SCENARIOS.join(', ')})`);
  for (const [name, value] of [['duration', DURATION], ['warmup', WARMUP], ['connections', CONNECTIONS], ['users', USERS], ['workers', WORKERS]]) {
    if (!Number.isFinite(value) || value < (name === 'warmup' ? 0 : 1)) fail(`--${name} must be a positive number`);
  }
  if (!existsSync(SERVICE_MAIN) || !existsSync(CLI_MAIN)) fail(`${SERVICE_MAIN} is missing: run \`npm run build\` first`);
  const started = Date.now();
  const { name: databaseName, url: databaseUrl } = await createDatabase();
  makeTempDir('sigauth-bench');
  mkdirSync(RESULTS_DIR, { recursive: true });
  console.log(`bench: database ${databaseName}, ${USERS} users, scenarios ${scenarios.join(', ')}, ${WORKERS} workers, ${os.availableParallelism()} cores`);
  const [load1] = os.loadavg();
  if (load1 > os.availableParallelism() / 2) {
    console.log(`bench: warning: load average ${load1.toFixed(1)} on ${os.availableParallelism()} cores before starting: other work will skew the figures`);
  }

  let t = performance.now();
  const fixtures = makeFixtures(USERS);
  const seedPath = writeSeedFile(fixtures);
  const fixturesMs = Math.round(performance.now() - t);
  t = performance.now();
  const baseEnv = { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', NODE_ENV: 'production' };
  delete baseEnv.NODE_OPTIONS;
  await seedUsers(seedPath, baseEnv);
  const seedMs = Math.round(performance.now() - t);
  console.log(`bench: fixtures in ${fixturesMs} ms, seeded ${USERS + 1} users through the CLI in ${seedMs} ms`);

  const results = {
    date: new Date().toISOString(),
    machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverage1mAtStart: Math.round(os.loadavg()[0] * 100) / 100 },
    settings: { users: USERS, workers: WORKERS, connections: CONNECTIONS, warmupSeconds: WARMUP, durationSeconds: DURATION, scenarios, sigauthNodeOptions: args['node-option'] },
    seedMs,
    systems: {},
    ratios: {},
  };

  let profileDir;
  // Node's own flags for sigauth (V8 heap sizing, say): the cluster's workers inherit them.
  const serviceArgv = [...args['node-option'], SERVICE_MAIN];
  if (args.profile) {
    profileDir = join(RESULTS_DIR, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
    mkdirSync(profileDir, { recursive: true });
    serviceArgv.unshift('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  // All load comes from one address: its per-address budget is raised to the maximum so that the
  // limiter still counts every request, as it would for many clients, without refusing any.
  const serviceEnv = { ...baseEnv, WORKERS: String(WORKERS), RATE_LIMIT_PER_IP: process.env.RATE_LIMIT_PER_IP ?? '1000000' };
  await benchAll(fixtures, serviceArgv, serviceEnv, { ...baseEnv, FLOOR_WORKERS: String(WORKERS) }, results);

  const ratioTo = (mine, floor) =>
    floor && !floor.skipped
      ? { requestsPerSecond: Math.round((mine.requestsPerSecond / floor.requestsPerSecond) * 1000) / 1000, p99: Math.round((mine.latencyMs.p99 / floor.latencyMs.p99) * 100) / 100 }
      : undefined;
  for (const scenario of scenarios) {
    const mine = results.systems.sigauth.scenarios[scenario];
    const floor = results.systems.floor?.scenarios[scenario];
    if (!mine || mine.skipped || !floor || floor.skipped) continue;
    const sessionFloor = results.systems.sessionFloor?.scenarios[scenario] ?? (results.systems.sessionFloor ? floor : undefined);
    results.ratios[scenario] = { floor: ratioTo(mine, floor), sessionFloor: ratioTo(mine, sessionFloor) };
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
