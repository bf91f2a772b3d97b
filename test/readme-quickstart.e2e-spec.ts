import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

interface Run {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the quick start in a shell of its own, as a script: it must stop the server it started. */
async function runQuickStart(port: number): Promise<Run> {
  // LOG_LEVEL=warn keeps the server's log out of the commands' output.
  const env = childEnv({}, { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  const shell = spawn('bash', ['-euo', 'pipefail', '-c', RECORD_STATUSES + quickStart()], { cwd: PROJECT_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { exitCode: null, stdout: '', stderr: '' };
  shell.stdout!.setEncoding('utf8').on('data', (d: string) => (run.stdout += d));
  shell.stderr!.setEncoding('utf8').on('data', (d: string) => (run.stderr += d));
  run.exitCode = await new Promise<number | null>((resolve) => shell.on('exit', resolve));
  // Anything left in the script's process group would be a server the quick start did not stop.
  const groupAlive = (): boolean => {
    try {
      process.kill(-shell.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  const leftBehind = await eventually('the quick start\'s processes are gone', 5000, async () => ({ ok: !groupAlive(), seen: 'still running' })).then(
    () => false,
    () => true,
  );
  if (leftBehind) {
    process.kill(-shell.pid!, 'SIGKILL');
    run.stderr += '\nthe quick start left a process running';
    run.exitCode = -1;
  }
  return run;
}

describe('the README quick start, run as written, twice', () => {
  const runs: Run[] = [];

  beforeAll(async () => {
    // The same port both times: the second run starts only if the first stopped its server.
    const port = await freePort();
    runs.push(await runQuickStart(port));
    runs.push(await runQuickStart(port));
  }, 240000);

  const statusOf = (run: Run, path: string): string[] =>
    [...run.stderr.matchAll(/^HTTP (\d{3}) (\S+)$/gm)].filter((m) => new URL(m[2]!).pathname === path).map((m) => m[1]!);

  it.each([0, 1])('run %i: every line succeeds, and nothing is left running', (i) => {
    const run = runs[i]!;
    expect({ exitCode: run.exitCode, stderr: run.exitCode === 0 ? '' : run.stderr }).toEqual({ exitCode: 0, stderr: '' });
  });

  it.each([0, 1])('run %i: logs the admin in with 200', (i) => {
    expect(statusOf(runs[i]!, '/auth/api/v1/authentication-management/session')).toEqual(['200']);
  });

  it.each([0, 1])('run %i: calls an admin route with the token: 200, the admin and the peer with their keys', (i) => {
    const run = runs[i]!;
    expect(statusOf(run, '/auth/api/v1/admin/users')).toEqual(['200']);
    const body = JSON.parse(run.stdout.trimEnd().split('\n').at(-1)!) as unknown;
    const user = (email: string, account: string, role: string) =>
      expect.objectContaining({ email, account, role, status: 'ACTIVE', publicKeys: [expect.objectContaining({ publicKeyHex: expect.stringMatching(/^[0-9a-f]{64}$/), revokedAt: null })] });
    expect(body).toEqual({
      status: { code: 200, name: 'OK', message: 'Users.' },
      data: { users: [user('admin@example.com', 'admin@example', 'ROLE_ADMIN'), user('peer@example.com', 'peer@example', 'ROLE_PEER')], next: null },
    });
  });
});
