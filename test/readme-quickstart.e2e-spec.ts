import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, PROJECT_ROOT } from './support/cli.js';
import { eventually, freePort } from './support/process-service.js';

/** The shell lines between the README's quick-start markers, exactly as a reader copies them. */
function quickStart(): string {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const block = /<!-- quickstart -->\s*```sh\n([\s\S]*?)```\s*<!-- \/quickstart -->/.exec(readme);
  if (!block) throw new Error('README.md has no ```sh block between <!-- quickstart --> and <!-- /quickstart -->');
  return block[1]!;
}

/**
 * Put before the README's lines, which run unchanged: curl also reports each answer's status and
 * URL on stderr, so that the test can tell the login's and the admin call's status apart.
 */
const RECORD_STATUSES = `curl() { command curl -w '%{stderr}HTTP %{http_code} %{url_effective}\\n' "$@"; }\n`;

describe('the README quick start, run as written', () => {
  let dir: string;
  let shell: ChildProcess | undefined;
  let stdout = '';
  let stderr = '';
  let exitCode: number | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigauth-quickstart-'));
    const port = await freePort();
    // A fresh database on a free port; LOG_LEVEL=warn keeps the server's log out of the commands' output.
    const env = childEnv({ DATA_DIR: join(dir, 'data') }, { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    shell = spawn('bash', ['-euo', 'pipefail', '-c', RECORD_STATUSES + quickStart()], { cwd: PROJECT_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    shell.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    shell.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // 'exit', not 'close': the server the script started in the background keeps the pipes open.
    exitCode = await new Promise<number | null>((resolve) => shell!.on('exit', resolve));
  }, 120000);

  afterAll(async () => {
    // The script's process group: npm start and the server it runs, which has DATA_DIR until it is gone.
    if (shell?.pid) {
      try {
        process.kill(-shell.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await eventually('the quick start\'s server has exited', 20000, async () => ({ ok: !existsSync(join(dir, 'data', 'sigauth.lock')), seen: 'sigauth.lock still there' }));
    rmSync(dir, { recursive: true, force: true });
  });

  const statusOf = (path: string): string[] =>
    [...stderr.matchAll(/^HTTP (\d{3}) (\S+)$/gm)].filter((m) => new URL(m[2]!).pathname === path).map((m) => m[1]!);

  it('runs every line successfully', () => {
    expect({ exitCode, stderr: exitCode === 0 ? '' : stderr }).toEqual({ exitCode: 0, stderr: '' });
  });

  it('logs the admin in with 200', () => {
    expect(statusOf('/auth/api/v1/authentication-management/session')).toEqual(['200']);
  });

  it('calls an admin route with the token: 200, the admin and the peer with their keys', () => {
    expect(statusOf('/auth/api/v1/admin/users')).toEqual(['200']);
    const body = JSON.parse(stdout.trimEnd().split('\n').at(-1)!) as unknown;
    const user = (email: string, account: string, role: string) =>
      expect.objectContaining({ email, account, role, status: 'ACTIVE', publicKeys: [expect.objectContaining({ publicKeyHex: expect.stringMatching(/^[0-9a-f]{64}$/), revokedAt: null })] });
    expect(body).toEqual({
      status: { code: 200, name: 'OK', message: 'Users.' },
      data: { users: [user('admin@example.com', 'admin@example', 'ROLE_ADMIN'), user('peer@example.com', 'peer@example', 'ROLE_PEER')], next: null },
    });
  });
});
