import { spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, jsonOf, PROJECT_ROOT, runCli } from './support/cli.js';
import { eventually, freePort, SERVER_ENTRY, startService, stopAllServices, type ServiceProcess } from './support/process-service.js';

/** Every path at or below dir that group or others may read, write or enter, with its mode. */
function reachableByOthers(dir: string): string[] {
  const open: string[] = [];
  const visit = (path: string): void => {
    const stat = lstatSync(path);
    if (!stat.isSymbolicLink() && stat.mode & 0o077) open.push(`${path.slice(dir.length) || '.'} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dir);
  return open;
}

function countEntries(dir: string): number {
  return readdirSync(dir, { recursive: true }).length;
}

/** What sigauth 0.2 left: the folder as mkdir made it under the usual umask, PGlite's files as its initdb writes them. */
function makeLike02(dir: string, folderMode: number): void {
  const visit = (path: string): void => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) {
        chmodSync(full, 0o755);
        visit(full);
      } else {
        chmodSync(full, 0o666);
      }
    }
  };
  visit(dir);
  chmodSync(dir, folderMode);
}

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** Runs the built server on dataDir and waits for it to exit (it is expected to refuse). */
async function refusedServer(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const port = await freePort();
  // A server that starts instead of refusing is killed after 30 s, and the test fails on its exit code.
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    cwd: PROJECT_ROOT,
    env: childEnv({ DATA_DIR: dataDir }, { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30000,
    killSignal: 'SIGKILL',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout, stderr };
}

const ready = async (service: ServiceProcess): Promise<void> => {
  await eventually('/health/ready answers 200', 30000, async () => {
    const res = await service.http('/health/ready');
    return { ok: res.status === 200, seen: res.body };
  });
};

const refusal = (dir: string, mode: string): string =>
  `DATA_DIR ${dir} has mode ${mode}, which lets group or others reach the signing keys in it: make it private with \`chmod 700 ${dir}\``;

// PGlite's initdb writes its files 0666 whatever the umask: in a folder others can enter, any local user reads the signing keys.
describe('DATA_DIR is the owner\'s alone (embedded PGlite, the built server and CLI)', () => {
  let root: string;
  let dataDir: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'sigauth-privacy-'));
    dataDir = join(root, 'data');
  });

  afterAll(async () => {
    await stopAllServices();
    rmSync(root, { recursive: true, force: true });
  });

  it('creates a fresh DATA_DIR 0700 with nothing below it that group or others can reach, while the server runs and after it stops', async () => {
    const service = await startService({ DATA_DIR: dataDir }, {}, { readyTimeoutMs: 60000 });
    try {
      await ready(service);
      expect(countEntries(dataDir)).toBeGreaterThan(900);
      expect({ mode: modeOf(dataDir), reachable: reachableByOthers(dataDir) }).toEqual({ mode: '700', reachable: [] });
    } finally {
      expect((await service.stop('SIGTERM', 20000)).code).toBe(0);
    }
    expect(reachableByOthers(dataDir)).toEqual([]);
  }, 90000);

  it('refuses to start on an existing DATA_DIR of mode 0755, exiting non-zero with one line that says how to fix it, and leaves it as it was', async () => {
    const open = join(root, 'made-by-mkdir');
    mkdirSync(open);
    chmodSync(open, 0o755);
    expect(await refusedServer(open)).toEqual({ code: 1, stdout: '', stderr: `${refusal(open, '0755')}\n` });
    expect({ mode: modeOf(open), entries: readdirSync(open) }).toEqual({ mode: '755', entries: [] });
  });

  it('refuses, server and CLI alike, a DATA_DIR that was made private and has been opened since (0750)', async () => {
    const before = countEntries(dataDir);
    chmodSync(dataDir, 0o750);
    try {
      expect(await refusedServer(dataDir)).toEqual({ code: 1, stdout: '', stderr: `${refusal(dataDir, '0750')}\n` });
      const cli = await runCli(['users', 'list'], childEnv({ DATA_DIR: dataDir }, { LOG_LEVEL: 'warn' }));
      expect(cli).toEqual({ status: 1, stdout: '', stderr: `error: ${refusal(dataDir, '0750')}\n` });
      expect({ mode: modeOf(dataDir), entries: countEntries(dataDir) }).toEqual({ mode: '750', entries: before });
    } finally {
      chmodSync(dataDir, 0o700);
    }
  });

  it('repairs at start a DATA_DIR whose files are 0666, as sigauth 0.2 left them, in a private folder', async () => {
    makeLike02(dataDir, 0o700);
    expect(reachableByOthers(dataDir).length).toBeGreaterThan(900);
    const service = await startService({ DATA_DIR: dataDir }, {}, { readyTimeoutMs: 60000 });
    try {
      await ready(service);
      expect(reachableByOthers(dataDir)).toEqual([]);
    } finally {
      expect((await service.stop('SIGTERM', 20000)).code).toBe(0);
    }
  }, 90000);

  it('repairs at start a DATA_DIR as sigauth 0.2 made it (folder 0755, files 0666, never started since), and warns that the keys may have been read', async () => {
    makeLike02(dataDir, 0o755);
    const service = await startService({ DATA_DIR: dataDir }, {}, { readyTimeoutMs: 60000 });
    try {
      await ready(service);
      expect({ mode: modeOf(dataDir), reachable: reachableByOthers(dataDir) }).toEqual({ mode: '700', reachable: [] });
      expect(service.output()).toContain(`DATA_DIR ${dataDir} was mode 0755 with its files 0666, as sigauth 0.2 left it, and is now private`);
      expect(service.output()).toContain('treat its signing keys as exposed');
    } finally {
      expect((await service.stop('SIGTERM', 20000)).code).toBe(0);
    }
  }, 90000);

  it('has the CLI, opening the files itself, repair a DATA_DIR as sigauth 0.2 left it', async () => {
    makeLike02(dataDir, 0o755);
    const cli = await runCli(['users', 'list'], childEnv({ DATA_DIR: dataDir }, { LOG_LEVEL: 'warn' }));
    expect(jsonOf(cli)).toEqual([]);
    expect(cli.stderr).toContain(`warn: DATA_DIR ${dataDir} was mode 0755 with its files 0666, as sigauth 0.2 left it, and is now private`);
    expect({ mode: modeOf(dataDir), reachable: reachableByOthers(dataDir) }).toEqual({ mode: '700', reachable: [] });
  }, 60000);
});
