// npm run bench:hostile: how long each hostile request body holds one sigauth process, and how long
// /health/live waits on the same process meanwhile.
//
//   node bench/hostile-bodies.mjs [--main dist/server/main.js] [--repeat 3]
//
// Needs `npm run build` first. --main runs another build (say, a checkout of an earlier commit) to
// compare. One worker, on a fresh PostgreSQL database of its own (TEST_DATABASE_URL), dropped at the end.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { cleanup, createDatabase, installCleanup, SERVICE_MAIN, sleep, startSystem, stopSystem } from './harness.mjs';

const { values } = parseArgs({ options: { main: { type: 'string', default: SERVICE_MAIN }, repeat: { type: 'string', default: '3' } } });

const BODIES = {
  '90,000 keys (0.95 MB)': `{${Array.from({ length: 90_000 }, (_, i) => `"k${i}":1`).join(',')}}`,
  '2,000 levels (4 KB)': `{"email":${'['.repeat(2_000)}${']'.repeat(2_000)}}`,
  '200,000 levels (400 KB)': `{"email":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
};
const ROUTES = {
  'FIB login': '/auth/api/v1/authentication-management/session',
  'wallet login': '/api/auth/login',
  'SIWE login': '/api/auth/siwe/login',
  'service-account login': '/v1/users/authorize',
};

installCleanup('hostile-bodies');
const database = await createDatabase('sigauth_hostile');
const system = await startSystem('sigauth', [resolve(values.main)], { ...process.env, DATABASE_URL: database.url, WORKERS: '1', LOG_LEVEL: 'error' }, 1);
try {
  console.log(`${values.main}: median of ${values.repeat} (answer ms / /health/live ms / status / answer bytes)`);
  for (const [routeName, path] of Object.entries(ROUTES)) {
    for (const [bodyName, body] of Object.entries(BODIES)) {
      const runs = [];
      for (let i = 0; i < Number(values.repeat); i++) {
        const started = performance.now();
        const answer = fetch(`${system.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (r) => ({ status: r.status, bytes: (await r.arrayBuffer()).byteLength, ms: performance.now() - started }));
        await sleep(5);
        const liveStarted = performance.now();
        await (await fetch(`${system.base}/health/live`)).arrayBuffer();
        const liveMs = performance.now() - liveStarted;
        runs.push({ ...(await answer), liveMs });
      }
      const median = (key) => runs.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
      console.log(`  ${routeName.padEnd(22)} ${bodyName.padEnd(24)} ${median('ms').toFixed(1).padStart(8)} / ${median('liveMs').toFixed(1).padStart(8)} / ${runs[0].status} / ${runs[0].bytes}`);
    }
  }
} finally {
  await stopSystem(system);
  await cleanup();
}
