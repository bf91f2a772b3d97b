import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createApp } from '../../src/app.factory.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { createTestDatabase, testBackend, type TestDatabase } from './database.js';

/**
 * Cheap Argon2 for tests (supabase/auth does the same), and rate limits off: the status-table
 * suites send many failing requests from one address on purpose. test/rate-limit.e2e-spec.ts
 * turns the limits on. Production defaults are in AppConfig.
 */
export const TEST_ENV = {
  ARGON2_MEMORY_KIB: '1024',
  ARGON2_ITERATIONS: '1',
  LOG_LEVEL: 'silent',
  RATE_LIMIT_PER_IP: '0',
  RATE_LIMIT_FAILURES_PER_IDENTITY: '0',
  // Tokens name a fixed issuer, whatever port a test listens on; test/apis/oauth sets PUBLIC_URL
  // and leaves the issuer to default to it, as discovery needs.
  JWT_ISSUER: 'sigauth',
} as const;

export interface TestStorage {
  env: Record<string, string>;
  backend: 'postgresql' | 'pglite';
  /** Where the data lives, for a second instance or a restart on the same data. */
  cleanup(): Promise<void>;
}

/** A database of the file's own: a fresh PostgreSQL database, or a PGlite folder when the run has no server. */
export async function createTestStorage(label: string, backend = testBackend()): Promise<TestStorage> {
  if (backend === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), `sigauth-${label}-`));
    return { env: { DATA_DIR: dir }, backend, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const db: TestDatabase = await createTestDatabase(label);
  return { env: { DATABASE_URL: db.url }, backend, cleanup: () => db.drop() };
}

export function testConfig(env: Record<string, string | undefined>): AppConfig {
  return loadConfig({ ...TEST_ENV, ...env } as NodeJS.ProcessEnv);
}

export interface TestApp {
  app: NestFastifyApplication;
  http: () => ReturnType<typeof request>;
  close(): Promise<void>;
}

/** Boots the real AppModule (filters, pipes, guards and all) over HTTP on a random port. */
export async function startTestApp(env: Record<string, string | undefined>): Promise<TestApp> {
  // SIGAUTH_TEST_LOGS=debug (or any level) shows the service's logs while a test runs.
  const app = await createApp(testConfig({ ...env, ...(process.env.SIGAUTH_TEST_LOGS ? { LOG_LEVEL: process.env.SIGAUTH_TEST_LOGS } : {}) }));
  try {
    await app.listen({ port: env.PORT ? Number(env.PORT) : 0, host: '127.0.0.1' });
  } catch (error) {
    // A refused start leaves timers and pools behind unless the app is closed.
    await app.close().catch(() => undefined);
    throw error;
  }
  const server = app.getHttpServer();
  return { app, http: () => request(server), close: () => app.close() };
}
