// npm run test:soak: sigauth under a steady FIB login load for 60 s at half of its measured maximum,
// with zero errors and flat memory. Not part of CI (it takes two to four minutes and wants a quiet
// machine).
//
//   node bench/soak.mjs [--duration 60] [--rate N] [--connections 64] [--probe-duration 10]
//                       [--warmup 3] [--settle-max 180] [--users 1000] [--workers N]
//
// Needs `npm run build` first. Like bench/run.mjs (and through the same bench/harness.mjs) it
// creates a database of its own at TEST_DATABASE_URL, seeds the users through the CLI, starts the
// built service (`node dist/server/main.js`, WORKERS = the core count, RATE_LIMIT_PER_IP 1,000,000:
// all load comes from one address) and cleans everything up on any exit. The service runs under
// `node --trace-gc`: one line per garbage collection, read from its output.
//
// 1. Settle: FIB logins (unthrottled, or at --rate) in 5 s rounds, at least --warmup seconds, until
//    every worker has done two major GCs (Mark-Compact, not the memory-reducing kind), at most
//    --settle-max seconds. Until its first major GC a worker's heap only grows (about 20 KB per
//    login, garbage included: about 90 s at 37 logins/s per worker on a busy machine, then RSS
//    drops by 50-70 MB), so memory is judged from the steady state on, not on that first climb.
// 2. Probe (skipped with --rate N): FIB logins unthrottled at 64 connections for 10 s; the maximum
//    is autocannon's mean of per-second samples.
// 3. Soak: FIB logins for --duration seconds at half that rate (autocannon overallRate: each
//    connection sends its share of every second's quota, then waits for the next second), with the
//    RSS of the primary and of every worker read from /proc every 5 s (0, 5, ..., 60 s).
// 4. Checks (any failure: exit code 1): zero errors (connection errors and timeouts), zero non-2xx,
//    the achieved rate (answers / run time) within 10 % of the target, /health/ready 200 after it,
//    the same worker processes throughout (none died or was replaced), and flat memory, per worker:
//    - live heap: the V8 heap in use right after a major GC, what a leak grows. Requests in flight
//      and garbage left over from incremental marking only ever add to it (up to 12 % here), so,
//      as for RSS, floors are compared: the lowest after a major GC in the soak's second half at
//      most 10 % above the lowest of the settle's last major GC (the reference, in the steady
//      state before the probe) and those of the first half. V8 spaces major GCs further apart as
//      the allocation rate rises (2 to 9 per worker in 60 s here); with none in the second half,
//      the soak's last stands for it. A least-squares slope is printed, not judged;
//    - RSS floor: the lowest sample of the last 20 s at most 10 % above the lowest of the first 20 s
//      (0-20 s against 40-60 s). A leak raises the floor; GC timing only moves the peaks: RSS swings
//      by 50-100 MB within a minute with no leak, as V8 commits heap ahead of a major GC and
//      releases it lazily after, so a peak, one sample against another, or a least-squares slope
//      of RSS over 40 s (about 40 MB/min of noise; printed, not judged) would fail at random.
//
// Prints the samples and a summary line ("soak: PASS: N requests ... errors: 0 ..."), writes
// bench/results/soak-latest.json.
/* global AbortSignal */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  CLI_MAIN,
  RESULTS_DIR,
  SERVICE_MAIN,
  cleanup,
  createDatabase,
  fail,
  BenchError,
  installCleanup,
  loadAverage1m,
  makeFixtures,
  makeTempDir,
  postJson,
  runLoad,
  sampleRss,
  seedUsers,
  sleep,
  startSystem,
  stopSystem,
  writeSeedFile,
} from './harness.mjs';

