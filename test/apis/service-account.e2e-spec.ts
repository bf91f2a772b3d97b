import { UsersService } from '../../src/users/users.service.js';
import { redisError } from '../support/envelope.js';
import { decodeJwtPart, newClientKey, signEmail } from '../support/fib-client.js';
import { withDatabaseGone } from '../support/outage.js';
import { onPostgres } from '../support/postgres.js';
import { controlClock, type TestClock } from '../support/test-clock.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from '../support/test-app.js';

const basic = (email: string, password: string) => `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`;

/** The Redis Enterprise-style service-account API: every row of its status table. */
describe('service-account API (Redis Enterprise style)', () => {
  let storage: TestStorage;
  let service: TestApp;
  let clock: TestClock;

  const authorize = (authorization: string | undefined, body?: unknown) => {
    const req = service.http().post('/v1/users/authorize');
    if (authorization) req.set('Authorization', authorization);
    return body === undefined ? req : req.send(body as object);
  };
  const refreshJwt = (authorization: string | undefined, body?: unknown) => {
    const req = service.http().post('/v1/users/refresh_jwt');
    if (authorization) req.set('Authorization', authorization);
    return body === undefined ? req : req.send(body as object);
  };

  beforeAll(async () => {
    storage = await createTestStorage('service_account');
    service = await startTestApp(storage.env);
    clock = controlClock(service.app);
    const users = service.app.get(UsersService);
    await users.create({ email: 'billing@svc.example', account: 'billing@svc', role: 'ROLE_SERVICE', password: 'correct horse battery staple', passwordExpiresAt: '2099-01-01T00:00:00Z' });
    await users.create({ email: 'old@svc.example', account: 'old@svc', role: 'ROLE_SERVICE', password: 'expired-secret', passwordExpiresAt: new Date(Date.now() - 1000) });
  });
  afterEach(() => clock.reset());
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  const good = () => basic('billing@svc.example', 'correct horse battery staple');

  describe('POST /v1/users/authorize', () => {
    it.each([
      ['ttl 1', { ttl: 1 }, 1],
      ['ttl 60', { ttl: 60 }, 60],
      ['ttl 86400', { ttl: 86400 }, 86400],
      ['no ttl', {}, 300],
      ['no body at all', undefined, 300],
    ])('200 { access_token } with %s: exp - iat is exactly the ttl', async (_why, body, ttl) => {
      const res = await authorize(good(), body);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
      const claims = decodeJwtPart(res.body.access_token, 1);
      expect((claims.exp as number) - (claims.iat as number)).toBe(ttl);
      expect(claims).toEqual(expect.objectContaining({ sub: 'billing@svc.example', acc: 'billing@svc', role: 'ROLE_SERVICE', token_use: 'access' }));
    });

    it.each([
      ['0', { ttl: 0 }],
      ['86401', { ttl: 86401 }],
      ['-1', { ttl: -1 }],
      ['1.5', { ttl: 1.5 }],
      ['"60"', { ttl: '60' }],
      ['an object', { ttl: { seconds: 60 } }],
      ['null', { ttl: null }],
      ['an unknown field', { ttl: 60, role: 'ROLE_ADMIN' }],
      ['a JSON array body', [60]],
    ])('400 invalid_schema for ttl %s', async (_why, body) => {
      const res = await authorize(good(), body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error_code: 'invalid_schema', message: expect.any(String) });
    });

    it('400 invalid_schema for a body that is not JSON', async () => {
      const res = await service.http().post('/v1/users/authorize').set('Authorization', good()).set('Content-Type', 'application/json').send('{"ttl":');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error_code: 'invalid_schema', message: expect.any(String) });
    });

    it('401 unauthorized: a wrong password and an unknown user get the identical body', async () => {
      const wrong = await authorize(basic('billing@svc.example', 'wrong password'));
      const unknown = await authorize(basic('nobody@svc.example', 'correct horse battery staple'));
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.body).toEqual({ error_code: 'unauthorized', message: 'Unauthorized' });
      expect(unknown.body).toEqual(wrong.body);
    });

    it.each([
      ['no Authorization header', undefined],
      ['a Bearer header', 'Bearer abc'],
      ['bad base64', 'Basic !!!'],
      ['no colon', `Basic ${Buffer.from('billing@svc.example').toString('base64')}`],
      ['a user without a password', basic('peer@svc.example', 'x')],
    ])('401 unauthorized: %s', async (_why, header) => {
      const res = await authorize(header);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error_code: 'unauthorized', message: 'Unauthorized' });
    });

    it('401 password_expired when the password has expired', async () => {
      const res = await authorize(basic('old@svc.example', 'expired-secret'));
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error_code: 'password_expired', message: 'The password has expired and must be changed.' });
      const wrong = await authorize(basic('old@svc.example', 'not-the-password'));
      expect(wrong.body).toEqual({ error_code: 'unauthorized', message: 'Unauthorized' });
    });

    it('the token is accepted by introspection (as a ROLE_SERVICE caller) and verifies there', async () => {
      const token = (await authorize(good())).body.access_token;
      const res = await service.http().post('/auth/api/v1/token/introspect').set('Authorization', `Bearer ${token}`).send({ token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(expect.objectContaining({ active: true, sub: 'billing@svc.example', role: 'ROLE_SERVICE' }));
    });
  });

  describe('POST /v1/users/refresh_jwt', () => {
    it('200: JWT <token> returns a new token with the requested ttl; Bearer is accepted too', async () => {
      const first = (await authorize(good())).body.access_token as string;
      const res = await refreshJwt(`JWT ${first}`, { ttl: 120 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ access_token: expect.any(String) });
      expect(res.body.access_token).not.toBe(first);
      const claims = decodeJwtPart(res.body.access_token, 1);
      expect((claims.exp as number) - (claims.iat as number)).toBe(120);
      expect(claims.sid).toBe(decodeJwtPart(first, 1).sid);
      const bearer = await refreshJwt(`Bearer ${res.body.access_token}`);
      expect(bearer.status).toBe(200);
      const defaults = decodeJwtPart(bearer.body.access_token, 1);
      expect((defaults.exp as number) - (defaults.iat as number)).toBe(300);
    });

    it('401 for an invalid, missing or non-service-account token', async () => {
      for (const header of ['JWT not-a-token', undefined, 'JWT a.b.c']) {
        const res = await refreshJwt(header);
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ error_code: 'unauthorized', message: expect.any(String) });
      }
      const key = newClientKey();
      await service.app.get(UsersService).create({ email: 'peer@svc.example', account: 'peer@svc', publicKeys: [key.publicKeyHex] });
      const login = await service
        .http()
        .post('/auth/api/v1/authentication-management/session')
        .send({ email: 'peer@svc.example', signature: signEmail(key, 'peer@svc.example'), authPublicKeyHex: key.publicKeyHex });
      expect(login.status).toBe(200);
      const res = await refreshJwt(`JWT ${login.body.data.accessToken}`);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error_code: 'unauthorized', message: 'token was issued to another API' });
    });

    it('400 for a malformed ttl', async () => {
      const token = (await authorize(good())).body.access_token as string;
      for (const ttl of [0, 86401, -1, 1.5, '60', {}]) {
        const res = await refreshJwt(`JWT ${token}`, { ttl });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ error_code: 'invalid_schema', message: expect.any(String) });
      }
    });

    it('401 password_expired once the password has expired, and unauthorized once the user is disabled', async () => {
      const users = service.app.get(UsersService);
      await users.create({ email: 'soon@svc.example', account: 'soon@svc', role: 'ROLE_SERVICE', password: 'soon-secret', passwordExpiresAt: new Date(Date.now() + 60_000) });
      const token = (await authorize(basic('soon@svc.example', 'soon-secret'), { ttl: 3600 })).body.access_token as string;
      expect(token).toEqual(expect.any(String));
      clock.advance(60_000);
      const res = await refreshJwt(`JWT ${token}`);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error_code: 'password_expired', message: 'The password has expired and must be changed.' });

      const live = (await authorize(good())).body.access_token as string;
      await users.create({ email: 'tmp@svc.example', account: 'tmp@svc', role: 'ROLE_SERVICE', password: 'tmp-secret' });
      const tmp = (await authorize(basic('tmp@svc.example', 'tmp-secret'))).body.access_token as string;
      await users.setStatus('tmp@svc.example', 'DISABLED');
      expect((await refreshJwt(`JWT ${tmp}`)).status).toBe(401);
      expect((await refreshJwt(`JWT ${live}`)).status).toBe(200);
    });
  });
});

