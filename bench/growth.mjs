// npm run bench:growth: sigauth on an empty database and on one holding ten million sessions and
// ten million refresh tokens, in the same run; then the retention cleanup under a login load.
//
//   node bench/growth.mjs [--sessions 10000000] [--rate 300] [--duration 10] [--warmup 3]
//                         [--connections 16] [--users 200] [--cleanup-seconds 60] [--workers N]
//
// Needs `npm run build` first. A database of its own on TEST_DATABASE_URL (bench/harness.mjs),
// dropped at the end. Latency is measured at a fixed offered rate (--rate requests/s), below what
// the machine serves, so that p99 is the latency of a request and not the length of a queue.
// Prints the figures and writes bench/results/growth-latest.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  CLI_MAIN,
  RESULTS_DIR,
  SERVICE_MAIN,
  cleanup,
  createDatabase,
  fail,
  installCleanup,
  introspectionData,
  loadAverage1m,
  makeFixtures,
  makeTempDir,
  refreshPool,
  runLoad,
  seedUsers,
  sleep,
  startSystem,
  stopSystem,
  writeSeedFile,
  BenchError,
} from './harness.mjs';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '10000000' },
    rate: { type: 'string', default: '300' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    users: { type: 'string', default: '200' },
    'cleanup-seconds': { type: 'string', default: '60' },
    workers: { type: 'string' },
  },
});
const SESSIONS = Number(args.sessions);
const RATE = Number(args.rate);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const USERS = Number(args.users);
const CLEANUP_SECONDS = Number(args['cleanup-seconds']);
const WORKERS = Number(args.workers ?? os.availableParallelism());
const CHUNK = 1_000_000;
const SCENARIOS = ['login', 'refresh', 'introspect'];

installCleanup('bench:growth');

// ---------------------------------------------------------------------------------------------
// Sizes.

const TABLES = ['sessions', 'refresh_tokens', 'audit_events'];

/** Bytes on disk of each table with its indexes and TOAST (pg_total_relation_size; the audit log summed over its partitions), and row counts. */
async function footprint(db) {
  const { rows } = await db.query(`
    SELECT t.name,
           CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(pg_total_relation_size(p.relid)), 0) FROM pg_partition_tree(c.oid) p)
                ELSE pg_total_relation_size(c.oid) END::float8 AS bytes
      FROM unnest($1::text[]) AS t(name) JOIN pg_class c ON c.oid = t.name::regclass`, [TABLES]);
  const out = {};
  for (const r of rows) out[r.name] = { bytes: Number(r.bytes) };
  for (const table of TABLES) out[table].rows = Number((await db.query(`SELECT count(*)::float8 AS n FROM ${table}`)).rows[0].n);
  return out;
}

const perRow = (before, after, table, rowsOf = table) => {
  const rows = after[rowsOf].rows - before[rowsOf].rows;
  return rows > 0 ? Math.round((after[table].bytes - before[table].bytes) / rows) : null;
};

// ---------------------------------------------------------------------------------------------
// Fill: ten million sessions and as many refresh tokens, straight in SQL.

/**
 * What a day of logins leaves behind when nothing deletes it, by session number i (i % 100):
 * 10 % live (logged in within the last 24 h, not refreshed to its end yet); 10 % ended within the
 * last 7 days (SESSION_RETENTION: the cleanup keeps them); 80 % ended 8 to 15 days ago (the backlog
 * the cleanup removes). A session ends when its 24 h refresh token expires unrefreshed, or by logout
 * (every fifth). One session in 20 is a service account's (access tokens only, no refresh token) and
 * one in 20 was refreshed once (a retired token and its live child): as many refresh tokens as sessions.
 */
