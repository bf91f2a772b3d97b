import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { addUsers, fibLogout, introspect, loginPair, seedUser, startService, stopAllServices, type ServiceProcess } from '../support/process-service.js';

const HEARTBEAT_MS = 500;
/** A heartbeat is sent every HEARTBEAT_MS and may take as long to answer; the rest is for reconnecting and the requests themselves. */
const NOTICED_WITHIN_MS = 2 * HEARTBEAT_MS + 1500;

/** The local TCP ports of a process's sockets, which PostgreSQL shows as its backends' client_port. */
function localPorts(pid: number): number[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        } catch {
          return undefined; // closed between the listing and the look
        }
      })
      .filter((inode) => inode !== undefined),
  );
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && inodes.has(fields[9]!)) ports.push(parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

describe('an instance whose LISTEN backend is frozen notices it and stops trusting its liveness cache', () => {
  let db: TestDatabase | undefined;
  let a: ServiceProcess;
  let b: ServiceProcess;
  const peer = seedUser('frozen@example.org', 'frozen@example');
  const caller = seedUser('frozen-svc@example.org', 'frozen@services', 'ROLE_SERVICE');

  beforeAll(async () => {
    db = await createTestDatabase('faults_frozen_listener');
    const env = { DATABASE_URL: db.url };
    a = await startService(env, { LISTEN_HEARTBEAT_MS: String(HEARTBEAT_MS) });
    b = await startService(env, { LISTEN_HEARTBEAT_MS: String(HEARTBEAT_MS) });
    await addUsers(env, [peer, caller]);
  });

  afterAll(async () => {
    await stopAllServices();
    await db?.drop();
  });

  it(`refuses on B, within ${NOTICED_WITHIN_MS} ms, a token logged out on A while B's listening backend is stopped (SIGSTOP)`, async () => {
    const callerOnB = (await loginPair(b, caller)).accessToken;
    const pair = await loginPair(a, peer);
    // The first lookup makes B listen; the second answer comes from its liveness cache.
    for (let i = 0; i < 2; i++) {
      const before = await introspect(b, callerOnB, pair.accessToken);
      expect({ status: before.status, body: before.body }).toEqual({ status: 200, body: expect.objectContaining({ active: true, sub: peer.email }) });
    }

    const admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND client_port = ANY($1::int[])
          AND (application_name = 'sigauth LISTEN sigauth_session_ended' OR query LIKE 'LISTEN sigauth_session_ended%')`,
      [localPorts(b.pid)],
    );
    await admin.end();
    expect(rows).toHaveLength(1);
    const frozen = rows[0]!.pid;

    process.kill(frozen, 'SIGSTOP');
    try {
      const out = await fibLogout(a, pair.accessToken);
      expect({ status: out.status, body: out.body }).toEqual({ status: 200, body: { status: { code: 200, name: 'OK', message: 'User has been logged out.' }, data: {} } });
      const started = performance.now();
      let after = await introspect(b, callerOnB, pair.accessToken);
      while ((after.body as { active?: boolean }).active !== false && performance.now() - started < NOTICED_WITHIN_MS) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = await introspect(b, callerOnB, pair.accessToken);
      }
      expect({ status: after.status, body: after.body, withinBound: performance.now() - started < NOTICED_WITHIN_MS }).toEqual({ status: 200, body: { active: false }, withinBound: true });
    } finally {
      process.kill(frozen, 'SIGCONT');
    }
    // B listens again, on a connection of its own: what ends now is heard, and answers come from the cache again.
    const next = await loginPair(a, peer);
    expect((await introspect(b, callerOnB, next.accessToken)).body).toEqual(expect.objectContaining({ active: true }));
    expect((await fibLogout(a, next.accessToken)).status).toBe(200);
    const gone = await introspect(b, callerOnB, next.accessToken);
    expect({ status: gone.status, body: gone.body }).toEqual({ status: 200, body: { active: false } });
  });
});