/** RSS: the lowest sample of the last this many seconds against the lowest of the first. */
const RSS_WINDOW_SECONDS = 20;
const SAMPLE_INTERVAL_SECONDS = 5;
const MAX_RSS_FLOOR_GROWTH = 0.1;
/** The lowest heap left by a major GC in the soak's second half against the lowest before (settle's last included). */
const MAX_HEAP_FLOOR_GROWTH = 0.1;
/** The achieved rate against the target. */
const RATE_TOLERANCE = 0.1;
const SETTLE_ROUND_SECONDS = 5;
/** A line of `node --trace-gc`: [pid:isolate] ms: kind [(reason)] used (committed) -> used (committed) MB. */
const GC_LINE = /^\[(\d+):0x[0-9a-f]+\]\s+\d+ ms: (Scavenge|Minor Mark-Sweep|Mark-Compact|Mark-sweep)( \(reduce\))?\D*?([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/;
/** Major GCs (not memory-reducing ones) each worker must do before the soak. */
const SETTLE_MAJOR_GCS = 2;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    rate: { type: 'string' },
    connections: { type: 'string', default: '64' },
    'probe-duration': { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    'settle-max': { type: 'string', default: '180' },
    users: { type: 'string', default: '1000' },
    workers: { type: 'string' },
  },
});
const DURATION = Number(args.duration);
const RATE = args.rate === undefined ? undefined : Number(args.rate);
const CONNECTIONS = Number(args.connections);
const PROBE_DURATION = Number(args['probe-duration']);
const WARMUP = Number(args.warmup);
const SETTLE_MAX = Number(args['settle-max']);
const USERS = Number(args.users);
const WORKERS = Number(args.workers ?? os.availableParallelism());

installCleanup('soak');

const round = (n, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const loadAverages = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const signed = (n, digits = 1) => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

/** Sample times: every SAMPLE_INTERVAL_SECONDS from 0, and the end of the run. */
function sampleTimes() {
  const times = [];
  for (let t = 0; t < DURATION; t += SAMPLE_INTERVAL_SECONDS) times.push(t);
  times.push(DURATION);
  return times;
}

/**
 * Samples RSS at the sample times, counted from `measuring` (the load worker's start of the
 * measured run); stops early when `done` settles (the run failed).
 */
async function sampleDuringRun(system, measuring, done) {
  let finished = false;
  done.then(
    () => (finished = true),
    () => (finished = true),
  );
  await measuring;
  const t0 = performance.now();
  const samples = [];
  for (const t of sampleTimes()) {
    const wait = t0 + t * 1000 - performance.now();
    if (wait > 0) await Promise.race([sleep(wait), done.catch(() => undefined)]);
    if (finished && t < DURATION) break;
    const rss = sampleRss(system);
    samples.push({ t, elapsedS: round((performance.now() - t0) / 1000, 2), loadAverage1m: loadAverage1m(), primaryMb: rss.primary.rssMb, workers: Object.fromEntries(rss.workers.map((w) => [w.pid, w.rssMb])) });
  }
  return samples;
}

/** Garbage collections per process, from the service's `--trace-gc` output (read from now on). */
function trackGc(system) {
  const gc = { major: [], minorCount: {} };
  let partial = '';
  system.child.stdout.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      const m = GC_LINE.exec(line);
      if (!m) continue;
      const pid = Number(m[1]);
      if (m[2] === 'Mark-Compact' || m[2] === 'Mark-sweep') gc.major.push({ pid, atMs: performance.now(), reduce: Boolean(m[3]), heapBeforeMb: Number(m[4]), heapAfterMb: Number(m[6]), heapCommittedAfterMb: Number(m[7]) });
      else gc.minorCount[pid] = (gc.minorCount[pid] ?? 0) + 1;
    }
  });
  return gc;
}

/**
 * Logins in SETTLE_ROUND_SECONDS rounds (unthrottled, or at `rate`), at least WARMUP seconds, until
 * every worker has done SETTLE_MAJOR_GCS major GCs (memory-reducing ones, made when idle, do not
 * count; nor can a late start-up one pass for the first load-driven one), at most SETTLE_MAX seconds.
 */