const FILL_SESSIONS = `
INSERT INTO sessions (id, user_id, client_id, credential_kind, credential_id, ip, user_agent, created_at, last_used_at, expires_at, revoked_at, revoked_reason)
SELECT md5('s' || i)::uuid, u.user_id,
       CASE WHEN i % 20 = 0 THEN 'service' ELSE 'fib' END,
       (CASE WHEN i % 20 = 0 THEN 'PASSWORD' ELSE 'ED25519_KEY' END)::"CredentialKind",
       CASE WHEN i % 20 = 0 THEN NULL ELSE u.key_id END,
       '10.' || (i % 250) || '.' || (i / 250 % 250) || '.' || (i / 62500 % 250),
       'Mozilla/5.0 (X11; Linux x86_64) fib-client/2.3.1',
       c.created, c.created + CASE WHEN i % 20 = 1 THEN interval '5 minutes' ELSE interval '0' END,
       c.created + CASE WHEN i % 20 = 1 THEN interval '5 minutes' ELSE interval '0' END + interval '24 hours',
       CASE WHEN i % 100 >= 10 AND i % 5 = 0 THEN c.created + interval '10 minutes' END,
       CASE WHEN i % 100 >= 10 AND i % 5 = 0 THEN 'logout' END
  FROM generate_series($1::bigint, $2::bigint - 1) AS i
  JOIN bench_principals u ON u.n = i % $3
  CROSS JOIN LATERAL (SELECT $4::timestamptz - make_interval(secs => CASE
         WHEN i % 100 < 10 THEN 60 + (i * 7919) % 85000
         WHEN i % 100 < 20 THEN 2 * 86400 + (i * 7919) % (4 * 86400)
         ELSE 8 * 86400 + (i * 7919) % (7 * 86400) END) AS created) c`;

const FILL_REFRESH_TOKENS = `
INSERT INTO refresh_tokens (jti, session_id, parent_jti, issued_at, expires_at, rotated_at, access_jti, access_expires_at, kid, claims)
SELECT md5('t' || i)::uuid, s.id, NULL, s.created_at, s.created_at + interval '24 hours',
       CASE WHEN i % 20 = 1 THEN s.created_at + interval '5 minutes' END, NULL, NULL, NULL, NULL
  FROM generate_series($1::bigint, $2::bigint - 1) AS i JOIN sessions s ON s.id = md5('s' || i)::uuid
 WHERE i % 20 <> 0
UNION ALL
SELECT md5('u' || i)::uuid, s.id, md5('t' || i)::uuid, s.last_used_at, s.expires_at, NULL,
       md5('v' || i)::uuid, s.last_used_at + interval '5 minutes', 'bench-kid',
       jsonb_build_object('acc', 'user' || (i % $3) || '@bench', 'sub', 'user' || (i % $3) || '@bench.sigauth', 'role', 'ROLE_PEER')
  FROM generate_series($1::bigint, $2::bigint - 1) AS i JOIN sessions s ON s.id = md5('s' || i)::uuid
 WHERE i % 20 = 1`;

async function fill(db, count) {
  await db.query(`CREATE TEMP TABLE bench_principals AS
    SELECT (row_number() OVER (ORDER BY u.id) - 1)::int AS n, u.id AS user_id, k.id AS key_id
      FROM users u JOIN public_keys k ON k.user_id = u.id WHERE u.role = 'ROLE_PEER'`);
  const principals = Number((await db.query('SELECT count(*) AS n FROM bench_principals')).rows[0].n);
  const now = new Date();
  // The fill is setup, not measured: its commits need not wait for the WAL to reach the disk.
  await db.query('SET synchronous_commit = off');
  const started = performance.now();
  for (let from = 0; from < count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK);
    await db.query('BEGIN');
    await db.query(FILL_SESSIONS, [from, to, principals, now]);
    await db.query(FILL_REFRESH_TOKENS, [from, to, principals]);
    await db.query('COMMIT');
    process.stdout.write(`\r  filled ${to.toLocaleString('en')} sessions (${Math.round((performance.now() - started) / 1000)} s)`);
  }
  process.stdout.write('\n');
  await db.query('RESET synchronous_commit');
  // What autovacuum would have done over a day: statistics for the planner, and the visibility map.
  await db.query('VACUUM (ANALYZE) sessions, refresh_tokens');
  return Math.round((performance.now() - started) / 1000);
}

// ---------------------------------------------------------------------------------------------
// Load.

