import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { decodeJwtPart } from '../support/fib-client.js';
import {
  addUsers,
  fibRefresh,
  introspect,
  loginPair,
  seedUser,
  startService,
  stopAllServices,
  type FibPair,
  type ServiceProcess,
} from '../support/process-service.js';

describe('a service process restarted between login and refresh loses nothing', () => {
  let db: TestDatabase | undefined;
  let env: Record<string, string>;
  let service: ServiceProcess;
  const peer = seedUser('restart@example.org', 'restart@example');
  const caller = seedUser('restart-svc@example.org', 'restart@services', 'ROLE_SERVICE');
  let peerPair: FibPair;
  let callerPair: FibPair;

  beforeAll(async () => {
    db = await createTestDatabase('faults_restart');
    env = { DATABASE_URL: db.url };
    await addUsers(env, [peer, caller]);
    service = await startService(env);
    peerPair = await loginPair(service, peer);
    callerPair = await loginPair(service, caller);

    const stopped = await service.stop('SIGTERM');
    expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 0, signal: null });
    // Same database and port, a new process: nothing carried over in memory.
    const port = service.port;
    service = await startService(env, {}, { port });
  });

  afterAll(async () => {
    await stopAllServices();
    await db?.drop();
  });

  it('the pre-restart access tokens still verify: introspection by a ROLE_SERVICE caller, and offline against the JWKS', async () => {
    const res = await introspect(service, callerPair.accessToken, peerPair.accessToken);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: {
        active: true,
        sub: 'restart@example.org',
        acc: 'restart@example',
        role: 'ROLE_PEER',
        exp: decodeJwtPart(peerPair.accessToken, 1).exp,
        iat: decodeJwtPart(peerPair.accessToken, 1).iat,
        jti: decodeJwtPart(peerPair.accessToken, 1).jti,
        iss: 'sigauth',
        aud: 'sigauth',
        token_use: 'access',
        client_id: 'fib',
      },
    });

    const jwks = await service.http('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    const { payload, protectedHeader } = await jwtVerify(peerPair.accessToken, createLocalJWKSet(jwks.body as JSONWebKeySet), { algorithms: ['EdDSA'], typ: 'at+jwt' });
    expect(protectedHeader).toEqual(expect.objectContaining({ alg: 'EdDSA', typ: 'at+jwt' }));
    expect(payload.sub).toBe('restart@example.org');
  });

  it('refresh with the pre-restart refresh token rotates the same session, and the new pair works', async () => {
    const res = await fibRefresh(service, peerPair.refreshToken);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: {
        status: { code: 200, name: 'OK', message: 'Tokens have been refreshed.' },
        data: {
          accessToken: expect.any(String),
          refreshToken: expect.any(String),
          expirationTime: 300,
          accessExpiryAt: expect.any(Number),
          refreshExpiryAt: expect.any(Number),
        },
      },
    });
    const next = (res.body as { data: FibPair }).data;
    expect(decodeJwtPart(next.refreshToken, 1).sid).toBe(decodeJwtPart(peerPair.refreshToken, 1).sid);
    expect((await fibRefresh(service, next.refreshToken)).status).toBe(200);
    const live = await introspect(service, callerPair.accessToken, next.accessToken);
    expect(live.body).toEqual(expect.objectContaining({ active: true, sub: 'restart@example.org', token_use: 'access' }));
  });
});
