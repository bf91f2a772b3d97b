import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { PgliteSocketServer } from './pglite-socket-server.js';

const IDLE_IN_TRANSACTION_MS = 300;

describe('PgliteSocketServer: one PGlite session shared by the process and its socket clients', () => {
  let dir: string;
  let db: PGlite;
  let server: PgliteSocketServer;
  const warnings: string[] = [];
  const clients: pg.Client[] = [];
  const notified: [string, string | undefined][] = [];

  const client = async (options: pg.ClientConfig = {}): Promise<pg.Client> => {
    const c = new pg.Client({ host: dir, port: 5432, user: 'postgres', database: 'postgres', ...options });
    c.on('error', () => undefined);
    clients.push(c);
    await c.connect();
    return c;
  };
  const count = async (): Promise<number> => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM items')).rows[0]!.n;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigauth-socket-'));
    db = new PGlite();
    await db.exec('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
    server = new PgliteSocketServer(db, {
      path: join(dir, '.s.PGSQL.5432'),
      idleInTransactionMs: IDLE_IN_TRANSACTION_MS,
      warn: (m) => void warnings.push(m),
      notified: (channel, payload) => void notified.push([channel, payload]),
    });
    await server.listen();
  }, 60000);
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.end().catch(() => undefined);
    await db.exec('TRUNCATE items');
    notified.length = 0;
  });
  afterAll(async () => {
    await server?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a client whose writes the process sees at once', async () => {
    const c = await client();
    await c.query('INSERT INTO items VALUES ($1, $2)', [1, 'from the socket']);
    await expect(db.query('SELECT id, label FROM items')).resolves.toEqual(expect.objectContaining({ rows: [{ id: 1, label: 'from the socket' }] }));
    await db.query('INSERT INTO items VALUES (2, $1)', ['from the process']);
    expect((await c.query('SELECT label FROM items ORDER BY id')).rows).toEqual([{ label: 'from the socket' }, { label: 'from the process' }]);
  });

  it("holds the process's queries back while a client's transaction is open, so they never run inside it", async () => {
    const c = await client();
    await c.query('BEGIN');
    await c.query('INSERT INTO items VALUES (1, $1)', ['uncommitted']);
    let answered = false;
    const processCount = count().finally(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    await c.query('ROLLBACK');
    // Inside the client's transaction it would have counted the uncommitted row.
    await expect(processCount).resolves.toBe(0);
    expect(db.isInTransaction()).toBe(false);
  });

  it('keeps every statement its own when the process and two clients interleave extended-protocol queries', async () => {
    const [a, b] = [await client(), await client()];
    const echoes = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const source = i % 3 === 0 ? 'process' : i % 3 === 1 ? 'a' : 'b';
        const text = 'SELECT $1::int AS i, $2::text AS source';
        if (source === 'process') return db.query<{ i: number; source: string }>(text, [i, source]).then((r) => r.rows[0]);
        return (source === 'a' ? a : b).query(text, [i, source]).then((r) => r.rows[0]);
      }),
    );
    expect(echoes).toEqual(Array.from({ length: 60 }, (_, i) => ({ i, source: i % 3 === 0 ? 'process' : i % 3 === 1 ? 'a' : 'b' })));
  });

  it('rolls back the work of a client that disconnects mid-transaction, and the process carries on', async () => {
    const c = await client();
    await c.query('BEGIN');
    await c.query('INSERT INTO items VALUES (1, $1)', ['left behind']);
    (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await expect(count()).resolves.toBe(0);
    expect(db.isInTransaction()).toBe(false);
  });

  it('disconnects a client that stays silent mid-transaction, so the process is never held for longer', async () => {
    const c = await client();
    await c.query('BEGIN');
    await c.query('INSERT INTO items VALUES (1, $1)', ['stalled']);
    await expect(count()).resolves.toBe(0);
    expect(warnings.at(-1)).toMatch(/kept it mid-transaction and silent for 300 ms: disconnected, its work rolled back/);
    await expect(c.query('SELECT 1')).rejects.toThrow();
  });

  it("discards a client's session settings when it leaves", async () => {
    const c = await client();
    await c.query("SET work_mem = '1MB'");
    await c.end();
    await expect(db.query('SHOW work_mem')).resolves.toEqual(expect.objectContaining({ rows: [{ work_mem: '4MB' }] }));
  });

  it("undoes a connected client's settings as its unit of work ends: a read-only default never reaches the process's writes", async () => {
    const c = await client();
    await c.query('SET default_transaction_read_only = on');
    await c.query("SELECT set_config('work_mem', '1MB', false)");
    await c.query('BEGIN; SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; COMMIT');
    await expect(db.query('INSERT INTO items VALUES (1, $1) RETURNING id', ['process'])).resolves.toEqual(expect.objectContaining({ rows: [{ id: 1 }] }));
    await expect(db.query('SHOW work_mem')).resolves.toEqual(expect.objectContaining({ rows: [{ work_mem: '4MB' }] }));
    // Within one unit of work the client's settings hold.
    await c.query('BEGIN');
    await c.query('SET default_transaction_read_only = on');
    await expect(c.query('SHOW default_transaction_read_only')).resolves.toEqual(expect.objectContaining({ rows: [{ default_transaction_read_only: 'on' }] }));
    await c.query('COMMIT');
    await expect(c.query('SHOW default_transaction_read_only')).resolves.toEqual(expect.objectContaining({ rows: [{ default_transaction_read_only: 'off' }] }));
  });

  it("drops a client's temporary table as its unit ends, so it never stands in for one of the process's tables", async () => {
    const c = await client();
    await c.query("CREATE TEMP TABLE items (id int, label text); INSERT INTO items VALUES (7, 'temporary')");
    await db.query("INSERT INTO items VALUES (1, 'real')");
    await expect(db.query('SELECT id, label FROM items')).resolves.toEqual(expect.objectContaining({ rows: [{ id: 1, label: 'real' }] }));
  });

  it("keeps the process's LISTENs through a client's UNLISTEN *, and says that notifications may have been missed meanwhile", async () => {
    const heard: (string | undefined)[] = [];
    const unlisten = await db.listen('process_channel', (payload) => void heard.push(payload));
    try {
      const c = await client();
      await c.query("UNLISTEN *; SELECT pg_notify('process_channel', 'lost')");
      expect(notified).toEqual([['process_channel', undefined]]);
      await c.query('LISTEN client_channel');
      await expect(db.query<{ channel: string }>('SELECT pg_listening_channels() AS channel')).resolves.toEqual(expect.objectContaining({ rows: [{ channel: 'process_channel' }] }));
      // A NOTIFY from the client's work reaches the process again, through the client's output.
      await c.query("SELECT pg_notify('process_channel', 'heard')");
      expect(notified).toEqual([['process_channel', undefined], ['process_channel', 'heard']]);
      await db.query("SELECT pg_notify('process_channel', 'direct')");
      expect(heard).toContain('direct');
    } finally {
      await unlisten();
    }
  });

  it("deallocates a client's prepared statements and advisory locks as its unit ends, and prepares its named statements again for its next one", async () => {
    const c = await client();
    const named = { name: 'labels-by-id', text: 'SELECT label FROM items WHERE id = $1', values: [1] };
    await db.query("INSERT INTO items VALUES (1, 'one')");
    await expect(c.query(named)).resolves.toEqual(expect.objectContaining({ rows: [{ label: 'one' }] }));
    await c.query("PREPARE by_sql AS SELECT 1; SELECT pg_advisory_lock(42)");
    await expect(db.query('SELECT name FROM pg_prepared_statements')).resolves.toEqual(expect.objectContaining({ rows: [] }));
    await expect(db.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'")).resolves.toEqual(expect.objectContaining({ rows: [{ n: 0 }] }));
    // pg sends only Bind for a statement it prepared before on this connection.
    await expect(c.query(named)).resolves.toEqual(expect.objectContaining({ rows: [{ label: 'one' }] }));
    const other = await client();
    await expect(other.query({ ...named, text: 'SELECT id FROM items WHERE id = $1' })).resolves.toEqual(expect.objectContaining({ rows: [{ id: 1 }] }));
    await expect(c.query(named)).resolves.toEqual(expect.objectContaining({ rows: [{ label: 'one' }] }));
  });

  it('survives a client naming a database and user that do not exist (FATAL in single-user mode)', async () => {
    const c = await client({ user: 'nobody', database: 'nowhere' });
    expect((await c.query('SELECT current_database() AS db')).rows).toEqual([{ db: 'postgres' }]);
    await expect(db.query('SELECT 1 AS one')).resolves.toEqual(expect.objectContaining({ rows: [{ one: 1 }] }));
  });

  it('refuses a message outside the query protocol with a FATAL error, and the process carries on', async () => {
    const c = await client();
    await c.query('SELECT 1');
    const raw = connect(join(dir, '.s.PGSQL.5432'));
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      raw.on('connect', () => {
        const startup = Buffer.concat([Buffer.alloc(8), Buffer.from('user\0postgres\0\0')]);
        startup.writeInt32BE(startup.length, 0);
        startup.writeInt32BE(196608, 4);
        // 'F' (a function call) after start-up: not forwarded.
        raw.write(Buffer.concat([startup, Buffer.from([0x46, 0, 0, 0, 4])]));
      });
      raw.on('data', (d: Buffer) => (text += d.toString('latin1')));
      raw.on('close', () => resolve(text));
    });
    expect(reply).toContain('message type "F" is not served');
    expect((await c.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await expect(db.query('SELECT 3 AS three')).resolves.toEqual(expect.objectContaining({ rows: [{ three: 3 }] }));
  });
});