async function scenarioData(system, scenario, fixtures) {
  if (scenario === 'login') return { bodies: fixtures.users.map((u) => u.body) };
  if (scenario === 'refresh') return refreshPool(system, fixtures, 400);
  return introspectionData(system, fixtures, 200);
}

async function measure(system, scenario, data, seconds = DURATION, onEvent) {
  const message = { url: system.base, scenario, connections: CONNECTIONS, warmupSeconds: WARMUP, durationSeconds: seconds, overallRate: RATE, notifyStart: Boolean(onEvent) };
  const answer = await runLoad(`${system.name}-${scenario}`, data, message, `${system.name}/${scenario}`, onEvent);
  const r = answer.result;
  console.log(`  ${scenario.padEnd(10)} ${Math.round(r.requestsPerSecond)} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms, errors ${r.errors + r.timeouts}, non-2xx ${r.non2xx} (load average ${loadAverage1m()})`);
  for (const [status, samples] of Object.entries(r.non2xxSamples)) console.log(`      ${status}: ${samples[0]}`);
  return { ...r, warmupRequests: answer.warmup?.totalRequests ?? 0 };
}

/** The three scenarios, with the bytes each left behind per request (tables, indexes, audit log). */
async function measureAll(system, fixtures, db, label) {
  console.log(`\n${label}`);
  const out = {};
  for (const scenario of SCENARIOS) {
    // The setup logins of a scenario (its refresh pool, its tokens to introspect) are not its footprint.
    const data = await scenarioData(system, scenario, fixtures);
    await sleep(600);
    const before = await footprint(db);
    out[scenario] = await measure(system, scenario, data);
    // The audit writer flushes every 200 ms.
    await sleep(600);
    const after = await footprint(db);
    out[scenario].footprint = { before, after };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lock waits: pg_locks.waitstart of every lock a backend of this database waits for, sampled.

function watchLockWaits(url, everyMs = 5) {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  const waits = new Map();
  let stopped = false;
  let samples = 0;
  const loop = (async () => {
    await client.connect();
    while (!stopped) {
      const { rows } = await client.query(`
        SELECT l.pid, l.locktype, l.mode, l.waitstart, extract(epoch FROM now() - l.waitstart) * 1000 AS waited_ms, left(a.query, 120) AS query,
               (SELECT string_agg(left(b.query, 80), ' | ') FROM pg_stat_activity b WHERE b.pid = ANY(pg_blocking_pids(l.pid))) AS blocked_by
          FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE NOT l.granted AND a.datname = current_database() AND l.waitstart IS NOT NULL`);
      samples++;
      for (const r of rows) {
        const key = `${r.pid}:${new Date(r.waitstart).toISOString()}:${r.locktype}`;
        const seen = waits.get(key);
        if (!seen || Number(r.waited_ms) > seen.waitedMs) waits.set(key, { waitedMs: Number(r.waited_ms), locktype: r.locktype, mode: r.mode, query: r.query, blockedBy: r.blocked_by });
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop.catch(() => undefined);
      await client.end().catch(() => undefined);
      const all = [...waits.values()].sort((a, b) => b.waitedMs - a.waitedMs);
      const logins = all.filter((w) => /INSERT INTO sessions|INSERT INTO refresh_tokens/.test(w.query));
      return { samples, waitsSeen: all.length, longestMs: all[0]?.waitedMs ?? 0, longestLoginMs: logins[0]?.waitedMs ?? 0, longest: all.slice(0, 5) };
    },
  };
}

async function deletedRows(db) {
  const { rows } = await db.query(`SELECT coalesce(sum(n_tup_del), 0)::float8 AS n FROM pg_stat_user_tables WHERE relname IN ('sessions', 'refresh_tokens')`);
  return Number(rows[0].n);
}

/** The cleanup on a full database while a login load runs: rows deleted per second, and the lock waits of the run. */
async function cleanupUnderLoad(serviceEnv, fixtures, db, databaseUrl) {
  console.log(`\ncleanup under a login load (${CLEANUP_SECONDS} s at ${RATE} logins/s)`);
  const system = await startSystem('sigauth', [SERVICE_MAIN], { ...serviceEnv, CLEANUP_INTERVAL_MS: '1000' }, WORKERS);
  const watcher = watchLockWaits(databaseUrl);
  let window;
  const deletedBefore = await deletedRows(db);
  const login = await measure(system, 'login', await scenarioData(system, 'login', fixtures), CLEANUP_SECONDS, (m) => {
    if (m.event === 'measuring') window = { started: performance.now() };
  });
  window.seconds = (performance.now() - window.started) / 1000;
  // Statistics reach pg_stat_user_tables within about a second of each transaction.
  await sleep(1100);
  const deleted = (await deletedRows(db)) - deletedBefore;
  const locks = await watcher.stop();
  await stopSystem(system);
  const elapsed = window.seconds + WARMUP;
  const result = { login, rowsDeleted: deleted, seconds: Math.round(elapsed), rowsPerSecond: Math.round(deleted / elapsed), locks };
  console.log(`  cleanup deleted ${deleted.toLocaleString('en')} session and refresh-token rows in ${Math.round(elapsed)} s: ${result.rowsPerSecond.toLocaleString('en')} rows/s`);
  console.log(`  lock waits seen (pg_locks.waitstart, sampled every 5 ms, ${locks.samples} samples): ${locks.waitsSeen}; longest ${Math.round(locks.longestMs)} ms; longest of a login ${Math.round(locks.longestLoginMs)} ms`);
  for (const w of locks.longest) console.log(`      ${Math.round(w.waitedMs)} ms ${w.locktype}/${w.mode}: ${w.query} (blocked by ${w.blockedBy ?? '?'})`);
  return result;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  for (const [name, value] of [['sessions', SESSIONS], ['rate', RATE], ['duration', DURATION], ['connections', CONNECTIONS], ['users', USERS], ['cleanup-seconds', CLEANUP_SECONDS], ['workers', WORKERS]]) {
    if (!Number.isFinite(value) || value < 1) fail(`--${name} must be a positive number`);
  }
  if (!existsSync(SERVICE_MAIN) || !existsSync(CLI_MAIN)) fail(`${SERVICE_MAIN} is missing: run \`npm run build\` first`);
  const started = Date.now();
  const { name: databaseName, url: databaseUrl } = await createDatabase('sigauth_growth');
  makeTempDir('sigauth-growth');
  mkdirSync(RESULTS_DIR, { recursive: true });
  console.log(`bench:growth: database ${databaseName}, ${SESSIONS.toLocaleString('en')} sessions, ${USERS} users, ${RATE} req/s offered, ${WORKERS} workers, ${os.availableParallelism()} cores, load average ${loadAverage1m()}`);

  const fixtures = makeFixtures(USERS);
  const baseEnv = { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', NODE_ENV: 'production' };
  delete baseEnv.NODE_OPTIONS;
  await seedUsers(writeSeedFile(fixtures), baseEnv);
  // The measured runs hold the cleanup off (one run a day, none within the bench); its own phase turns it on.
  const serviceEnv = { ...baseEnv, WORKERS: String(WORKERS), RATE_LIMIT_PER_IP: '1000000', CLEANUP_INTERVAL_MS: '86400000' };

  const db = new pg.Client({ connectionString: databaseUrl });
  db.on('error', () => undefined);
  await db.connect();
  const results = {
    date: new Date().toISOString(),
    machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, loadAverage1mAtStart: loadAverage1m() },
    settings: { sessions: SESSIONS, users: USERS, rate: RATE, connections: CONNECTIONS, warmupSeconds: WARMUP, durationSeconds: DURATION, cleanupSeconds: CLEANUP_SECONDS, workers: WORKERS },
  };
  try {
    let system = await startSystem('sigauth', [SERVICE_MAIN], serviceEnv, WORKERS);
    results.empty = await measureAll(system, fixtures, db, 'empty database');
    await stopSystem(system);

    console.log(`\nfilling ${SESSIONS.toLocaleString('en')} sessions and as many refresh tokens`);
    const beforeFill = await footprint(db);
    results.fillSeconds = await fill(db, SESSIONS);
    const afterFill = await footprint(db);
    results.filled = afterFill;
    console.log(`  in ${results.fillSeconds} s: sessions ${afterFill.sessions.rows.toLocaleString('en')} rows, ${(afterFill.sessions.bytes / 2 ** 20).toFixed(0)} MiB; refresh_tokens ${afterFill.refresh_tokens.rows.toLocaleString('en')} rows, ${(afterFill.refresh_tokens.bytes / 2 ** 20).toFixed(0)} MiB`);
    results.bytesPerFilledRow = { sessions: perRow(beforeFill, afterFill, 'sessions'), refresh_tokens: perRow(beforeFill, afterFill, 'refresh_tokens') };

    system = await startSystem('sigauth', [SERVICE_MAIN], serviceEnv, WORKERS);
    results.full = await measureAll(system, fixtures, db, `full database (${SESSIONS.toLocaleString('en')} sessions)`);
    await stopSystem(system);

    results.cleanup = await cleanupUnderLoad(serviceEnv, fixtures, db, databaseUrl);
  } finally {
    await db.end().catch(() => undefined);
  }

  const e = results.empty;
  const login = e.login.footprint;
  const refresh = e.refresh.footprint;
  const sum = (f) => TABLES.reduce((n, t) => n + f[t].bytes, 0);
  const logins = login.after.sessions.rows - login.before.sessions.rows;
  const refreshes = refresh.after.refresh_tokens.rows - refresh.before.refresh_tokens.rows;
  results.bytes = {
    perLogin: { all: Math.round((sum(login.after) - sum(login.before)) / logins), sessions: perRow(login.before, login.after, 'sessions'), refresh_tokens: perRow(login.before, login.after, 'refresh_tokens', 'sessions'), audit_events: perRow(login.before, login.after, 'audit_events', 'sessions') },
    perRefresh: { all: refreshes > 0 ? Math.round((sum(refresh.after) - sum(refresh.before)) / refreshes) : null },
    perAuditEvent: perRow(login.before, login.after, 'audit_events'),
    auditEventsPerLogin: Math.round(((login.after.audit_events.rows - login.before.audit_events.rows) / logins) * 100) / 100,
  };
  results.ratios = Object.fromEntries(SCENARIOS.map((s) => [s, Math.round((results.full[s].latencyMs.p99 / results.empty[s].latencyMs.p99) * 100) / 100]));
  results.totalSeconds = Math.round((Date.now() - started) / 1000);

  console.log('\nsummary');
  for (const s of SCENARIOS) console.log(`  ${s.padEnd(10)} p99 ${results.empty[s].latencyMs.p99} ms empty, ${results.full[s].latencyMs.p99} ms at ${SESSIONS.toLocaleString('en')} sessions: ratio ${results.ratios[s]} (target <= 1.2)`);
  console.log(`  longest lock wait a login saw during the cleanup: ${Math.round(results.cleanup.locks.longestLoginMs)} ms (target < 100 ms); any statement: ${Math.round(results.cleanup.locks.longestMs)} ms`);
  console.log(`  login p99 during the cleanup ${results.cleanup.login.latencyMs.p99} ms, max ${results.cleanup.login.latencyMs.max} ms`);
  console.log(`  cleanup: ${results.cleanup.rowsPerSecond.toLocaleString('en')} rows/s`);
  console.log(`  bytes per login ${results.bytes.perLogin.all} (session ${results.bytes.perLogin.sessions}, refresh token ${results.bytes.perLogin.refresh_tokens}, audit ${results.bytes.perLogin.audit_events}); per refresh ${results.bytes.perRefresh.all}; per audit event ${results.bytes.perAuditEvent}`);
  console.log(`  at ${SESSIONS.toLocaleString('en')} rows: ${results.bytesPerFilledRow.sessions} bytes per session, ${results.bytesPerFilledRow.refresh_tokens} per refresh token`);
  writeFileSync(join(RESULTS_DIR, 'growth-latest.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(`bench:growth: wrote bench/results/growth-latest.json (${results.totalSeconds} s in all)`);
}

main()
  .catch((error) => {
    console.error(`bench:growth: ${error instanceof BenchError ? error.message : (error.stack ?? error)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
