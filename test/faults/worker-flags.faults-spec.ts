import { readdirSync, readFileSync } from 'node:fs';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startService, stopAllServices } from '../support/process-service.js';

/** The command lines of a process's children (the cluster's workers), from /proc. */
function childCommandLines(parent: number): string[][] {
  const lines: string[][] = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      // stat: "pid (comm) state ppid ...": the fields after the last ')' start with state.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) lines.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean));
    } catch {
      // gone meanwhile
    }
  }
  return lines;
}

describe('cluster workers start with the measured V8 heap sizing (README, "Decisions a user should know")', () => {
  let db: TestDatabase | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('faults_worker_flags');
  });
  afterAll(async () => {
    await stopAllServices();
    await db?.drop();
  });

  it('by default: 8 MB semi-spaces and a 30 % old-generation growth', async () => {
    const service = await startService({ DATABASE_URL: db!.url }, { WORKERS: '2' });
    const workers = childCommandLines(service.pid);
    expect(workers).toHaveLength(2);
    for (const argv of workers) expect(argv.slice(1, 3)).toEqual(['--max-semi-space-size=8', '--heap-growing-percent=30']);
    await service.stop();
  });

  it('a flag the operator gave in NODE_OPTIONS wins over the default', async () => {
    const service = await startService({ DATABASE_URL: db!.url }, { WORKERS: '2', NODE_OPTIONS: '--max-semi-space-size=16' });
    const workers = childCommandLines(service.pid);
    expect(workers).toHaveLength(2);
    for (const argv of workers) {
      expect(argv).toContain('--heap-growing-percent=30');
      expect(argv.filter((flag) => flag.startsWith('--max-semi-space-size'))).toEqual([]);
    }
    await service.stop();
  });
});
