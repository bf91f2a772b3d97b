import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_ENV } from './test-app.js';

/** The built entry points: `npm run test:e2e` compiles before Jest runs. */
export const PROJECT_ROOT = process.cwd();
export const CLI_ENTRY = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
export const PRISMA_SEED_ENTRY = join(PROJECT_ROOT, 'dist', 'prisma', 'seed.js');

export interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The child's environment: the storage under test and cheap Argon2, nothing inherited that could
 * point it elsewhere. NODE_OPTIONS is dropped because Jest's --experimental-vm-modules would make
 * Node print an ExperimentalWarning on the child's stderr.
 */
export function childEnv(storageEnv: Record<string, string>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['NODE_OPTIONS', 'DATABASE_URL', 'DATA_DIR', 'SEED_FILE', 'MIGRATE_ON_START']) delete env[key];
  return { ...env, ARGON2_MEMORY_KIB: TEST_ENV.ARGON2_MEMORY_KIB, ARGON2_ITERATIONS: TEST_ENV.ARGON2_ITERATIONS, JWT_ISSUER: TEST_ENV.JWT_ISSUER, ...storageEnv, ...extra };
}

function assertBuilt(entry: string): void {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (npm run test:e2e does) first`);
}

/** Runs a built script with node, feeding `input` on stdin (stdin is closed either way). */
export function runNode(entry: string, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<ProcessResult> {
  assertBuilt(entry);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { cwd: PROJECT_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<ProcessResult> {
  return runNode(CLI_ENTRY, args, env, input);
}

/** The synchronous form, for steps that must follow one another. */
export function runCliSync(args: string[], env: NodeJS.ProcessEnv, input = ''): ProcessResult {
  assertBuilt(CLI_ENTRY);
  const result = spawnSync(process.execPath, [CLI_ENTRY, ...args], { cwd: PROJECT_ROOT, env, input, encoding: 'utf8', timeout: 60000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs tasks with at most `limit` in flight (CLI processes are CPU-bound at start-up). */
export async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Parses stdout of a successful command, failing with everything the process said when it did not succeed. */
export function jsonOf<T = unknown>(result: ProcessResult): T {
  if (result.status !== 0) throw new Error(`exit ${result.status}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