async function settle(system, gc, data, loadMessage, rate) {
  const started = performance.now();
  const pids = sampleRss(system).workers.map((w) => w.pid);
  const majors = (pid) => gc.major.filter((e) => e.pid === pid && !e.reduce && e.atMs >= started);
  const settlingGc = () => Object.fromEntries(pids.map((pid) => [pid, majors(pid)[SETTLE_MAJOR_GCS - 1]]));
  const totals = { seconds: 0, requests: 0, errors: 0, non2xx: 0, rounds: 0 };
  for (;;) {
    const elapsed = (performance.now() - started) / 1000;
    const done = Object.values(settlingGc()).every(Boolean);
    if ((done && elapsed >= WARMUP) || elapsed >= SETTLE_MAX) break;
    const message = { ...loadMessage, warmupSeconds: null, durationSeconds: SETTLE_ROUND_SECONDS, ...(rate && { overallRate: rate }) };
    const answer = await runLoad(`settle-${totals.rounds}`, data, message, 'sigauth/login settle');
    totals.rounds += 1;
    totals.requests += answer.result.totalRequests;
    totals.errors += answer.result.errors + answer.result.timeouts;
    totals.non2xx += answer.result.non2xx;
  }
  totals.seconds = round((performance.now() - started) / 1000);
  const firsts = settlingGc();
  totals.majorGcS = Object.fromEntries(pids.map((pid) => [pid, firsts[pid] ? round((firsts[pid].atMs - started) / 1000) : null]));
  totals.settled = Object.values(firsts).every(Boolean);
  // The reference for the live heap: the heap left by each worker's last major GC of the settle.
  totals.reference = Object.fromEntries(pids.map((pid) => [pid, majors(pid).at(-1) ?? null]));
  return totals;
}

/** RSS and live heap per worker over the soak (samples, and the major GCs between soakStartMs and soakEndMs). */
function checkMemory(samples, gc, reference, soakStartMs, soakEndMs) {
  const pids = Object.keys(samples[0].workers).map(Number);
  const sameWorkers = samples.every((s) => Object.keys(s.workers).length === pids.length && pids.every((pid) => s.workers[pid] !== undefined));
  const perWorker = pids.map((pid) => {
    const rss = samples.filter((s) => s.workers[pid] !== undefined).map((s) => ({ t: s.t, x: s.elapsedS / 60, y: s.workers[pid] }));
    const floorFirst = Math.min(...rss.filter((p) => p.t <= RSS_WINDOW_SECONDS).map((p) => p.y));
    const floorLast = Math.min(...rss.filter((p) => p.t >= DURATION - RSS_WINDOW_SECONDS).map((p) => p.y));
    const majors = gc.major.filter((e) => e.pid === pid && e.atMs >= soakStartMs && e.atMs <= soakEndMs);
    const ref = reference[pid] ?? null;
    const series = ref ? [ref, ...majors] : majors;
    const half = soakStartMs + (DURATION * 1000) / 2;
    let late = majors.filter((e) => e.atMs >= half);
    if (late.length === 0 && majors.length > 0) late = [majors.at(-1)];
    const early = series.filter((e) => !late.includes(e));
    const floorEarly = early.length ? Math.min(...early.map((e) => e.heapAfterMb)) : null;
    const floorLate = late.length ? Math.min(...late.map((e) => e.heapAfterMb)) : null;
    const heapPoints = series.map((e) => ({ x: (e.atMs - soakStartMs) / 60_000, y: e.heapAfterMb }));
    return {
      pid,
      rss: {
        firstMb: rss[0]?.y,
        lastMb: rss.at(-1)?.y,
        floorFirstMb: floorFirst,
        floorLastMb: floorLast,
        floorGrowth: round(floorLast / floorFirst - 1, 4),
        maxMb: Math.max(...rss.map((p) => p.y)),
        slopeMbPerMin: round(slope(rss), 2),
      },
      heap: {
        reference: ref ? { atS: round((ref.atMs - soakStartMs) / 1000), heapAfterMb: ref.heapAfterMb } : null,
        majorGcs: majors.map((e) => ({ atS: round((e.atMs - soakStartMs) / 1000), reduce: e.reduce, heapBeforeMb: e.heapBeforeMb, heapAfterMb: e.heapAfterMb, heapCommittedAfterMb: e.heapCommittedAfterMb })),
        floorEarlyMb: floorEarly,
        floorLateMb: floorLate,
        lateFromS: late.length ? round((late[0].atMs - soakStartMs) / 1000) : null,
        growth: floorEarly !== null && floorLate !== null ? round(floorLate / floorEarly - 1, 4) : null,
        slopeMbPerMin: heapPoints.length >= 2 ? round(slope(heapPoints), 2) : null,
        minorGcsSinceReady: gc.minorCount[pid] ?? 0,
      },
    };
  });
  return { pids, sameWorkers, perWorker };
}

