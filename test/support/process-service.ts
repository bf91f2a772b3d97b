import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { childEnv, jsonOf, PROJECT_ROOT, runCli } from './cli.js';
import { newClientKey, signEmail, type ClientKey } from './fib-client.js';
import { TEST_ENV, type TestApp } from './test-app.js';

/** The built server: `npm run test:faults` compiles before Jest runs. */
export const SERVER_ENTRY = join(PROJECT_ROOT, 'dist', 'server', 'main.js');

export const FIB_BASE = '/auth/api/v1/authentication-management';

/** A port nobody listens on right now (the service does not support PORT=0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface HttpResult {
  status: number;
  body: unknown;
  text: string;
  ms: number;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
  /** Called once the whole request has been handed to the connection. */
  onSent?: () => void;
}

/**
 * One request on a connection of its own (no keep-alive pool to outlive a killed server), so that a
 * refused connection, a reset and a timeout each surface as their own error code.
 */
export function httpRequest(port: number, path: string, options: HttpOptions = {}): Promise<HttpResult> {
  const started = performance.now();
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        agent: false,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: the raw text is the body, and the assertions on it will say so
          }
          resolve({ status: res.statusCode ?? 0, body, text, ms: performance.now() - started });
        });
      },
    );
    req.setTimeout(options.timeoutMs ?? 30000, () => req.destroy(Object.assign(new Error(`${options.method ?? 'GET'} ${path} timed out`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    if (options.onSent) req.on('finish', options.onSent);
    req.end(payload);
  });
}

export interface ServiceProcess {
  port: number;
  pid: number;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  /** Calls listener with each complete line the process writes from now on (stdout and stderr). */
  onLine(listener: (line: string) => void): void;
  /** Resolves when the process has exited, with its code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  http(path: string, options?: HttpOptions): Promise<HttpResult>;
  /** Sends the signal and waits for the exit, killing the process if it outlives timeoutMs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

const running = new Set<ChildProcess>();

// A Jest worker that dies abruptly must not leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface StartOptions {
  port?: number;
  /** How long to wait for /health/live (start-up includes migrations). */
  readyTimeoutMs?: number;
}

/** Spawns `node dist/server/main.js` on a port of its own and waits until it answers /health/live. */
export async function startService(storageEnv: Record<string, string>, extraEnv: Record<string, string> = {}, options: StartOptions = {}): Promise<ServiceProcess> {
  if (!existsSync(SERVER_ENTRY)) throw new Error(`${SERVER_ENTRY} is missing: run \`npm run build\` (npm run test:faults does) first`);
  const port = options.port ?? (await freePort());
  const env = childEnv(storageEnv, { LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), WORKERS: '1', ...extraEnv });
  const child = spawn(process.execPath, [SERVER_ENTRY], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const listeners: ((line: string) => void)[] = [];
  const follow = (stream: NodeJS.ReadableStream): void => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      output += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) for (const listener of listeners) listener(line);
    });
  };
  follow(child.stdout!);
  follow(child.stderr!);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const service: ServiceProcess = {
    port,
    pid: child.pid!,
    output: () => output,
    onLine: (listener) => void listeners.push(listener),
    exited,
    hasExited: () => done,
    http: (path, opts) => httpRequest(port, path, opts),
    async stop(signal = 'SIGTERM', timeoutMs = 10000) {
      const started = performance.now();
      if (done) return { ...(await exited), ms: 0 };
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return { ...(await exited), ms: performance.now() - started };
      } finally {
        clearTimeout(timer);
      }
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30000);
  for (;;) {
    if (done) throw new Error(`the service exited during start-up (${JSON.stringify(await exited)}):\n${output}`);
    try {
      const res = await service.http('/health/live', { timeoutMs: 1000 });
      if (res.status === 200) return service;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await service.stop('SIGKILL');
      throw new Error(`the service did not answer /health/live on port ${port} in time:\n${output}`);
    }
    await sleep(100);
  }
}

/** An instance an e2e file talks to over HTTP only, as it talks to its own TestApp. */
export type TestInstance = Pick<TestApp, 'http' | 'close'> & { port: number };

/**
 * A second instance for an e2e file, beside the TestApp it runs in-process: the built server as a
 * process of its own, with the settings of startTestApp (TEST_ENV) and the file's overrides.
 * Passport keeps login strategies in one registry per process, so a second application in Jest's
 * process would take over the first one's logins (its settings, its database pool); a process of
 * its own is also what a second instance is in production. Needs `npm run build`.
 */
