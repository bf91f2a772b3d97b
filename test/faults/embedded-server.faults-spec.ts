import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, jsonOf, PROJECT_ROOT, runCli } from '../support/cli.js';
import {
  eventually,
  fibLogin,
  fibRefresh,
  freePort,
  SERVER_ENTRY,
  seedUser,
  sleep,
  startService,
  stopAllServices,
  type ServiceProcess,
} from '../support/process-service.js';

/** The bound for SIGTERM; the default SHUTDOWN_TIMEOUT_MS (10 s) is below it. */
const SIGTERM_BOUND_MS = 15000;

const loginOk = {
  status: { code: 200, name: 'OK', message: 'User authorization has been successful.' },
  data: expect.objectContaining({ accessToken: expect.any(String), refreshToken: expect.any(String) }),
};

/** Every file under dir with its size and modification time: what "untouched" means here. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const stat = statSync(full);
      if (stat.isDirectory()) walk(full);
      else files[full.slice(dir.length)] = `${stat.size} ${stat.mtimeMs}`;
    }
  };
  walk(dir);
  return files;
}

/** Waits until nothing in dir changes for a while (the audit log flushes every 200 ms after a login). */
async function quiet(dir: string): Promise<Record<string, string>> {
  let before = snapshot(dir);
  for (let i = 0; i < 50; i++) {
    await sleep(400);
    const now = snapshot(dir);
    if (JSON.stringify(now) === JSON.stringify(before)) return now;
    before = now;
  }
  throw new Error(`${dir} kept changing`);
}

// The embedded default as a new user meets it (issue 13): `npm start` with no DATABASE_URL, the CLI beside it.
describe('the embedded server (PGlite) with the CLI beside it', () => {
  let dir: string;
  let dataDir: string;
  let storage: Record<string, string>;
  let service: ServiceProcess;
  const peer = seedUser('beside@example.org', 'beside@example');
  const lock = () => JSON.parse(readFileSync(join(dataDir, 'sigauth.lock'), 'utf8')) as { pid: number; role: string; socket?: string };

  const ready = async (s: ServiceProcess): Promise<void> => {
    await eventually('/health/ready answers 200', 30000, async () => {
      const res = await s.http('/health/ready');
      return { ok: res.status === 200, seen: res.body };
    });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigauth-embedded-'));
    dataDir = join(dir, 'data');
    storage = { DATA_DIR: dataDir };
    service = await startService(storage, {}, { readyTimeoutMs: 60000 });
    await ready(service);
  }, 90000);

  afterAll(async () => {
    await stopAllServices();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds DATA_DIR with a lock naming its pid, and serves its database on a socket inside it', () => {
    expect(lock()).toEqual(expect.objectContaining({ pid: service.pid, role: 'server', socket: join(dataDir, '.s.PGSQL.5432') }));
    expect(statSync(join(dataDir, '.s.PGSQL.5432')).isSocket()).toBe(true);
  });

  it('adds a user through the CLI while it runs, and logs that user in with 200 at once', async () => {
    const added = jsonOf<{ email: string; publicKeys: { publicKeyHex: string }[] }>(
      await runCli(['users', 'add', '--email', peer.email, '--account', peer.account, '--public-key', peer.key.publicKeyHex], childEnv(storage)),
    );
    expect(added).toEqual(expect.objectContaining({ email: peer.email, publicKeys: [expect.objectContaining({ publicKeyHex: peer.key.publicKeyHex })] }));

    // No retry: the server reads the very database the CLI wrote to.
    const login = await fibLogin(service, peer);
    expect({ status: login.status, body: login.body }).toEqual({ status: 200, body: loginOk });
    const health = await service.http('/health/ready');
    expect({ status: health.status, body: health.body }).toEqual({ status: 200, body: { status: 'ok', database: 'pglite', migrations: { applied: expect.any(Number) } } });

    // And the other way: the CLI reads what the server wrote (the session the login opened).
    const users = jsonOf<{ email: string }[]>(await runCli(['users', 'list'], childEnv(storage)));
    expect(users.map((u) => u.email)).toEqual([peer.email]);
    expect(lock().pid).toBe(service.pid);
  });

  it('hears a signing key revoked through the CLI at once: its tokens are refused, and a new key signs', async () => {
    const login = await fibLogin(service, peer);
    const { refreshToken } = (login.body as { data: { refreshToken: string } }).data;
    const kid = (JSON.parse(Buffer.from(refreshToken.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    const revoked = jsonOf<{ revoked: string; signing: string }>(await runCli(['signing-keys', 'revoke', '--kid', kid], childEnv(storage)));
    expect(revoked.revoked).toBe(kid);
    // The CLI's NOTIFY went through the server's socket; no retry and no wait for a periodic reload.
    const refreshed = await fibRefresh(service, refreshToken);
    expect({ status: refreshed.status, body: refreshed.body }).toEqual({
      status: 401,
      body: { status: { code: 401, name: 'InvalidToken', message: 'token was not signed by a key of this service' }, data: null },
    });
    const next = await fibLogin(service, peer);
    const nextKid = (JSON.parse(Buffer.from((next.body as { data: { accessToken: string } }).data.accessToken.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    expect(nextKid).toBe(revoked.signing);
  });

  it('refuses a second server on the same DATA_DIR with one line naming the first one, exits non-zero, and touches no file', async () => {
    const before = await quiet(dataDir);
    const port = await freePort();
    const second = spawn(process.execPath, [SERVER_ENTRY], { cwd: PROJECT_ROOT, env: childEnv(storage, { PORT: String(port), HOST: '127.0.0.1' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    second.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    second.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => second.on('exit', resolve));

    expect({ code, stdout, stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `DATA_DIR ${dataDir} is in use by another sigauth server (pid ${service.pid}): stop it first, or give this one another DATA_DIR\n`,
    });
    expect(snapshot(dataDir)).toEqual(before);
    expect((await service.http('/health/ready')).status).toBe(200);
  });

  it(`ends on SIGTERM within ${SIGTERM_BOUND_MS / 1000} s, releasing DATA_DIR`, async () => {
    const stopped = await service.stop('SIGTERM', SIGTERM_BOUND_MS + 5000);
    expect({ code: stopped.code, signal: stopped.signal, withinBound: stopped.ms < SIGTERM_BOUND_MS }).toEqual({ code: 0, signal: null, withinBound: true });
    expect(readdirSync(dataDir).filter((name) => name.startsWith('sigauth.lock') || name.startsWith('.s.PGSQL'))).toEqual([]);
  });

  it('still has the user after a restart', async () => {
    service = await startService(storage, {}, { readyTimeoutMs: 60000 });
    await ready(service);
    const login = await fibLogin(service, peer);
    expect({ status: login.status, body: login.body }).toEqual({ status: 200, body: loginOk });
  });

  it('takes over the lock a killed server left behind, and its data with it', async () => {
    const killed = service.pid;
    await service.stop('SIGKILL');
    expect(lock().pid).toBe(killed);
    expect(existsSync(join(dataDir, '.s.PGSQL.5432'))).toBe(true);
    service = await startService(storage, {}, { readyTimeoutMs: 60000 });
    await ready(service);
    expect(lock()).toEqual(expect.objectContaining({ pid: service.pid, role: 'server' }));
    const login = await fibLogin(service, peer);
    expect(login.status).toBe(200);
    const users = jsonOf<{ email: string }[]>(await runCli(['users', 'list'], childEnv(storage)));
    expect(users.map((u) => u.email)).toEqual([peer.email]);
  });
});
