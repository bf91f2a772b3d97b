import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { TestStorage } from './test-app.js';

export type Query = <T extends object = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/**
 * Direct SQL on a test storage, independent of the code under test: pg on PostgreSQL, or the PGlite
 * folder when the run has no server (open only while no other process holds that folder).
 */
export async function withSql<T>(storage: TestStorage, fn: (query: Query) => Promise<T>): Promise<T> {
  if (storage.backend === 'pglite') {
    const db = new PGlite(storage.env.DATA_DIR!);
    try {
      return await fn(async (sql, params = []) => (await db.query(sql, params)).rows as never[]);
    } finally {
      await db.close();
    }
  }
  const client = new pg.Client({ connectionString: storage.env.DATABASE_URL });
  await client.connect();
  try {
    return await fn(async (sql, params = []) => (await client.query(sql, params)).rows as never[]);
  } finally {
    await client.end();
  }
}

/** Row counts of the given tables (a missing table is an error, not 0). */
export async function countRows(storage: TestStorage, tables: string[]): Promise<Record<string, number>> {
  return withSql(storage, async (query) => {
    const counts: Record<string, number> = {};
    for (const table of tables) counts[table] = Number((await query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`))[0]!.n);
    return counts;
  });
}