function printSamples(samples, pids, perSecond) {
  const header = ['t (s)', ...pids.map((pid) => `worker ${pid}`), 'primary', 'answers/s', 'load 1m'];
  const rows = samples.map((s, i) => {
    // Answers per second over the interval that ends at this sample (none for the first).
    const from = i === 0 ? undefined : samples[i - 1].t;
    const span = perSecond.responses.slice(from ?? 0, s.t);
    const rate = from === undefined || span.length === 0 ? '' : (span.reduce((a, b) => a + b, 0) / span.length).toFixed(0);
    return [String(s.t), ...pids.map((pid) => (s.workers[pid] === undefined ? 'gone' : `${s.workers[pid].toFixed(1)} MB`)), `${s.primaryMb?.toFixed(1)} MB`, rate, s.loadAverage1m.toFixed(2)];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r) => `  ${r.map((cell, c) => cell.padStart(widths[c])).join('   ')}`;
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

async function main() {
  for (const [name, value] of [['duration', DURATION], ['connections', CONNECTIONS], ['probe-duration', PROBE_DURATION], ['users', USERS], ['workers', WORKERS], ['warmup', WARMUP], ['settle-max', SETTLE_MAX]]) {
    if (!Number.isFinite(value) || value < (name === 'warmup' ? 0 : 1)) fail(`--${name} must be a positive number`);
  }
  if (RATE !== undefined && (!Number.isInteger(RATE) || RATE < 1)) fail('--rate must be a positive whole number of requests per second');
  if (DURATION < 2 * RSS_WINDOW_SECONDS) fail(`--duration must be at least ${2 * RSS_WINDOW_SECONDS} s: RSS is judged on its first and last ${RSS_WINDOW_SECONDS} s`);
  if (!existsSync(SERVICE_MAIN) || !existsSync(CLI_MAIN)) fail(`${SERVICE_MAIN} is missing: run \`npm run build\` first`);

  const started = Date.now();
  const loadAtStart = os.loadavg().map((l) => round(l, 2));
  const { name: databaseName, url: databaseUrl } = await createDatabase('sigauth_soak');
  makeTempDir('sigauth-soak');
  mkdirSync(RESULTS_DIR, { recursive: true });
  console.log(`soak: database ${databaseName}, ${USERS} users, ${WORKERS} workers, ${os.availableParallelism()} cores, load average ${loadAverages()} (1, 5, 15 min)`);
  if (loadAtStart[0] > os.availableParallelism() / 2) {
    console.log(`soak: warning: load average ${loadAtStart[0].toFixed(1)} on ${os.availableParallelism()} cores before starting: other work competes with the service and the load generator`);
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
  console.log(`soak: fixtures in ${fixturesMs} ms, seeded ${USERS + 1} users through the CLI in ${seedMs} ms`);

  // All load comes from one address: its per-address budget is raised to the maximum so that the
  // limiter still counts every request, as it would for many clients, without refusing any.
  const serviceEnv = { ...baseEnv, WORKERS: String(WORKERS), RATE_LIMIT_PER_IP: process.env.RATE_LIMIT_PER_IP ?? '1000000' };
  console.log(`\nsigauth: starting (${WORKERS} workers)`);
  const system = await startSystem('sigauth', ['--trace-gc', SERVICE_MAIN], serviceEnv, WORKERS);
  const gc = trackGc(system);
  const rssAtReady = sampleRss(system);
  console.log(`  ready in ${system.readyMs} ms; RSS when up ${rssAtReady.workers.map((w) => `${w.rssMb} MB`).join(', ')} per worker (primary ${rssAtReady.primary.rssMb} MB)`);
  const check = await postJson(system.base, '/auth/api/v1/authentication-management/session', fixtures.users[0].body);
  if (check.status !== 200) fail(`a setup login answered ${check.status}: ${check.text.slice(0, 300)}`);
  const data = { bodies: fixtures.users.map((u) => u.body) };
  const loadMessage = { url: system.base, scenario: 'login', connections: CONNECTIONS };

  // 1. Settle: every worker past its first load-driven major GC.
  process.stdout.write(`\nsettle: FIB logins ${RATE === undefined ? 'unthrottled' : `at ${RATE} req/s`} in ${SETTLE_ROUND_SECONDS} s rounds until every worker has done ${SETTLE_MAJOR_GCS} major GCs (at least ${WARMUP} s, at most ${SETTLE_MAX} s) ... `);
  const settled = await settle(system, gc, data, loadMessage, RATE);
  const gcText = Object.entries(settled.majorGcS).map(([pid, at]) => `worker ${pid} ${at === null ? 'not yet' : `at ${at} s`}`).join(', ');
  console.log(`${settled.seconds} s, ${settled.requests} requests, errors ${settled.errors}, non-2xx ${settled.non2xx}; major GC #${SETTLE_MAJOR_GCS}: ${gcText} (load average ${loadAverage1m()})`);
  if (!settled.settled) console.log(`settle: warning: not every worker did ${SETTLE_MAJOR_GCS} major GCs in ${SETTLE_MAX} s: its RSS may still be climbing to its first one`);

  // 2. The maximum.
  let probe;
  let target = RATE;
  if (RATE === undefined) {
    process.stdout.write(`probe: ${PROBE_DURATION} s of FIB logins unthrottled at ${CONNECTIONS} connections ... `);
    const answer = await runLoad('probe', data, { ...loadMessage, warmupSeconds: null, durationSeconds: PROBE_DURATION }, 'sigauth/login probe');
    probe = { ...answer.result, loadAverage1m: loadAverage1m() };
    console.log(`${Math.round(probe.requestsPerSecond)} req/s, p50 ${probe.latencyMs.p50} ms, p99 ${probe.latencyMs.p99} ms, errors ${probe.errors + probe.timeouts}, non-2xx ${probe.non2xx} (load average ${probe.loadAverage1m})`);
    for (const [status, bodies] of Object.entries(probe.non2xxSamples)) console.log(`      ${status}: ${bodies[0]}`);
    target = Math.round(probe.requestsPerSecond / 2);
    if (target < 1) fail('the probe measured no successful rate');
  }

  // 3. The soak, sampling RSS meanwhile.
  console.log(`\nsoak: ${DURATION} s of FIB logins at ${target} req/s${probe ? ` (half of ${Math.round(probe.requestsPerSecond)})` : ' (--rate)'}, ${CONNECTIONS} connections; RSS every ${SAMPLE_INTERVAL_SECONDS} s`);
  let markMeasuring;
  const measuring = new Promise((r) => (markMeasuring = r));
  const run = runLoad('soak', data, { ...loadMessage, overallRate: target, warmupSeconds: null, durationSeconds: DURATION, timeline: true, notifyStart: true }, 'sigauth/login soak', (m) => m.event === 'measuring' && markMeasuring());
  let soakStartMs;
  measuring.then(() => (soakStartMs = performance.now()));
  const [answer, samples] = await Promise.all([run, sampleDuringRun(system, measuring, run)]);
  const soakEndMs = performance.now();
  const r = answer.result;
  const loadAtEnd = loadAverage1m();
  const ready = await fetch(`${system.base}/health/ready`, { signal: AbortSignal.timeout(5000) }).then(
    (res) => res.status,
    () => 'unreachable',
  );
  const rssAfter = sampleRss(system);
  await stopSystem(system);

  const memory = checkMemory(samples, gc, settled.reference, soakStartMs, soakEndMs);
  printSamples(samples, memory.pids, r.perSecond);
  const achieved = r.totalRequests / r.durationSeconds;
  const deviation = achieved / target - 1;
  const errors = r.errors + r.timeouts;
  console.log(`  ${r.totalRequests} answers in ${r.durationSeconds.toFixed(2)} s = ${achieved.toFixed(1)} req/s (target ${target}, ${signed(deviation * 100)} %), p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms, errors ${errors}, non-2xx ${r.non2xx}; /health/ready after: ${ready}`);
  for (const [status, bodies] of Object.entries(r.non2xxSamples)) console.log(`      ${status}: ${bodies[0]}`);
  for (const { pid, rss, heap } of memory.perWorker) {
    console.log(`  worker ${pid}: RSS ${rss.firstMb} MB at 0 s, ${rss.lastMb} MB at ${DURATION} s, highest ${rss.maxMb} MB; lowest ${rss.floorFirstMb} MB in the first ${RSS_WINDOW_SECONDS} s, ${rss.floorLastMb} MB in the last (${signed(rss.floorGrowth * 100)} %); least-squares slope ${signed(rss.slopeMbPerMin, 2)} MB/min (not judged)`);
    const afters = heap.majorGcs.map((e) => `${e.heapAfterMb} (${e.atS} s)`).join(', ');
    const ref = heap.reference ? `${heap.reference.heapAfterMb} MB after the settle's last major GC (${heap.reference.atS} s)` : 'no reference from the settle';
    console.log(`      live heap: ${ref}; ${heap.majorGcs.length} major GCs in the soak${afters ? `, heap after each ${afters} MB` : ''}`);
    if (heap.growth !== null) console.log(`      lowest ${heap.floorEarlyMb} MB before ${heap.lateFromS} s, ${heap.floorLateMb} MB from ${heap.lateFromS} s (${signed(heap.growth * 100)} %); least-squares slope ${signed(heap.slopeMbPerMin, 2)} MB/min (not judged)`);
  }

  // 4. Checks.
  const checks = [
    { name: 'errors (connection errors and timeouts)', ok: errors === 0, value: errors, limit: '0' },
    { name: 'non-2xx answers', ok: r.non2xx === 0, value: r.non2xx, limit: '0' },
    { name: 'achieved rate vs target', ok: Math.abs(deviation) <= RATE_TOLERANCE, value: `${achieved.toFixed(1)} req/s (${signed(deviation * 100)} %)`, limit: `${target} ± ${RATE_TOLERANCE * 100} %` },
    { name: 'GET /health/ready after the soak', ok: ready === 200, value: ready, limit: '200' },
    { name: 'same worker processes throughout', ok: memory.sameWorkers && memory.pids.length === WORKERS, value: samples.map((s) => Object.keys(s.workers).length).join(' '), limit: `${WORKERS} at every sample, same pids` },
    ...memory.perWorker.flatMap(({ pid, rss, heap }) => [
      {
        name: `worker ${pid}: lowest heap after a major GC, soak's second half vs before (${heap.majorGcs.length} in the soak)`,
        ok: heap.growth !== null && heap.growth <= MAX_HEAP_FLOOR_GROWTH,
        value: heap.growth === null ? 'no major GC to compare' : `${heap.floorLateMb} vs ${heap.floorEarlyMb} MB (${signed(heap.growth * 100)} %)`,
        limit: `<= +${MAX_HEAP_FLOOR_GROWTH * 100} %`,
      },
      {
        name: `worker ${pid}: lowest RSS of the last ${RSS_WINDOW_SECONDS} s vs of the first ${RSS_WINDOW_SECONDS} s`,
        ok: rss.floorGrowth <= MAX_RSS_FLOOR_GROWTH,
        value: `${rss.floorLastMb} vs ${rss.floorFirstMb} MB (${signed(rss.floorGrowth * 100)} %)`,
        limit: `<= +${MAX_RSS_FLOOR_GROWTH * 100} %`,
      },
    ]),
  ];
  console.log('\nchecks:');
  for (const c of checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.value} (limit ${c.limit})`);
  const failed = checks.filter((c) => !c.ok);
  const pass = failed.length === 0;

  const maxHeapGrowth = Math.max(...memory.perWorker.map((w) => w.heap.growth ?? Infinity));
  const maxRssGrowth = Math.max(...memory.perWorker.map((w) => w.rss.floorGrowth));
  const results = {
    date: new Date().toISOString(),
    pass,
    machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadAtStart, loadAverage1mAtEnd: loadAtEnd },
    settings: {
      users: USERS,
      workers: WORKERS,
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      probeSeconds: RATE === undefined ? PROBE_DURATION : null,
      rateGiven: RATE ?? null,
      sampleIntervalSeconds: SAMPLE_INTERVAL_SECONDS,
      rssWindowSeconds: RSS_WINDOW_SECONDS,
      maxRssFloorGrowth: MAX_RSS_FLOOR_GROWTH,
      maxHeapFloorGrowth: MAX_HEAP_FLOOR_GROWTH,
      warmupSeconds: WARMUP,
      settleMaxSeconds: SETTLE_MAX,
      rateTolerance: RATE_TOLERANCE,
    },
    seedMs,
    startToReadyMs: system.readyMs,
    rssAtReady,
    settle: { ...settled, reference: Object.fromEntries(Object.entries(settled.reference).map(([pid, e]) => [pid, e && e.heapAfterMb])) },
    probe: probe ?? null,
    targetRate: target,
    soak: { ...r, achievedRate: round(achieved, 2), deviation: round(deviation, 4), healthReadyAfter: ready },
    samples,
    rssAfter,
    memory: memory.perWorker,
    checks,
    log: system.lines.filter((l) => !/listening on/i.test(l) && !GC_LINE.test(l)).slice(-20),
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  writeFileSync(join(RESULTS_DIR, 'soak-latest.json'), JSON.stringify(results, null, 2) + '\n');

  const memoryText = `memory: live heap floor at most ${signed(maxHeapGrowth * 100)} %, RSS floor at most ${signed(maxRssGrowth * 100)} % (last ${RSS_WINDOW_SECONDS} s vs first)`;
  console.log(
    `\nsoak: ${pass ? 'PASS' : `FAIL (${failed.length} of ${checks.length} checks)`}: ${r.totalRequests} requests in ${Math.round(r.durationSeconds)} s at ${achieved.toFixed(0)} req/s (target ${target}${probe ? `, half of ${Math.round(probe.requestsPerSecond)}` : ''}), errors: ${errors}, non-2xx: ${r.non2xx}, ${memoryText}; load average ${loadAtStart[0]} at start, ${loadAtEnd} at end`,
  );
  console.log(`soak: wrote bench/results/soak-latest.json (${results.totalSeconds} s in all)`);
  if (!pass) process.exitCode = 1;
}

main()
  .catch((error) => {
    console.error(`soak: ${error instanceof BenchError ? error.message : (error.stack ?? error)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
