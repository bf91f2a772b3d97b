import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey as JoseKey } from 'jose';
import { accessTokenHash } from '@sigauth/guard/dpop';
import { AppConfig } from '../src/config/app-config.js';
import request from 'supertest';
import { loadConsumerConfig, type ConsumerConfig } from '../examples/consumer/src/consumer-config.js';
import { createConsumerApp } from '../examples/consumer/src/create-consumer-app.js';
import { SigningKeysService } from '../src/tokens/signing-keys.service.js';
import { UsersService } from '../src/users/users.service.js';
import { decodeJwtPart, newClientKey, signEmail, type ClientKey } from './support/fib-client.js';
import { onPostgres } from './support/postgres.js';
import { startTestInstance } from './support/process-service.js';
import { controlClock, type TestClock } from './support/test-clock.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

const BASE = '/auth/api/v1/authentication-management';
const BILLING = { email: 'billing@svc.example', password: 'correct horse battery staple' };
// A second sigauth instance on the same database: PostgreSQL serves many processes, PGlite one.
const onServer = onPostgres;
/** The consumers' key-set cooldown: short, so that the rotation test waits only a moment for a refetch. */
const JWKS_COOLDOWN_SECONDS = 0.1;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const urlOf = (app: NestFastifyApplication) => `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;

interface Tokens {
  accessToken: string;
  refreshToken: string;
}

interface Consumer {
  url: string;
  get(path: string, accessToken?: string): request.Test;
  close(): Promise<void>;
}

const unauthorized = (message: string) => ({ statusCode: 401, error: 'Unauthorized', message });

describe('the consumer example guarded by @sigauth/guard, against a running sigauth', () => {
  let storage: TestStorage;
  let sigauth: TestApp;
  let sigauthUrl: string;
  const users: Record<'peer' | 'admin' | 'svc', { email: string; key: ClientKey }> = {
    peer: { email: 'peer@example.org', key: newClientKey() },
    admin: { email: 'admin@example.org', key: newClientKey() },
    svc: { email: 'svc@example.org', key: newClientKey() },
  };
  const consumers: Consumer[] = [];
  /** Offline verification only; a short key-set cooldown so the rotation test need not wait the default. */
  let offline: Consumer;
  let clock: TestClock;

  async function startConsumer(config: Partial<ConsumerConfig> = {}): Promise<Consumer> {
    const app = await createConsumerApp({ sigauthUrl, issuer: 'sigauth', audience: 'sigauth', jwksCooldownSeconds: JWKS_COOLDOWN_SECONDS, ...config }, { logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const consumer: Consumer = {
      url: urlOf(app),
      get: (path, accessToken) => {
        const req = request(urlOf(app)).get(path);
        return accessToken === undefined ? req : req.set('Authorization', `Bearer ${accessToken}`);
      },
      close: () => app.close(),
    };
    consumers.push(consumer);
    return consumer;
  }

  async function login(who: keyof typeof users, service: Pick<TestApp, 'http'> = sigauth): Promise<Tokens> {
    const { email, key } = users[who];
    const res = await service.http().post(`${BASE}/session`).send({ email, signature: signEmail(key, email), authPublicKeyHex: key.publicKeyHex });
    expect(res.status).toBe(200);
    return res.body.data as Tokens;
  }

  const logout = async (accessToken: string, service: TestApp = sigauth) => {
    const res = await service.http().post(`${BASE}/logout`).set('Authorization', accessToken);
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    storage = await createTestStorage('consumer');
    sigauth = await startTestApp(storage.env);
    sigauthUrl = urlOf(sigauth.app);
    clock = controlClock(sigauth.app);
    const service = sigauth.app.get(UsersService);
    await service.create({ email: users.peer.email, account: 'peer@example', publicKeys: [users.peer.key.publicKeyHex] });
    await service.create({ email: users.admin.email, account: 'admin@example', role: 'ROLE_ADMIN', publicKeys: [users.admin.key.publicKeyHex] });
    await service.create({ email: users.svc.email, account: 'svc@services', role: 'ROLE_SERVICE', publicKeys: [users.svc.key.publicKeyHex] });
    await service.create({ email: BILLING.email, account: 'billing@svc', role: 'ROLE_SERVICE', password: BILLING.password });
    offline = await startConsumer();
  });
  afterEach(() => clock.reset());
  afterAll(async () => {
    for (const consumer of consumers) await consumer.close();
    await sigauth?.close();
    await storage?.cleanup();
  });

  it('GET /public answers without a token', async () => {
    const res = await offline.get('/public');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ public: true });
  });

  it('accepts a valid access token: 200 with the principal', async () => {
    const { accessToken } = await login('peer');
    const res = await offline.get('/profile', accessToken);
    expect(res.status).toBe(200);
    const { jti, sid, iat, exp } = decodeJwtPart(accessToken, 1);
    expect(res.body).toEqual({ token_use: 'access', acc: 'peer@example', sub: 'peer@example.org', role: 'ROLE_PEER', client_id: 'fib', sid, iss: 'sigauth', aud: 'sigauth', iat, exp, jti });
    expect(res.body.exp - res.body.iat).toBe(300);
  });

  it('401 for a missing token, or one not sent as Bearer', async () => {
    const missing = await offline.get('/profile');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer, DPoP algs="EdDSA Ed25519 ES256"');
    expect(missing.body).toEqual(unauthorized('an access token is required (Authorization: Bearer, or DPoP for a bound token)'));
    // The FIB API's bare `Authorization: <token>` is sigauth's own convention, not a bearer credential.
    const bare = await offline.get('/profile').set('Authorization', (await login('peer')).accessToken);
    expect(bare.status).toBe(401);
    expect(bare.body).toEqual(unauthorized('an access token is required (Authorization: Bearer, or DPoP for a bound token)'));
  });

  it('401 for a forged token: signed by another Ed25519 key under sigauth\'s kid, or with a tampered payload', async () => {
    const { accessToken } = await login('peer');
    const header = decodeJwtPart(accessToken, 0);
    const impostor = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new SignJWT(decodeJwtPart(accessToken, 1)).setProtectedHeader({ typ: 'at+jwt', alg: 'EdDSA', kid: header.kid as string }).sign(impostor.privateKey);
    const res = await offline.get('/profile', forged);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(res.body).toEqual(unauthorized('token is malformed or its signature does not verify'));

    const [h, , signature] = accessToken.split('.');
    const promoted = Buffer.from(JSON.stringify({ ...decodeJwtPart(accessToken, 1), role: 'ROLE_ADMIN' })).toString('base64url');
    const tampered = await offline.get('/admin', `${h}.${promoted}.${signature}`);
    expect(tampered.status).toBe(401);
    expect(tampered.body).toEqual(unauthorized('token is malformed or its signature does not verify'));
  });

  it('401 for a refresh token (typ JWT, addressed to sigauth itself)', async () => {
    const { refreshToken } = await login('peer');
    const res = await offline.get('/profile', refreshToken);
    expect(res.status).toBe(401);
    expect(res.body).toEqual(unauthorized('an access token (typ at+jwt) is required'));
  });

  it('403 for a role the route does not admit; 200 for the role it does', async () => {
    for (const who of ['peer', 'svc'] as const) {
      const res = await offline.get('/admin', (await login(who)).accessToken);
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
      expect(res.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'this route requires one of the roles ROLE_ADMIN' });
    }
    const admin = await offline.get('/admin', (await login('admin')).accessToken);
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual({ admin: 'admin@example.org' });
  });

  onServer('401 for a wrong-audience token: sigauth started with JWT_AUDIENCE=other on the same database', async () => {
    const other = await startTestInstance({ ...storage.env, JWT_AUDIENCE: 'other' });
    try {
      const { accessToken } = await login('peer', other);
      expect(decodeJwtPart(accessToken, 1).aud).toBe('other');
      const res = await offline.get('/profile', accessToken);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(unauthorized('token aud claim is not accepted'));
      // Same signing key, same issuer: only the audience differs, and a service of that audience accepts it.
      const otherAudience = await startConsumer({ audience: 'other' });
      expect((await otherAudience.get('/profile', accessToken)).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('401 at a consumer configured for another audience or issuer', async () => {
    const { accessToken } = await login('peer');
    const billing = await startConsumer({ audience: 'billing' });
    expect((await billing.get('/profile', accessToken)).body).toEqual(unauthorized('token aud claim is not accepted'));
    const elsewhere = await startConsumer({ issuer: 'https://auth.elsewhere.example' });
    expect((await elsewhere.get('/profile', accessToken)).body).toEqual(unauthorized('token iss claim is not accepted'));
  });

  describe('with introspection (the consumer calls sigauth as a ROLE_SERVICE account)', () => {
    let introspecting: Consumer;

    beforeAll(async () => {
      const { accessToken: serviceToken } = await login('svc');
      introspecting = await startConsumer({ introspectionToken: serviceToken });
    });

    it('accepts a live token, refuses it after logout, while the offline-only consumer still accepts it', async () => {
      const { accessToken } = await login('peer');
      expect((await introspecting.get('/profile', accessToken)).status).toBe(200);
      await logout(accessToken);
      const res = await introspecting.get('/profile', accessToken);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(res.body).toEqual(unauthorized('token is no longer active'));
      // The trade-off of offline verification: a logged-out token stays good until it expires.
      expect((await offline.get('/profile', accessToken)).status).toBe(200);
    });

    it('configured from the environment with a service account password, renews its own caller token', async () => {
      // This sigauth names the fixed issuer of the test environment; a default one names its PUBLIC_URL, the example's default.
      expect(loadConsumerConfig({ SIGAUTH_URL: 'http://localhost:3000/' }).issuer).toBe('http://localhost:3000');
      const config = loadConsumerConfig({ SIGAUTH_URL: sigauthUrl, SIGAUTH_ISSUER: 'sigauth', SIGAUTH_SERVICE_EMAIL: BILLING.email, SIGAUTH_SERVICE_PASSWORD: BILLING.password });
      const callerToken = config.introspectionToken as () => Promise<string>;
      const [first, concurrent] = await Promise.all([callerToken(), callerToken()]);
      expect(concurrent).toBe(first);
      expect(await callerToken()).toBe(first);
      const claims = decodeJwtPart(first, 1);
      expect(claims).toMatchObject({ sub: BILLING.email, role: 'ROLE_SERVICE' });
      expect((claims.exp as number) - (claims.iat as number)).toBe(900);

      const fromEnv = await startConsumer(config);
      const { accessToken } = await login('peer');
      expect((await fromEnv.get('/profile', accessToken)).status).toBe(200);
      await logout(accessToken);
      expect((await fromEnv.get('/profile', accessToken)).body).toEqual(unauthorized('token is no longer active'));
    });

    it('still refuses a refresh token, before asking sigauth', async () => {
      const res = await introspecting.get('/profile', (await login('peer')).refreshToken);
      expect(res.body).toEqual(unauthorized('an access token (typ at+jwt) is required'));
    });

    it('fails closed with 503 when sigauth refuses the consumer as an introspection caller', async () => {
      const { accessToken: peerAsCaller } = await login('peer');
      const misconfigured = await startConsumer({ introspectionToken: async () => peerAsCaller });
      const res = await misconfigured.get('/profile', (await login('admin')).accessToken);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'the token could not be verified, try again later' });
    });

    it('401 for an expired token: a logged-out token is good offline only until it expires', async () => {
      const { accessToken: live } = await login('peer');
      await logout(live);
      expect((await introspecting.get('/profile', live)).body).toEqual(unauthorized('token is no longer active'));
      expect((await offline.get('/profile', live)).status).toBe(200);

      // A token sigauth issued 301 s ago (its clock moved back) has expired by the consumer's clock.
      clock.advance(-301_000);
      const { accessToken: old } = await login('peer');
      clock.reset();
      expect((decodeJwtPart(old, 1).exp as number) * 1000).toBeLessThan(Date.now());
      const res = await offline.get('/profile', old);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(res.body).toEqual(unauthorized('token has expired'));
    });
  });

  it('keeps working after sigauth rotates its signing key, by refetching the key set for the new kid', async () => {
    const before = await login('peer');
    const oldKid = decodeJwtPart(before.accessToken, 0).kid;
    // Both consumers now hold a key set with only the old key; one will not refetch for five minutes.
    const stale = await startConsumer({ jwksCooldownSeconds: 300 });
    expect((await stale.get('/profile', before.accessToken)).status).toBe(200);
    expect((await offline.get('/profile', before.accessToken)).status).toBe(200);

    const { kid: newKid } = await sigauth.app.get(SigningKeysService).rotate();
    const after = await login('peer');
    expect(decodeJwtPart(after.accessToken, 0).kid).toBe(newKid);
    expect(newKid).not.toBe(oldKid);

    // Within its cooldown a consumer does not refetch: the new kid is unknown to it.
    expect((await stale.get('/profile', after.accessToken)).status).toBe(401);
    await sleep(JWKS_COOLDOWN_SECONDS * 1000 + 50);
    const res = await offline.get('/profile', after.accessToken);
    expect(res.status).toBe(200);
    expect(res.body.jti).toBe(decodeJwtPart(after.accessToken, 1).jti);
    // The retired key stays published until its tokens have expired.
    expect((await offline.get('/profile', before.accessToken)).status).toBe(200);
  });
  describe('DPoP-bound tokens (RFC 9449)', () => {
    type Keys = { publicKey: JoseKey; privateKey: JoseKey };
    const proof = async (keys: Keys, htm: string, htu: string, claims: Record<string, unknown> = {}) =>
      new SignJWT({ htm, htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(keys.publicKey) })
        .sign(keys.privateKey);
    /** A FIB login that proves the key: its tokens are bound to it. */
    const boundLogin = async (keys: Keys): Promise<Tokens> => {
      const { email, key } = users.peer;
      const htu = `${sigauth.app.get(AppConfig).PUBLIC_URL}${BASE}/session`;
      const res = await sigauth.http().post(`${BASE}/session`).set('DPoP', await proof(keys, 'POST', htu)).send({ email, signature: signEmail(key, email), authPublicKeyHex: key.publicKeyHex });
      expect(res.status).toBe(200);
      expect(res.body.data.tokenType).toBe('DPoP');
      return res.body.data as Tokens;
    };
    const dpopGet = (path: string, accessToken: string, dpop?: string) => {
      const req = request(offline.url).get(path).set('Authorization', `DPoP ${accessToken}`);
      return dpop === undefined ? req : req.set('DPoP', dpop);
    };

    it('admits a bound token with a proof by its key for this method, URL and token; 401 without one', async () => {
      const keys = await generateKeyPair('ES256');
      const { accessToken } = await boundLogin(keys);
      const ath = accessTokenHash(accessToken);
      const ok = await dpopGet('/profile', accessToken, await proof(keys, 'GET', `${offline.url}/profile`, { ath }));
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual(expect.objectContaining({ sub: users.peer.email, cnf: { jkt: expect.any(String) } }));

      const asBearer = await offline.get('/profile', accessToken);
      expect(asBearer.status).toBe(401);
      expect(asBearer.headers['www-authenticate']).toBe('DPoP error="invalid_token", algs="EdDSA Ed25519 ES256"');
      expect(asBearer.body).toEqual(unauthorized('the token is DPoP-bound: send Authorization: DPoP with a DPoP proof'));
      const noProof = await dpopGet('/profile', accessToken);
      expect(noProof.status).toBe(401);
      expect(noProof.body).toEqual(unauthorized('the DPoP header must hold one proof JWT'));
    });

    it('refuses a replayed proof, a proof for another URL or method, without ath, or by another key', async () => {
      const keys = await generateKeyPair('ES256');
      const { accessToken } = await boundLogin(keys);
      const ath = accessTokenHash(accessToken);
      const once = await proof(keys, 'GET', `${offline.url}/profile`, { ath });
      expect((await dpopGet('/profile', accessToken, once)).status).toBe(200);
      const cases: [string, string][] = [
        [once, 'the DPoP proof was already used'],
        [await proof(keys, 'GET', `${offline.url}/admin`, { ath }), 'the DPoP proof is for another URL'],
        [await proof(keys, 'POST', `${offline.url}/profile`, { ath }), 'the DPoP proof is for another method'],
        [await proof(keys, 'GET', `${offline.url}/profile`), 'the DPoP proof is not for this access token (ath)'],
        [await proof(await generateKeyPair('ES256'), 'GET', `${offline.url}/profile`, { ath }), 'the DPoP proof is not signed by the key the token is bound to'],
      ];
      for (const [dpop, message] of cases) {
        const res = await dpopGet('/profile', accessToken, dpop);
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('DPoP error="invalid_dpop_proof", algs="EdDSA Ed25519 ES256"');
        expect(res.body).toEqual(unauthorized(message));
      }
    });

    it('refuses an unbound token sent with the DPoP scheme', async () => {
      const { accessToken } = await login('peer');
      const res = await dpopGet('/profile', accessToken, await proof(await generateKeyPair('ES256'), 'GET', `${offline.url}/profile`));
      expect(res.status).toBe(401);
      expect(res.body).toEqual(unauthorized('the DPoP scheme is for DPoP-bound tokens; send this token as Bearer'));
    });
  });
});
