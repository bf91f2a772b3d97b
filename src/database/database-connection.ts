import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { PGlite } from '@electric-sql/pglite';
import { Logger } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { PrismaPGlite } from 'pglite-prisma-adapter';
import type { AppConfig } from '../config/app-config.js';
import { listenOnPostgres } from './postgres-listener.js';
import { DataDirBusyError, DataDirLock, liveOwnerOf } from './data-dir-lock.js';
import { ensurePrivateDataDir, makeDataDirContentsPrivate } from './data-dir-permissions.js';
import { PgliteSocketServer } from './pglite-socket-server.js';

/** One connection used for a sequence of statements (migrations run under an advisory lock on it). */
export interface SqlSession {
  exec(sql: string): Promise<void>;
  /** With a `name`, PostgreSQL parses and plans the statement once per connection (hot paths). */
  query<T extends object>(sql: string, params?: unknown[], name?: string): Promise<T[]>;
}

/** A PostgreSQL advisory lock held by a session of its own, for as long as that session lives. */
export interface HeldLock {
  /** Whether the session still answers (and so still holds the lock). */
  alive(): Promise<boolean>;
  /** Ends the session, which releases the lock. */
  release(): Promise<void>;
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
  /**
   * Takes advisory lock `lockId` on a connection of its own, outside the pool, and keeps it until
   * released or until that connection dies (then the server frees it for another instance).
   * Undefined when another session holds it. On PGlite, one process: always granted.
   */
  tryHoldLock(lockId: number): Promise<HeldLock | undefined>;
  /** Runs fn in one transaction on one session: committed when fn resolves, rolled back when it throws. */
  transaction<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` with the payload of every NOTIFY on `channel`, from any instance, and once
   * more without one after a lost listening connection is back (what was sent meanwhile is lost);
   * `onDown` while it is not listening. Resolves with an unsubscribe.
   */
  listen(channel: string, onNotify: (payload?: string) => void, onDown?: () => void): Promise<() => Promise<void>>;
  notify(channel: string): Promise<void>;
  /** The embedded server only: opens the socket the CLI reaches its database through. */
  serveLocalClients?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Who opens the database. On PGlite the server owns DATA_DIR and serves it on a socket; the CLI
 * goes through that socket while a server runs, and opens the files itself otherwise.
 */
export type DatabaseRole = 'server' | 'cli';

/** How long the CLI waits for a server that holds DATA_DIR to open its socket (it migrates first), and for another CLI command to finish. */
const EMBEDDED_WAIT_MS = 30_000;

/**
 * PGlite's defaults are a PostgreSQL server's: 128 MB of shared buffers alone put the embedded
 * service at 400 MB RSS. Measured with 1,000 users and 10,000 logins (README, "Memory of the
 * embedded server"), 8 MB keep logins as fast (the files stay in the OS page cache) and the WASM
 * heap at its 128 MB floor, of which about 20 MB are touched. A standalone backend checkpoints
 * inline once WAL reaches max_wal_size, so 64 MB bounds the WAL on disk and the replay after a crash.
 */
const PGLITE_SETTINGS = ['shared_buffers=8MB', 'maintenance_work_mem=16MB', 'max_wal_size=64MB', 'min_wal_size=32MB'];

/** The longest one CLI statement may take through the server's socket; a seed batch of 1,000 users takes well under a second. */
const SOCKET_QUERY_TIMEOUT_MS = 60_000;

/** sun_path holds 108 bytes with its terminating NUL. */
const MAX_SOCKET_PATH = 107;

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

export async function openDatabase(config: AppConfig, role: DatabaseRole): Promise<DatabaseConnection> {
  if (config.DATABASE_URL) {
    return openPostgres('postgresql', {
      connectionString: config.DATABASE_URL,
      max: config.DATABASE_POOL_SIZE,
      // A stopped, unreachable or hung database must fail a request quickly, not hang it: no wait
      // for a connection and no single statement outlives DATABASE_TIMEOUT_MS.
      connectionTimeoutMillis: config.DATABASE_TIMEOUT_MS,
      query_timeout: config.DATABASE_TIMEOUT_MS,
    }, config.LISTEN_HEARTBEAT_MS);
  }
  return role === 'server' ? openPglite(config, 'server') : openEmbeddedForCli(config);
}

function openPostgres(kind: DatabaseConnection['kind'], options: pg.PoolConfig, listenHeartbeatMs: number): DatabaseConnection {
  const pool = new pg.Pool({ idleTimeoutMillis: 30000, ...options });
  // A connection of its own, outside the pool, for what must outlive a query: a LISTEN, a held lock.
  const { connectionString, host, port, user, database, password, ssl, connectionTimeoutMillis } = options;
  const ownConnection: pg.ClientConfig = { connectionString, host, port, user, database, password, ssl, connectionTimeoutMillis };
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
    kind,
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
    async tryHoldLock(lockId) {
      const client = new pg.Client({ ...ownConnection, query_timeout: options.query_timeout, keepAlive: true });
      let lost = false;
      // A lock session that loses its server emits 'error'; without a listener Node exits.
      client.on('error', () => (lost = true));
      client.on('end', () => (lost = true));
      try {
        await client.connect();
        const [row] = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [lockId])).rows;
        if (row?.locked) {
          return {
            async alive() {
              if (lost) return false;
              try {
                await client.query('SELECT 1');
                return true;
              } catch {
                return false;
              }
            },
            release: () => client.end().catch(() => undefined),
          };
        }
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
      await client.end().catch(() => undefined);
      return undefined;
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
    listen: async (channel, onNotify, onDown) => listenOnPostgres(ownConnection, channel, onNotify, onDown, listenHeartbeatMs),
    notify: async (channel) => void (await pool.query('SELECT pg_notify($1, $2)', [channel, ''])),
    close: () => pool.end(),
  };
}

/** The CLI beside a running server goes through the server's socket; with none running it opens the files itself. */
async function openEmbeddedForCli(config: AppConfig): Promise<DatabaseConnection> {
  const deadline = performance.now() + EMBEDDED_WAIT_MS;
  for (;;) {
    const owner = await liveOwnerOf(config.DATA_DIR);
    if (owner?.role === 'server') {
      if (owner.socket) return openThroughSocket(owner.socket, config);
      if (performance.now() > deadline) throw new Error(`the sigauth server (pid ${owner.pid}) holding DATA_DIR ${config.DATA_DIR} has not opened its socket in ${EMBEDDED_WAIT_MS} ms`);
      await sleep(100);
      continue;
    }
    try {
      return await openPglite(config, 'cli');
    } catch (error) {
      // A server took DATA_DIR between the look and the lock: go through its socket.
      if (!(error instanceof DataDirBusyError && error.owner.role === 'server')) throw error;
    }
  }
}

function openThroughSocket(socket: string, config: AppConfig): DatabaseConnection {
  // libpq's convention, which pg follows: the folder is the host, the port names the socket file.
  const port = Number(/^\.s\.PGSQL\.(\d+)$/.exec(basename(socket))?.[1]);
  return openPostgres('pglite', {
    host: dirname(socket),
    port,
    user: 'postgres',
    database: 'postgres',
    max: 1,
    connectionTimeoutMillis: config.DATABASE_TIMEOUT_MS,
    query_timeout: SOCKET_QUERY_TIMEOUT_MS,
  }, config.LISTEN_HEARTBEAT_MS);
}

/**
 * PGlite runs initdb in a second WASM instance whose memory it never frees (about 460 MB RSS for
 * the life of the process, measured), so a fresh DATA_DIR is initialised by a short-lived child process.
 */
async function initializeDataDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = `require(${JSON.stringify(entry)}).PGlite.create(${JSON.stringify(dataDir)}).then((db) => db.close()).catch((e) => { console.error(e.message); process.exit(1); })`;
  await promisify(execFile)(process.execPath, ['-e', script], { timeout: 120_000 });
}

/** The server's socket: in DATA_DIR, or in a private folder under the system's temporary one when that path is too long for a Unix socket. */
function socketPathFor(dataDir: string): { path: string; folder?: string } {
  const inDataDir = join(resolve(dataDir), '.s.PGSQL.5432');
  if (Buffer.byteLength(inDataDir) <= MAX_SOCKET_PATH) return { path: inDataDir };
  const folder = mkdtempSync(join(tmpdir(), 'sigauth-'));
  return { path: join(folder, '.s.PGSQL.5432'), folder };
}

async function openPglite(config: AppConfig, role: DatabaseRole): Promise<DatabaseConnection> {
  const dataDir = config.DATA_DIR;
  const logger = new Logger('EmbeddedDatabase');
  ensurePrivateDataDir(dataDir, (message) => logger.warn(message));
  const lock = await DataDirLock.acquire(dataDir, role, EMBEDDED_WAIT_MS);
  // Loaded here, not at the top: a server on DATABASE_URL (every cluster worker) never needs them.
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
  let db: PGlite;
  try {
    await initializeDataDir(dataDir);
    // PGlite's initdb writes its files 0666 (and sigauth 0.2 left them so); PostgreSQL rewrites its
    // relation cache's init file 0644 at every start.
    makeDataDirContentsPrivate(dataDir);
    db = new PGlite(dataDir, { startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS.flatMap((setting) => ['-c', setting])] });
    await db.waitReady;
    makeDataDirContentsPrivate(dataDir);
  } catch (error) {
    lock.release();
    throw error;
  }
  const session: SqlSession = {
    async exec(sql) {
      await db.exec(sql);
    },
    async query<T extends object>(sql: string, params: unknown[] = []) {
      return (await db.query<T>(sql, params)).rows;
    },
  };
  let socketServer: PgliteSocketServer | undefined;
  let socketFolder: string | undefined;
  // Listeners for what the CLI's work notifies through the socket (PGlite itself tells only of its own queries').
  const socketListeners = new Map<string, Set<(payload?: string) => void>>();
  return {
    kind: 'pglite',
    adapter: new PrismaPGlite(db),
    ...session,
    // Every client of the embedded database shares its one session (see PgliteSocketServer), and the
    // server migrates before it opens the socket: there is nobody to take turns with.
    exclusive: (_lockId, fn) => fn(session),
    // In one process nothing is lost between a NOTIFY and its listeners: onDown is never called.
    async listen(channel, onNotify) {
      const unlisten = await db.listen(channel, (payload) => onNotify(payload));
      const listeners = socketListeners.get(channel) ?? new Set();
      socketListeners.set(channel, listeners.add(onNotify));
      return async () => {
        listeners.delete(onNotify);
        await unlisten();
      };
    },
    notify: async (channel) => void (await db.query('SELECT pg_notify($1, $2)', [channel, ''])),
    tryHoldLock: async () => ({ alive: async () => true, release: async () => undefined }),
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          exec: async (sql) => void (await tx.exec(sql)),
          query: async <T extends object>(sql: string, params: unknown[] = []) => (await tx.query<T>(sql, params)).rows,
        }),
      ),
    async serveLocalClients() {
      const { path, folder } = socketPathFor(dataDir);
      socketFolder = folder;
      socketServer = new PgliteSocketServer(db, {
        path,
        idleInTransactionMs: config.DATABASE_TIMEOUT_MS,
        warn: (message) => logger.warn(message),
        notified: (channel, payload) => socketListeners.get(channel)?.forEach((onNotify) => onNotify(payload)),
      });
      await socketServer.listen();
      lock.publishSocket(path);
    },
    async close() {
      try {
        await socketServer?.close();
        await db.close();
      } finally {
        if (socketFolder) rmSync(socketFolder, { recursive: true, force: true });
        lock.release();
      }
    },
  };
}
