import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirBusyError, DataDirLock, liveOwnerOf, LOCK_FILE } from './data-dir-lock.js';

const startTimeOf = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};

describe('DataDirLock', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  const lockPath = () => join(dir, LOCK_FILE);
  const writeLock = (owner: object) => writeFileSync(lockPath(), JSON.stringify(owner));
  const readLock = () => JSON.parse(readFileSync(lockPath(), 'utf8')) as Record<string, unknown>;
  /** A process that is alive until the test kills it. */
  const liveProcess = (): ChildProcess => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    return child;
  };
  /** The pid of a process that has already exited. */
  const deadPid = (): number => spawnSync('true').pid!;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigauth-lock-'));
  });
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a lock naming this process and its role, and removes it on release', async () => {
    const lock = await DataDirLock.acquire(dir, 'server', 0);
    expect(readLock()).toEqual(expect.objectContaining({ pid: process.pid, role: 'server', started: startTimeOf(process.pid) }));
    await expect(liveOwnerOf(dir)).resolves.toEqual(expect.objectContaining({ pid: process.pid, role: 'server' }));
    lock.publishSocket('/somewhere/.s.PGSQL.5432');
    expect(readLock()).toEqual(expect.objectContaining({ pid: process.pid, socket: '/somewhere/.s.PGSQL.5432' }));
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
    await expect(liveOwnerOf(dir)).resolves.toBeUndefined();
  });

  it('refuses a second holder in the same process', async () => {
    const lock = await DataDirLock.acquire(dir, 'server', 0);
    await expect(DataDirLock.acquire(dir, 'server', 0)).rejects.toThrow(new DataDirBusyError(dir, { pid: process.pid, role: 'server' }).message);
    lock.release();
  });

  it('refuses while a live server holds it, naming its pid, and leaves DATA_DIR as it was', async () => {
    const holder = liveProcess();
    writeLock({ pid: holder.pid, role: 'server', started: startTimeOf(holder.pid!) });
    const before = readFileSync(lockPath(), 'utf8');
    const refusal = DataDirLock.acquire(dir, 'server', 5000);
    await expect(refusal).rejects.toBeInstanceOf(DataDirBusyError);
    await expect(refusal).rejects.toThrow(`DATA_DIR ${dir} is in use by another sigauth server (pid ${holder.pid})`);
    expect({ files: readdirSync(dir), lock: readFileSync(lockPath(), 'utf8') }).toEqual({ files: [LOCK_FILE], lock: before });
  });

  it('takes over a lock whose process is gone', async () => {
    const dead = deadPid();
    writeLock({ pid: dead, role: 'server' });
    await expect(liveOwnerOf(dir)).resolves.toBeUndefined();
    const lock = await DataDirLock.acquire(dir, 'server', 0);
    expect(readLock()).toEqual(expect.objectContaining({ pid: process.pid }));
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
    lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (a different start time)', async () => {
    const other = liveProcess();
    writeLock({ pid: other.pid, role: 'server', started: '1' });
    const lock = await DataDirLock.acquire(dir, 'server', 0);
    expect(readLock()).toEqual(expect.objectContaining({ pid: process.pid }));
    lock.release();
  });

  it('takes over a lock left before a reboot, and one that is not a lock at all', async () => {
    writeLock({ pid: process.ppid, role: 'server', boot: 'another-boot' });
    (await DataDirLock.acquire(dir, 'server', 0)).release();
    writeFileSync(lockPath(), 'garbage');
    (await DataDirLock.acquire(dir, 'server', 0)).release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('lets only one of two processes racing for the same stale lock have it', async () => {
    writeLock({ pid: deadPid(), role: 'server' });
    const results = await Promise.allSettled([DataDirLock.acquire(dir, 'server', 0), DataDirLock.acquire(dir, 'server', 0)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const winner = results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<DataDirLock>;
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(DataDirBusyError);
    winner.value.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('waits for a CLI command to finish, and gives up naming it when it does not', async () => {
    const cli = liveProcess();
    writeLock({ pid: cli.pid, role: 'cli', started: startTimeOf(cli.pid!) });
    await expect(DataDirLock.acquire(dir, 'server', 200)).rejects.toThrow(`in use by a sigauth CLI command (pid ${cli.pid})`);
    const waiting = DataDirLock.acquire(dir, 'server', 20000);
    cli.kill('SIGKILL');
    const lock = await waiting;
    expect(readLock()).toEqual(expect.objectContaining({ pid: process.pid, role: 'server' }));
    lock.release();
  });
});