export async function startTestInstance(env: Record<string, string>): Promise<TestInstance> {
  const service = await startService({}, { ...TEST_ENV, LOG_LEVEL: 'warn', ...env });
  const url = `http://127.0.0.1:${service.port}`;
  return {
    port: service.port,
    http: () => request(url),
    close: async () => {
      const { code, signal } = await service.stop();
      if (code !== 0) throw new Error(`the instance on port ${service.port} exited with ${code ?? signal}:\n${service.output()}`);
    },
  };
}

/** Kills every service process this file started that is still running (for afterAll/afterEach). */
export async function stopAllServices(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls fn until it returns true, failing with the last observation after timeoutMs. */
export async function eventually(what: string, timeoutMs: number, fn: () => Promise<{ ok: boolean; seen: unknown }>): Promise<number> {
  const started = performance.now();
  let seen: unknown;
  for (;;) {
    try {
      const result = await fn();
      if (result.ok) return performance.now() - started;
      seen = result.seen;
    } catch (error) {
      seen = (error as Error).message;
    }
    if (performance.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms; last seen: ${JSON.stringify(seen)}`);
    await sleep(200);
  }
}

export interface SeedUser {
  email: string;
  account: string;
  role?: 'ROLE_PEER' | 'ROLE_ADMIN' | 'ROLE_SERVICE';
  key: ClientKey;
}

export function seedUser(email: string, account: string, role: SeedUser['role'] = 'ROLE_PEER'): SeedUser {
  return { email, account, role, key: newClientKey() };
}

/** Creates users with the CLI (`db seed`, one process for all of them; it migrates first). */
export async function addUsers(storageEnv: Record<string, string>, users: SeedUser[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sigauth-faults-seed-'));
  try {
    const file = join(dir, 'users.json');
    const seed = users.map((u) => ({ email: u.email, account: u.account, role: u.role ?? 'ROLE_PEER', publicKeys: [u.key.publicKeyHex], wallets: [] }));
    writeFileSync(file, JSON.stringify({ users: seed }));
    jsonOf(await runCli(['db', 'seed', '--file', file], childEnv(storageEnv, { LOG_LEVEL: 'warn' })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface FibPair {
  accessToken: string;
  refreshToken: string;
}

export function fibLoginBody(user: SeedUser): { email: string; signature: string; authPublicKeyHex: string } {
  return { email: user.email, signature: signEmail(user.key, user.email), authPublicKeyHex: user.key.publicKeyHex };
}

export function fibLogin(service: { http: ServiceProcess['http'] }, user: SeedUser, timeoutMs?: number): Promise<HttpResult> {
  return service.http(`${FIB_BASE}/session`, { method: 'POST', body: fibLoginBody(user), timeoutMs });
}

export function fibRefresh(service: { http: ServiceProcess['http'] }, refreshToken: string, timeoutMs?: number): Promise<HttpResult> {
  return service.http(`${FIB_BASE}/session`, { method: 'PATCH', headers: { authorization: refreshToken }, timeoutMs });
}

export function fibLogout(service: { http: ServiceProcess['http'] }, accessToken: string): Promise<HttpResult> {
  return service.http(`${FIB_BASE}/logout`, { method: 'POST', headers: { authorization: accessToken } });
}

export function introspect(service: { http: ServiceProcess['http'] }, callerAccessToken: string, token: string): Promise<HttpResult> {
  return service.http('/auth/api/v1/token/introspect', { method: 'POST', headers: { authorization: `Bearer ${callerAccessToken}` }, body: { token } });
}

/** Logs in and returns the pair, failing with the whole answer when it is not a 200. */
export async function loginPair(service: { http: ServiceProcess['http'] }, user: SeedUser): Promise<FibPair> {
  const res = await fibLogin(service, user);
  if (res.status !== 200) throw new Error(`login of ${user.email} answered ${res.status}: ${res.text}`);
  return (res.body as { data: FibPair }).data;
}

export async function refreshPair(service: { http: ServiceProcess['http'] }, refreshToken: string): Promise<FibPair> {
  const res = await fibRefresh(service, refreshToken);
  if (res.status !== 200) throw new Error(`refresh answered ${res.status}: ${res.text}`);
  return (res.body as { data: FibPair }).data;
}
