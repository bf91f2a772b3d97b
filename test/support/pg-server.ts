import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './process-service.js';

/**
 * A PostgreSQL server of the test's own, in a temporary folder on a port of its own, that the test
 * may stop and start at will: the shared server at 127.0.0.1:5432 is never touched.
 */
export interface PrivatePostgres {
  port: number;
  /** postgresql://postgres@127.0.0.1:<port>/postgres */
  url: string;
  start(): void;
  /** `pg_ctl stop -m fast`: clients are disconnected and the port closes. */
  stop(): void;
  /**
   * SIGSTOP to the postmaster and every server process: the port stays open and connections are
   * accepted by the kernel, but nothing answers (a hung host, a full disk, a stalled network).
   */
  freeze(): void;
  /** SIGCONT to the processes freeze() stopped. */
  thaw(): void;
  /** Stops the server when it runs and removes its folder. */
  destroy(): void;
  log(): string;
}

function binDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL binaries under ${root}: set PG_BIN_DIR to the folder holding initdb and pg_ctl`);
  versions.sort((a, b) => Number(b) - Number(a));
  return join(root, versions[0]!, 'bin');
}

/** initdb and pg_ctl refuse to run as root: as root they run as the postgres user. */
function asServerUser(): { command: (bin: string, args: string[]) => [string, string[]]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { command: (bin, args) => [bin, args] };
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { command: (bin, args) => ['runuser', ['-u', 'postgres', '--', bin, ...args]], uid, gid };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const user = asServerUser();
  const port = await freePort();
  const dir = mkdtempSync('/tmp/sigauth-pg-');
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (user.uid !== undefined) {
    chownSync(dir, user.uid, user.gid!);
    chmodSync(dir, 0o700);
  }
  const run = (tool: string, args: string[]): void => {
    const [command, argv] = user.command(join(bin, tool), args);
    const result = spawnSync(command, argv, { encoding: 'utf8', timeout: 60000, cwd: dir });
    if (result.status !== 0) {
      throw new Error(`${tool} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.error?.message ?? ''}\n${result.stdout}\n${result.stderr}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`);
    }
  };
  let up = false;
  let frozen: number[] = [];
  const server: PrivatePostgres = {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    start() {
      // The socket lives in the server's own folder; fsync off because this data is thrown away.
      run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`, 'start']);
      up = true;
    },
    stop() {
      run('pg_ctl', ['-D', data, '-w', '-t', '30', '-m', 'fast', 'stop']);
      up = false;
    },
    freeze() {
      const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      frozen = [postmaster, ...childrenOf(postmaster)];
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    },
    thaw() {
      for (const pid of frozen) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // already gone
        }
      }
      frozen = [];
    },
    destroy() {
      try {
        server.thaw();
        if (up || existsSync(join(data, 'postmaster.pid'))) server.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
    server.start();
    await waitForPostgres(server.url);
  } catch (error) {
    server.destroy();
    throw error;
  }
  return server;
}

/** The direct children of a process (a postmaster's backends and workers), from /proc. */
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ...", comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

/** Resolves once the server accepts a query. */
export async function waitForPostgres(url: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL at ${url} did not answer: ${(error as Error).message}`, { cause: error });
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