describe('service-account API: 413, 429 and 500', () => {
  it('413 payload_too_large: a body over the limit, in the Redis shape', async () => {
    const storage = await createTestStorage('service_account_413');
    const service = await startTestApp({ ...storage.env, LOGIN_BODY_LIMIT_BYTES: '2048' });
    try {
      const res = await service.http().post('/v1/users/authorize').set('Authorization', basic('a@b', 'c')).send({ ttl: 60, padding: 'x'.repeat(4096) });
      expect(res.status).toBe(413);
      expect(res.body).toEqual(redisError('payload_too_large', 'request body is larger than the limit'));
    } finally {
      await service.close();
      await storage.cleanup();
    }
  });

  onPostgres('429 too_many_requests with Retry-After on authorize and refresh_jwt once the address has spent its budget', async () => {
    const storage = await createTestStorage('service_account_429');
    const limited = await startTestApp({ ...storage.env, RATE_LIMIT_PER_IP: '1' });
    try {
      await limited.app.get(UsersService).create({ email: 'ops@svc.example', account: 'ops@svc', role: 'ROLE_SERVICE', password: 'ops-secret' });
      const first = await limited.http().post('/v1/users/authorize').set('Authorization', basic('ops@svc.example', 'ops-secret'));
      expect(first.status).toBe(200);
      const authorize = await limited.http().post('/v1/users/authorize').set('Authorization', basic('ops@svc.example', 'ops-secret'));
      const refresh = () => limited.http().post('/v1/users/refresh_jwt').set('Authorization', `JWT ${first.body.access_token}`);
      expect((await refresh()).status).toBe(200);
      for (const res of [authorize, await refresh()]) {
        expect(res.status).toBe(429);
        expect(res.body).toEqual(redisError('too_many_requests', expect.stringMatching(/^Too many requests; retry after \d+ s\.$/)));
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    } finally {
      await limited.close();
      await storage.cleanup();
    }
  });

  onPostgres('500 internal_error when the database is unreachable: only the request id is told', async () => {
    await withDatabaseGone(
      'service_account_500',
      (service) => service.app.get(UsersService).create({ email: 'svc@example.org', account: 'svc@services', role: 'ROLE_SERVICE', password: 'secret' }).then(() => undefined),
      async (service) => {
        const res = await service.http().post('/v1/users/authorize').set('X-Request-Id', 'req-500-svc').set('Authorization', basic('svc@example.org', 'secret'));
        expect(res.status).toBe(500);
        expect(res.body).toEqual({ error_code: 'internal_error', message: 'Internal error (request id req-500-svc)' });
      },
    );
  });
});
