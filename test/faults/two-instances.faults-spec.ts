import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { decodeJwtPart } from '../support/fib-client.js';
import {
  addUsers,
  fibLogout,
  fibRefresh,
  introspect,
  loginPair,
  refreshPair,
  seedUser,
  sleep,
  startService,
  stopAllServices,
  type FibPair,
  type ServiceProcess,
} from '../support/process-service.js';

const GRACE_SECONDS = 1;

const invalidToken = (message: string) => ({ status: { code: 401, name: 'InvalidToken', message }, data: null });

describe('two service processes on different ports sharing one database behave as one', () => {
  let db: TestDatabase | undefined;
  let a: ServiceProcess;
  let b: ServiceProcess;
  const peer = seedUser('twins@example.org', 'twins@example');
  const caller = seedUser('twins-svc@example.org', 'twins@services', 'ROLE_SERVICE');
  let callerOnB: string;

  beforeAll(async () => {
    db = await createTestDatabase('faults_twins');
    const env = { DATABASE_URL: db.url };
    const extra = { REFRESH_REUSE_GRACE: String(GRACE_SECONDS) };
    // Both start at once on an empty database: they race to migrate it and to create the first
    // signing key, as a fresh deployment of several instances does.
    [a, b] = await Promise.all([startService(env, extra), startService(env, extra)]);
    expect(a.port).not.toBe(b.port);
    await addUsers(env, [peer, caller]);
    callerOnB = (await loginPair(b, caller)).accessToken;
  });

  afterAll(async () => {
    await stopAllServices();
    await db?.drop();
  });

  it('login on A, refresh on B (and back on A): one session across both', async () => {
    const first = await loginPair(a, peer);
    const second = await refreshPair(b, first.refreshToken);
    const third = await refreshPair(a, second.refreshToken);
    const sid = decodeJwtPart(first.refreshToken, 1).sid;
    for (const pair of [second, third]) {
      expect(decodeJwtPart(pair.accessToken, 1).sid).toBe(sid);
      expect(decodeJwtPart(pair.refreshToken, 1).sid).toBe(sid);
    }
    const onB = await introspect(b, callerOnB, third.accessToken);
    expect(onB.body).toEqual(expect.objectContaining({ active: true, sub: 'twins@example.org', token_use: 'access' }));
  });

  it('reuse is detected across them: a retired token replayed on A after the grace window revokes the family on B too', async () => {
    const first = await loginPair(a, peer);
    const second = await refreshPair(b, first.refreshToken);
    const newest = await refreshPair(b, second.refreshToken);
    await sleep(GRACE_SECONDS * 1000 + 300);

    const replay = await fibRefresh(a, first.refreshToken);
    expect({ status: replay.status, body: replay.body }).toEqual({ status: 401, body: invalidToken('refresh token was already used; the session has been revoked') });

    const afterReuse = await fibRefresh(b, newest.refreshToken);
    expect({ status: afterReuse.status, body: afterReuse.body }).toEqual({ status: 401, body: invalidToken('session has ended') });
    const inactive = await introspect(b, callerOnB, newest.accessToken);
    expect({ status: inactive.status, body: inactive.body }).toEqual({ status: 200, body: { active: false } });
  });

  it('logout on A: the access token is refused on B (introspection inactive, logout 401) and its refresh token too', async () => {
    const pair: FibPair = await loginPair(a, peer);
    const before = await introspect(b, callerOnB, pair.accessToken);
    expect(before.body).toEqual(expect.objectContaining({ active: true }));

    const out = await fibLogout(a, pair.accessToken);
    expect({ status: out.status, body: out.body }).toEqual({ status: 200, body: { status: { code: 200, name: 'OK', message: 'User has been logged out.' }, data: {} } });

    const after = await introspect(b, callerOnB, pair.accessToken);
    expect({ status: after.status, body: after.body }).toEqual({ status: 200, body: { active: false } });
    const again = await fibLogout(b, pair.accessToken);
    expect({ status: again.status, body: again.body }).toEqual({ status: 401, body: invalidToken('session has ended') });
    const refresh = await fibRefresh(b, pair.refreshToken);
    expect({ status: refresh.status, body: refresh.body }).toEqual({ status: 401, body: invalidToken('session has ended') });
  });
});
