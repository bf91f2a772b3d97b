import { performance } from 'node:perf_hooks';
import type { Response } from 'supertest';
import { UsersService } from '../src/users/users.service.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

/** About 0.95 MB: under BODY_LIMIT_BYTES (1 MiB), far over LOGIN_BODY_LIMIT_BYTES (16 KiB). */
const MANY_KEYS = `{${Array.from({ length: 90_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
/** 2,000 levels in a field, about 4 KB: class-transformer's recursion overflowed on it (a 500). */
const DEEP = `{"email":${'['.repeat(2_000)}${']'.repeat(2_000)}}`;
/** 200,000 levels, about 400 KB. */
const DEEPER = `{"email":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;

type Body = 'many keys' | 'deep' | 'deeper';
const BODIES: Record<Body, string> = { 'many keys': MANY_KEYS, deep: DEEP, deeper: DEEPER };

const envelope = (code: number, name: string, message: string) => ({ status: { code, name, message }, data: null });
const TOO_LARGE = envelope(413, 'PayloadTooLarge', 'request body is larger than the limit');
const TOO_DEEP = envelope(422, 'ArgumentNotValid', 'request body nests deeper than 32 levels');

/**
 * Every JSON route family against the bodies that froze the server or crashed its validation: each
 * is refused by its API's own row, with a short body, and the event loop stays free meanwhile.
 */
describe('hostile request bodies', () => {
  let storage: TestStorage;
  let service: TestApp;
  let adminToken: string;
  const timings: string[] = [];

  beforeAll(async () => {
    storage = await createTestStorage('hostile_bodies');
    service = await startTestApp(storage.env);
    await service.app.get(UsersService).create({ email: 'root@hostile.example', account: 'root@hostile', role: 'ROLE_ADMIN', password: 'root password for hostile bodies' });
    const res = await service
      .http()
      .post('/v1/users/authorize')
      .set('Authorization', `Basic ${Buffer.from('root@hostile.example:root password for hostile bodies').toString('base64')}`);
    expect(res.status).toBe(200);
    adminToken = res.body.access_token;
  });
  afterAll(async () => {
    console.log(`hostile bodies (answer, /health/live meanwhile):\n  ${timings.join('\n  ')}`);
    await service?.close();
    await storage?.cleanup();
  });

  /** Sends `body` as JSON and, while it is on its way, asks /health/live; both answers, and how long the liveness probe took. */
  async function send(method: 'post' | 'patch', path: string, body: string, headers: Record<string, string> = {}): Promise<{ res: Response; liveMs: number }> {
    const hostile = service.http()[method](path).set({ 'content-type': 'application/json', ...headers }).send(body);
    const answered = hostile.then((res) => res);
    const started = performance.now();
    const live = await service.http().get('/health/live');
    const liveMs = performance.now() - started;
    expect(live.status).toBe(200);
    return { res: await answered, liveMs };
  }

  const FAMILIES: { family: string; method: 'post' | 'patch'; path: string; admin?: boolean; expected: Record<Body, [number, unknown]> }[] = [
    {
      family: 'FIB login',
      method: 'post',
      path: '/auth/api/v1/authentication-management/session',
      expected: { 'many keys': [413, TOO_LARGE], deep: [422, TOO_DEEP], deeper: [413, TOO_LARGE] },
    },
    {
      family: 'FIB refresh',
      method: 'patch',
      path: '/auth/api/v1/authentication-management/session',
      expected: { 'many keys': [413, TOO_LARGE], deep: [422, TOO_DEEP], deeper: [413, TOO_LARGE] },
    },
    {
      family: 'wallet login',
      method: 'post',
      path: '/api/auth/login',
      expected: { 'many keys': [413, TOO_LARGE], deep: [422, TOO_DEEP], deeper: [413, TOO_LARGE] },
    },
    {
      family: 'wallet refresh',
      method: 'post',
      path: '/api/auth/refresh',
      expected: { 'many keys': [413, TOO_LARGE], deep: [422, TOO_DEEP], deeper: [413, TOO_LARGE] },
    },
    {
      family: 'SIWE login',
      method: 'post',
      path: '/api/auth/siwe/login',
      expected: { 'many keys': [413, TOO_LARGE], deep: [422, TOO_DEEP], deeper: [413, TOO_LARGE] },
    },
    {
      family: 'service-account login',
      method: 'post',
      path: '/v1/users/authorize',
      expected: {
        'many keys': [413, { error_code: 'payload_too_large', message: 'request body is larger than the limit' }],
        deep: [400, { error_code: 'invalid_schema', message: 'request body nests deeper than 32 levels' }],
        deeper: [413, { error_code: 'payload_too_large', message: 'request body is larger than the limit' }],
      },
    },
    {
      family: 'OAuth token endpoint',
      method: 'post',
      path: '/oauth/token',
      expected: {
        'many keys': [413, { error: 'invalid_request', error_description: 'request body is larger than the limit' }],
        deep: [400, { error: 'invalid_request', error_description: 'request body nests deeper than 32 levels' }],
        deeper: [413, { error: 'invalid_request', error_description: 'request body is larger than the limit' }],
      },
    },
    {
      family: 'admin (BODY_LIMIT_BYTES)',
      method: 'post',
      path: '/auth/api/v1/admin/users',
      admin: true,
      expected: {
        'many keys': [422, envelope(422, 'ArgumentNotValid', 'request body has more than 256 keys and array elements')],
        deep: [422, TOO_DEEP],
        deeper: [422, TOO_DEEP],
      },
    },
  ];

  describe.each(FAMILIES)('$family', ({ family, method, path, admin, expected }) => {
    it.each(Object.keys(BODIES) as Body[])('refuses %s with its own row and a short body; /health/live answers meanwhile', async (name) => {
      const { res, liveMs } = await send(method, path, BODIES[name], admin ? { authorization: `Bearer ${adminToken}` } : {});
      timings.push(`${family}, ${name}: ${res.status}, live in ${liveMs.toFixed(1)} ms`);
      const [status, body] = expected[name];
      expect(res.status).toBe(status);
      expect(res.body).toEqual(body);
      expect(Buffer.byteLength(res.text)).toBeLessThan(2048);
      // A generous bound: before, the probe waited out the whole 7 to 11 s of the hostile request.
      expect(liveMs).toBeLessThan(1000);
    });
  });

  it('an unknown field list names only the first few properties', async () => {
    const body = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`extra${i}`, 1]));
    const res = await service.http().post('/auth/api/v1/authentication-management/session').send({ email: 'a@b.example', signature: 'a'.repeat(128), authPublicKeyHex: 'b'.repeat(64), ...body });
    expect(res.status).toBe(422);
    expect(res.body.status).toEqual({ code: 422, name: 'ArgumentNotValid', message: 'extra0: property extra0 should not exist; extra1: property extra1 should not exist; extra2: property extra2 should not exist; and 197 more' });
  });

  it('a body with __proto__ anywhere is refused', async () => {
    const res = await service.http().post('/auth/api/v1/authentication-management/session').set('content-type', 'application/json').send('{"email":{"__proto__":{"admin":true}}}');
    expect(res.status).toBe(422);
    expect(res.body).toEqual(envelope(422, 'ArgumentNotValid', 'request body must not contain __proto__'));
  });

  it('a form body of more than 256 parameters is refused before it is read into an object', async () => {
    const form = Array.from({ length: 300 }, (_, i) => `p${i}=1`).join('&');
    const res = await service.http().post('/auth/api/v1/token/introspect').set('authorization', `Bearer ${adminToken}`).set('content-type', 'application/x-www-form-urlencoded').send(form);
    expect(res.status).toBe(422);
    expect(res.body).toEqual(envelope(422, 'ArgumentNotValid', 'request body has more than 256 parameters'));
  });
});
