// Lists the SQL statements (database round trips) that one request of each bench scenario runs in
// sigauth: a diagnostic for "one round trip per login", not part of `npm run bench`.
//
//   npm run build && node bench/sql-trace.mjs
//
// It needs a PostgreSQL superuser at TEST_DATABASE_URL (it sets log_statement = 'all' on a
// database of its own, dropped at the end) and read access to the server's log, PG_LOG (default
// /var/log/postgresql/postgresql-15-main.log, with %d in log_line_prefix).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { newEd25519Key, newWallet, personalSign, signEmail } from './fixtures.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const LOG = process.env.PG_LOG ?? '/var/log/postgresql/postgresql-15-main.log';
const SESSION_PATH = '/auth/api/v1/authentication-management/session';
const DB = `sigauth_sqltrace_${process.pid}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Piped into head, stdout may close early: the database must still be dropped.
process.stdout.on('error', () => undefined);

if (!existsSync(join(ROOT, 'dist/server/main.js'))) {
  console.error('sql-trace: dist/server/main.js is missing: run `npm run build` first');
  process.exit(1);
}
try {
  readFileSync(LOG, { length: 1 });
} catch (error) {
  console.error(`sql-trace: cannot read the PostgreSQL log ${LOG} (${error.code}); set PG_LOG`);
  process.exit(1);
}

const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
try {
  await admin.connect();
} catch (error) {
  console.error(`sql-trace: PostgreSQL is unreachable at ${ADMIN_URL} (${error.message})`);
  process.exit(1);
}
const tmp = mkdtempSync(join(os.tmpdir(), 'sigauth-sqltrace-'));
let service;
try {
  await admin.query(`CREATE DATABASE "${DB}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DB}`;
  const users = [0, 1, 2].map((i) => ({ email: `trace${i}@bench.sigauth`, account: `trace${i}@bench`, key: newEd25519Key(), wallet: newWallet() }));
  const caller = { email: 'introspector@bench.sigauth', key: newEd25519Key() };
  const seed = join(tmp, 'seed.json');
  writeFileSync(
    seed,
    JSON.stringify({
      users: [
        ...users.map((u) => ({ email: u.email, account: u.account, role: 'ROLE_PEER', publicKeys: [u.key.publicKeyHex], wallets: [u.wallet.address] })),
        { email: caller.email, account: 'introspector@bench', role: 'ROLE_SERVICE', publicKeys: [caller.key.publicKeyHex], wallets: [] },
      ],
    }),
  );
  const env = { ...process.env, DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' };
  execFileSync(process.execPath, ['--no-warnings', 'dist/src/cli/main.js', 'db', 'seed', '--file', seed], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  await admin.query(`ALTER DATABASE "${DB}" SET log_statement = 'all'`);

  const port = 3900 + (process.pid % 90);
  const base = `http://127.0.0.1:${port}`;
  service = spawn(process.execPath, ['dist/server/main.js'], { cwd: ROOT, env: { ...env, PORT: String(port), HOST: '127.0.0.1', WORKERS: '1' }, stdio: 'ignore' });
  for (let waited = 0; ; waited += 50) {
    if (waited > 30_000) throw new Error('sigauth was not ready after 30 s');
    try {
      if ((await fetch(`${base}/health/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }

  const post = async (path, body, headers = {}) => {
    const response = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };
  const login = (u) => post(SESSION_PATH, { email: u.email, signature: signEmail(u.key, u.email), authPublicKeyHex: u.key.publicKeyHex });

  /** The statements our database logged while fn ran. */
  const trace = async (label, fn) => {
    await sleep(300);
    const from = statSync(LOG).size;
    const { status } = await fn();
    await sleep(500);
    const lines = [];
    let inOurs = false;
    for (const l of readFileSync(LOG).subarray(from).toString().split('\n')) {
      // A statement spanning lines continues on lines that start with a tab.
      if (l.startsWith('\t')) {
        if (inOurs) lines[lines.length - 1] += ` ${l.trim()}`;
        continue;
      }
      inOurs = l.includes(`@${DB} `) && /LOG:\s+(statement|execute)/.test(l);
      if (inOurs) lines.push(l.replace(/^.*?LOG:\s+/, ''));
    }
    for (const [i, l] of lines.entries()) lines[i] = l.replace(/"public"\./g, '').replace(/\s+/g, ' ').slice(0, 240);
    console.log(`\n${label} (HTTP ${status}): ${lines.length} statements`);
    for (const line of lines) console.log(`  ${line}`);
  };

  // First requests warm the process (signing key, caches), so the traced ones show the steady state.
  await login(users[2]);
  const callerTokens = (await login(caller)).body.data;
  let pair;
  await trace('FIB login', async () => {
    const r = await login(users[0]);
    pair = r.body.data;
    return r;
  });
  await trace('refresh', async () => {
    const response = await fetch(base + SESSION_PATH, { method: 'PATCH', headers: { authorization: pair.refreshToken } });
    return { status: response.status };
  });
  await trace('introspection', () => post('/auth/api/v1/token/introspect', { token: pair.accessToken }, { authorization: `Bearer ${callerTokens.accessToken}` }));
  const timestampInMs = Date.now();
  await trace('wallet login', () => post('/api/auth/login', { signer: users[1].wallet.address, timestampInMs, signature: personalSign(users[1].wallet.secretKeyHex, String(timestampInMs)) }));
} catch (error) {
  console.error(`sql-trace: ${error.message}`);
  process.exitCode = 1;
} finally {
  service?.kill('SIGTERM');
  if (service) await new Promise((r) => (service.exitCode !== null ? r() : service.once('exit', r)));
  await admin.query(`DROP DATABASE IF EXISTS "${DB}" WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  rmSync(tmp, { recursive: true, force: true });
}
