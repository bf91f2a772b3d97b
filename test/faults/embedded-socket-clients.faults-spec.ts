import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { childEnv, jsonOf, runCli } from '../support/cli.js';
import { addUsers, eventually, fibLogin, introspect, loginPair, seedUser, startService, stopAllServices, type ServiceProcess } from '../support/process-service.js';

/** The server's DATABASE_TIMEOUT_MS, which is also how long a socket client may sit mid-transaction: short, so that the test waits little. */
const IDLE_IN_TRANSACTION_MS = 1500;

const loginOk = {
  status: { code: 200, name: 'OK', message: 'User authorization has been successful.' },
  data: expect.objectContaining({ accessToken: expect.any(String), refreshToken: expect.any(String) }),
};

// PGlite is one session, shared by the embedded server and every client of its socket.
describe("a client of the embedded server's socket cannot change the server's own session", () => {
  let dir: string;
  let storage: Record<string, string>;
  let service: ServiceProcess;
  const clients: pg.Client[] = [];
  const peer = seedUser('socket-peer@example.org', 'socket@example');
  const caller = seedUser('socket-svc@example.org', 'socket@services', 'ROLE_SERVICE');

  const socketClient = async (): Promise<pg.Client> => {
    const client = new pg.Client({ host: storage.DATA_DIR, port: 5432, user: 'postgres', database: 'postgres' });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigauth-socket-clients-'));
    storage = { DATA_DIR: join(dir, 'data') };
    service = await startService(storage, { DATABASE_TIMEOUT_MS: String(IDLE_IN_TRANSACTION_MS) }, { readyTimeoutMs: 60000 });
    await eventually('/health/ready answers 200', 30000, async () => {
      const res = await service.http('/health/ready');
      return { ok: res.status === 200, seen: res.body };
    });
    await addUsers(storage, [peer, caller]);
  }, 120000);

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.end().catch(() => undefined);
  });

  afterAll(async () => {
    await stopAllServices();
    rmSync(dir, { recursive: true, force: true });
  });

  it("logs in with 200 while a connected client holds a read-only default, a timeout, a search path and a prepared statement", async () => {
    const client = await socketClient();
    await client.query('SET default_transaction_read_only = on');
    await client.query("SELECT set_config('statement_timeout', '1', false), set_config('search_path', 'pg_catalog', false)");
    await client.query('PREPARE held AS SELECT 1');
    await client.query({ name: 'named', text: 'SELECT $1::int AS n', values: [1] });

    const login = await fibLogin(service, peer);
    expect({ status: login.status, body: login.body }).toEqual({ status: 200, body: loginOk });

    // The client is still served, its named statement included.
    await expect(client.query({ name: 'named', text: 'SELECT $1::int AS n', values: [2] })).resolves.toEqual(expect.objectContaining({ rows: [{ n: 2 }] }));
  });

  it('logs in with 200 once a client that left a read-only transaction open has been cut off, and not before', async () => {
    const client = await socketClient();
    await client.query('SET default_transaction_read_only = on');
    await client.query('BEGIN READ ONLY');
    await client.query('SELECT 1');

    const login = await fibLogin(service, peer);
    expect({ status: login.status, body: login.body }).toEqual({ status: 200, body: loginOk });
    expect(login.ms).toBeGreaterThan(IDLE_IN_TRANSACTION_MS - 300);
    await expect(client.query('SELECT 1')).rejects.toThrow();
  });

  it("hears a user disabled through the CLI at once, after a client's UNLISTEN *: introspection answers active false", async () => {
    const callerToken = (await loginPair(service, caller)).accessToken;
    const pair = await loginPair(service, peer);
    const active = async (): Promise<void> => {
      const res = await introspect(service, callerToken, pair.accessToken);
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: expect.objectContaining({ active: true, sub: peer.email }) });
    };
    // The first lookup makes the server LISTEN for ended sessions; the client's UNLISTEN comes after it.
    await active();
    const client = await socketClient();
    await client.query('UNLISTEN *');
    // Twice, so that the second answer comes from the liveness cache.
    await active();
    await active();

    const disabled = await runCli(['users', 'disable', '--email', peer.email], childEnv(storage));
    expect(jsonOf<{ email: string }>(disabled)).toEqual(expect.objectContaining({ email: peer.email }));

    // No retry: the cache keeps a session it has seen live for 10 s unless the ending is heard.
    const after = await introspect(service, callerToken, pair.accessToken);
    expect({ status: after.status, body: after.body }).toEqual({ status: 200, body: { active: false } });
  });
});
