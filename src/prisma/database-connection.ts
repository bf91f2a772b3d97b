import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { AppConfig } from '../config/app-config.js';
import { listenOnPostgres } from './postgres-listener.js';

/** One connection used for a sequence of statements (migrations run under an advisory lock on it). */
export interface SqlSession {
  exec(sql: string): Promise<void>;
  /** With a `name`, PostgreSQL parses and plans the statement once per connection (hot paths). */
  query<T extends object>(sql: string, params?: unknown[], name?: string): Promise<T[]>;
}

/**
 * The physical database behind Prisma: a pg pool for DATABASE_URL, embedded PGlite otherwise.
 * Prisma runs on its adapter; the migration runner needs multi-statement SQL, which Prisma's
 * raw queries (prepared statements) cannot run.
 */
export interface DatabaseConnection extends SqlSession {
  readonly kind: 'postgresql' | 'pglite';
  readonly adapter: PrismaPg | PrismaPGlite;
  /** Runs fn on one session, holding a database-wide lock so concurrent instances take turns. */
  exclusive<T>(lockId: number, fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Runs fn in one transaction on one session: committed when fn resolves, rolled back when it throws. */
  transaction<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` for every NOTIFY on `channel`, from any instance, and once more after a lost
   * listening connection is back (what was sent meanwhile is lost). Resolves with an unsubscribe.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  notify(channel: string): Promise<void>;
  close(): Promise<void>;
}

export function openDatabase(config: AppConfig): DatabaseConnection {
  return config.DATABASE_URL ? openPostgres(config) : openPglite(config.DATA_DIR);
}

function openPostgres(config: AppConfig): DatabaseConnection {
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_SIZE,
    // A stopped, unreachable or hung database must fail a request quickly, not hang it: no wait
    // for a connection and no single statement outlives DATABASE_TIMEOUT_MS.
    connectionTimeoutMillis: config.DATABASE_TIMEOUT_MS,
    query_timeout: config.DATABASE_TIMEOUT_MS,
    idleTimeoutMillis: 30000,
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener Node exits.
  pool.on('error', () => undefined);
  const sessionOf = (client: pg.Pool | pg.PoolClient): SqlSession => ({
    async exec(sql) {
      await client.query(sql);
    },
    async query<T extends object>(sql: string, params: unknown[] = [], name?: string) {
      return (await client.query(name ? { name, text: sql, values: params } : { text: sql, values: params })).rows as T[];
    },
  });
  return {
    kind: 'postgresql',
    adapter: new PrismaPg(pool),
    ...sessionOf(pool),
    async exclusive(lockId, fn) {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [lockId]);
        try {
          return await fn(sessionOf(client));
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [lockId]);
        }
      } finally {
        client.release();
      }
    },
    async transaction(fn) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(sessionOf(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw error;
      } finally {
        // A connection that could not even roll back is not handed to the next caller.
        client.release(broken);
      }
    },
    listen: async (channel, onNotify) => listenOnPostgres(config, channel, onNotify),
    notify: async (channel) => void (await pool.query('SELECT pg_notify($1, $2)', [channel, ''])),
    close: () => pool.end(),
  };
}

function openPglite(dataDir: string): DatabaseConnection {
  mkdirSync(dataDir, { recursive: true });
  const db = new PGlite(dataDir);
  const session: SqlSession = {
    async exec(sql) {
      await db.exec(sql);
    },
    async query<T extends object>(sql: string, params: unknown[] = []) {
      return (await db.query<T>(sql, params)).rows;
    },
  };
  return {
    kind: 'pglite',
    adapter: new PrismaPGlite(db),
    ...session,
    // PGlite is one connection in one process: there is nobody to take turns with.
    exclusive: (_lockId, fn) => fn(session),
    listen: (channel, onNotify) => db.listen(channel, onNotify).then((unlisten) => unlisten),
    notify: async (channel) => void (await db.query('SELECT pg_notify($1, $2)', [channel, ''])),
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          exec: async (sql) => void (await tx.exec(sql)),
          query: async <T extends object>(sql: string, params: unknown[] = []) => (await tx.query<T>(sql, params)).rows,
        }),
      ),
    close: () => db.close(),
  };
}
