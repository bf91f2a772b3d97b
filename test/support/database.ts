import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the e2e tests create their databases on; TEST_DATABASE_URL overrides the local default. */
export const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Set by global-setup: 'postgresql' when the server answered, 'pglite' when it did not (never under CI). */
export function testBackend(): 'postgresql' | 'pglite' {
  return process.env.SIGAUTH_TEST_BACKEND === 'pglite' ? 'pglite' : 'postgresql';
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function onServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database of its own for one test file. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `sigauth_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await onServer((c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: withDatabase(SERVER_URL, name),
    drop: () => onServer((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
