import { linkSync, readFileSync, readlinkSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';

/** The file in DATA_DIR that names the process holding PGlite's files. */
export const LOCK_FILE = 'sigauth.lock';

export type DataDirRole = 'server' | 'cli';

/** What the lock file records: who holds DATA_DIR, how to tell a live holder from a dead one, where its socket is. */
export interface DataDirOwner {
  pid: number;
  role: DataDirRole;
  /** The kernel's boot id: a lock written before a reboot is stale whatever its pid. */
  boot?: string;
  /** The pid namespace the pid belongs to; another container cannot check it with kill(). */
  pidNamespace?: string;
  /** The holder's start time in clock ticks since boot (/proc/<pid>/stat): a recycled pid does not pass for it. */
  started?: string;
  /** The Unix socket path of a running server's database, for the CLI. */
  socket?: string;
}

export class DataDirBusyError extends Error {
  override name = 'DataDirBusyError';

  constructor(
    readonly dataDir: string,
    readonly owner: DataDirOwner,
  ) {
    super(
      owner.role === 'server'
        ? `DATA_DIR ${dataDir} is in use by another sigauth server (pid ${owner.pid}): stop it first, or give this one another DATA_DIR`
        : `DATA_DIR ${dataDir} is in use by a sigauth CLI command (pid ${owner.pid}) that did not finish in time`,
    );
  }
}

const readOptional = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

const BOOT_ID = readOptional('/proc/sys/kernel/random/boot_id')?.trim();
const PID_NAMESPACE = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
})();

/** Field 22 of /proc/<pid>/stat; after the command name, which may hold spaces and parentheses. */
function startTimeOf(pid: number): string | undefined {
  const stat = readOptional(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function parseOwner(text: string | undefined): DataDirOwner | undefined {
  if (text === undefined) return undefined;
  try {
    const owner = JSON.parse(text) as DataDirOwner;
    return Number.isInteger(owner.pid) && owner.pid > 0 && (owner.role === 'server' || owner.role === 'cli') ? owner : undefined;
  } catch {
    return undefined;
  }
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** Lock files this process holds, removed at exit even when a deadline ends the process mid-shutdown. */
const heldHere = new Set<string>();
process.on('exit', () => {
  for (const path of heldHere) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
});

async function isAlive(owner: DataDirOwner, lockPath: string): Promise<boolean> {
  if (owner.boot && BOOT_ID && owner.boot !== BOOT_ID) return false;
  if (owner.pidNamespace && PID_NAMESPACE && owner.pidNamespace !== PID_NAMESPACE) {
    // Another container's pid means nothing here; a server there still answers on its socket.
    return owner.socket ? socketAnswers(owner.socket) : true;
  }
  if (owner.pid === process.pid) return heldHere.has(lockPath);
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  return !owner.started || startTimeOf(owner.pid) === undefined || startTimeOf(owner.pid) === owner.started;
}

/** The process holding DATA_DIR, when it is alive; undefined when the lock is absent or stale. */
export async function liveOwnerOf(dataDir: string): Promise<DataDirOwner | undefined> {
  const path = join(resolve(dataDir), LOCK_FILE);
  const owner = parseOwner(readOptional(path));
  return owner && (await isAlive(owner, path)) ? owner : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * Exclusive ownership of DATA_DIR: the lock file is created atomically (link(2) of a complete
 * file, so nobody reads half a lock), and a stale one is replaced under a takeover file that only
 * one process can create, so two processes finding the same dead lock cannot both take it.
 */
export class DataDirLock {
  private constructor(
    readonly path: string,
    private owner: DataDirOwner,
  ) {}

  /**
   * Takes DATA_DIR for this process. A live holder makes it throw DataDirBusyError, except a CLI
   * command, which is waited for up to waitForCliMs (CLI commands are short).
   */
  static async acquire(dataDir: string, role: DataDirRole, waitForCliMs: number): Promise<DataDirLock> {
    const path = join(resolve(dataDir), LOCK_FILE);
    const owner: DataDirOwner = { pid: process.pid, role, boot: BOOT_ID, pidNamespace: PID_NAMESPACE, started: startTimeOf(process.pid) };
    const mine = `${path}.${process.pid}.tmp`;
    const deadline = performance.now() + waitForCliMs;
    let written = false;
    try {
      for (;;) {
        const seen = readOptional(path);
        const holder = parseOwner(seen);
        // Checked before anything is written: a refused process leaves DATA_DIR as it found it.
        if (holder && (await isAlive(holder, path))) {
          if (holder.role === 'server' || performance.now() > deadline) throw new DataDirBusyError(dataDir, holder);
          await sleep(100);
          continue;
        }
        if (!written) {
          writeFileSync(mine, JSON.stringify(owner), { mode: 0o600 });
          written = true;
        }
        if (seen === undefined ? DataDirLock.create(path, mine) : await DataDirLock.replaceStale(path, seen, mine)) {
          heldHere.add(path);
          return new DataDirLock(path, owner);
        }
        await sleep(20);
      }
    } finally {
      if (written) {
        try {
          unlinkSync(mine);
        } catch {
          // renamed into place
        }
      }
    }
  }

  private static create(path: string, mine: string): boolean {
    try {
      linkSync(mine, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  /** Replaces the stale lock `seen` with `mine`, unless another process got there first. */
  private static async replaceStale(path: string, seen: string, mine: string): Promise<boolean> {
    const guard = `${path}.takeover`;
    try {
      writeFileSync(guard, String(process.pid), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A taker that died between creating and removing the guard must not block every later start.
      const taker = Number(readOptional(guard));
      if (Number.isInteger(taker) && taker > 0 && !(await isAlive({ pid: taker, role: 'cli' }, guard))) unlinkSync(guard);
      return false;
    }
    try {
      if (readOptional(path) !== seen) return false;
      renameSync(mine, path);
      return true;
    } finally {
      unlinkSync(guard);
    }
  }

  get socket(): string | undefined {
    return this.owner.socket;
  }

  /** Records where the CLI reaches this server's database (rename(2): readers see the old or the new lock, whole). */
  publishSocket(socket: string): void {
    this.owner = { ...this.owner, socket };
    const next = `${this.path}.${process.pid}.tmp`;
    writeFileSync(next, JSON.stringify(this.owner), { mode: 0o600 });
    renameSync(next, this.path);
  }

  release(): void {
    if (!heldHere.delete(this.path)) return;
    if (parseOwner(readOptional(this.path))?.pid === process.pid) unlinkSync(this.path);
  }
}
