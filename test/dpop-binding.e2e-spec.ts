import { Wallet } from 'ethers';
import { generateKeyPair, type CryptoKey as JoseKey } from 'jose';
import { UsersService } from '../src/users/users.service.js';
import { envelope, redisError } from './support/envelope.js';
import { newClientKey, signEmail, type ClientKey } from './support/fib-client.js';
import { withSql } from './support/sql.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';
import { uniqueTimestamp } from './support/wallet-client.js';
import { freePort } from './support/process-service.js';
import { ath, dpopProof } from './support/oauth-client.js';

const FIB = '/auth/api/v1/authentication-management';
const PEER = { email: 'dora@example.org', key: newClientKey() };
const ADMIN = { email: 'root@example.org', key: newClientKey() };
const BOUND_SESSION = 'the session is bound to a DPoP key: refresh with a DPoP proof signed by that key';
const BOUND_ACCESS_TOKEN = 'the access token is bound to a DPoP key: send Authorization: DPoP with a proof by that key';
const BOUND_REVOCATION = 'the token is bound to a DPoP key: revoke it with a DPoP proof signed by that key';
// RFC 9449 section 7.1: the scheme, the error, and the algorithms a proof may use.
const INVALID_TOKEN_CHALLENGE = 'DPoP error="invalid_token", algs="EdDSA Ed25519 ES256"';
const INVALID_PROOF_CHALLENGE = 'DPoP error="invalid_dpop_proof", algs="EdDSA Ed25519 ES256"';

type Keys = { publicKey: JoseKey; privateKey: JoseKey };

/**
 * A DPoP-bound session is the key's (RFC 9449): nothing ends, rotates or spends it for a caller
 * who holds its tokens but not the key, a bound access token counts only under the DPoP scheme,
 * and every 401 about DPoP says so in a `WWW-Authenticate: DPoP` challenge.
 */
describe('DPoP binding', () => {
  let storage: TestStorage;
  let service: TestApp;
  let publicUrl: string;
  const wallet = Wallet.createRandom();

  const proof = (keys: Keys, htm: string, path: string, extra: Record<string, unknown> = {}) => dpopProof(keys, 'EdDSA', htm, `${publicUrl}${path}`, extra);
  const fibLogin = async (who: { email: string; key: ClientKey }, keys: Keys) => {
    const res = await service
      .http()
      .post(`${FIB}/session`)
      .set('DPoP', await proof(keys, 'POST', `${FIB}/session`))
      .send({ email: who.email, signature: signEmail(who.key, who.email), authPublicKeyHex: who.key.publicKeyHex });
    expect(res.status).toBe(200);
    expect(res.body.data.tokenType).toBe('DPoP');
    return res.body.data as { accessToken: string; refreshToken: string };
  };
  const walletLogin = async (keys: Keys) => {
    const timestampInMs = uniqueTimestamp();
    const res = await service
      .http()
      .post('/api/auth/login')
      .set('DPoP', await proof(keys, 'POST', '/api/auth/login'))
      .send({ signer: wallet.address, timestampInMs, signature: await wallet.signMessage(String(timestampInMs)) });
    expect(res.status).toBe(200);
    expect(res.body.data.tokenType).toBe('DPoP');
    return res.body.data as { accessToken: string; refreshToken: string };
  };
  const fibRefresh = async (refreshToken: string, keys?: Keys) => {
    const req = service.http().patch(`${FIB}/session`).set('Authorization', refreshToken);
    return keys ? req.set('DPoP', await proof(keys, 'PATCH', `${FIB}/session`)) : req;
  };
  const walletRefresh = async (body: { refreshToken: string; expiredAccessToken: string }, keys?: Keys) => {
    const req = service.http().post('/api/auth/refresh');
    if (keys) req.set('DPoP', await proof(keys, 'POST', '/api/auth/refresh'));
    return req.send(body);
  };
  const revoke = async (token: string, keys?: Keys) => {
    const req = service.http().post('/oauth/revoke').type('form');
    if (keys) req.set('DPoP', await proof(keys, 'POST', '/oauth/revoke'));
    return req.send({ token });
  };
  const oneTimeIds = async () =>
    Number((await withSql(storage, (query) => query<{ n: string }>("SELECT count(*) AS n FROM single_use_records WHERE kind IN ('dpop-proof', 'client-assertion')")))[0]!.n);

  beforeAll(async () => {
    storage = await createTestStorage('dpop-binding');
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    service = await startTestApp({ ...storage.env, PORT: String(port), PUBLIC_URL: publicUrl });
    const users = service.app.get(UsersService);
    await users.create({ email: PEER.email, account: 'dora@example', publicKeys: [PEER.key.publicKeyHex], wallets: [wallet.address] });
    await users.create({ email: ADMIN.email, account: 'root@example', role: 'ROLE_ADMIN', publicKeys: [ADMIN.key.publicKeyHex] });
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  describe('POST /oauth/revoke', () => {
    it("a bound session's token without a proof by its key is 400 invalid_dpop_proof and the session lives on; with the key it ends", async () => {
      const keys = await generateKeyPair('EdDSA');
      const { accessToken, refreshToken } = await fibLogin(PEER, keys);
      const stranger = await generateKeyPair('EdDSA');
      for (const [token, by] of [[refreshToken, undefined], [accessToken, undefined], [refreshToken, stranger]] as const) {
        const res = await revoke(token, by);
        expect(res.status).toBe(400);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.body).toEqual({ error: 'invalid_dpop_proof', error_description: BOUND_REVOCATION });
      }

      const refreshed = await fibRefresh(refreshToken, keys);
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.data.tokenType).toBe('DPoP');

      const revoked = await revoke(refreshed.body.data.refreshToken, keys);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toEqual({});
      const after = await fibRefresh(refreshed.body.data.refreshToken, keys);
      expect(after.status).toBe(401);
      expect(after.body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
    });

    it('an unbound token is still revoked by holding it', async () => {
      const login = await service.http().post(`${FIB}/session`).send({ email: PEER.email, signature: signEmail(PEER.key, PEER.email), authPublicKeyHex: PEER.key.publicKeyHex });
      expect(login.status).toBe(200);
      const res = await revoke(login.body.data.refreshToken);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({});
      const after = await fibRefresh(login.body.data.refreshToken);
      expect(after.status).toBe(401);
      expect(after.body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
    });
  });

  describe('POST /api/auth/refresh', () => {
    it('a bound session with a garbage or foreign expiredAccessToken and no proof is 401 with a challenge, and the session lives on', async () => {
      const keys = await generateKeyPair('EdDSA');
      const bound = await walletLogin(keys);
      const other = await walletLogin(await generateKeyPair('EdDSA'));
      for (const expiredAccessToken of ['garbage', other.accessToken]) {
        const res = await walletRefresh({ refreshToken: bound.refreshToken, expiredAccessToken });
        expect(res.status).toBe(401);
        expect(res.body).toEqual(envelope(401, 'InvalidToken', BOUND_SESSION));
        expect(res.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
      }
      const refreshed = await walletRefresh({ refreshToken: bound.refreshToken, expiredAccessToken: bound.accessToken }, keys);
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.data.tokenType).toBe('DPoP');
    });

    it("a proof by another key is refused before it is spent: the session's own refresh still works", async () => {
      const keys = await generateKeyPair('EdDSA');
      const bound = await walletLogin(keys);
      const before = await oneTimeIds();
      const res = await walletRefresh({ refreshToken: bound.refreshToken, expiredAccessToken: 'garbage' }, await generateKeyPair('EdDSA'));
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken', BOUND_SESSION));
      expect(res.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
      expect(await oneTimeIds()).toBe(before);
      const refreshed = await walletRefresh({ refreshToken: bound.refreshToken, expiredAccessToken: bound.accessToken }, keys);
      expect(refreshed.status).toBe(200);
    });

    it('a mismatched pair with the proof of its key still ends the session, as for an unbound one', async () => {
      const keys = await generateKeyPair('EdDSA');
      const bound = await walletLogin(keys);
      const res = await walletRefresh({ refreshToken: bound.refreshToken, expiredAccessToken: 'garbage' }, keys);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken'));
      const after = await walletRefresh({ refreshToken: bound.refreshToken, expiredAccessToken: bound.accessToken }, keys);
      expect(after.status).toBe(401);
      expect(after.body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
    });
  });

  describe('a bound access token under Bearer', () => {
    it('is refused with a valid proof on an admin route, /me, introspection and FIB logout; under DPoP it is admitted', async () => {
      const keys = await generateKeyPair('EdDSA');
      const { accessToken } = await fibLogin(ADMIN, keys);
      const routes = [
        { method: 'get', path: '/auth/api/v1/admin/users' },
        { method: 'get', path: '/auth/api/v1/me/sessions' },
        { method: 'post', path: '/auth/api/v1/token/introspect', body: { token: accessToken } },
        { method: 'post', path: `${FIB}/logout` },
      ] as const;
      const call = async (route: (typeof routes)[number], scheme: string) => {
        const http = service.http();
        const req = (route.method === 'get' ? http.get(route.path) : http.post(route.path))
          .set('Authorization', `${scheme} ${accessToken}`)
          .set('DPoP', await proof(keys, route.method.toUpperCase(), route.path, { ath: ath(accessToken) }));
        return 'body' in route ? req.send(route.body) : req;
      };
      for (const route of routes) {
        for (const scheme of ['Bearer', 'bearer']) {
          const res = await call(route, scheme);
          expect({ route: route.path, status: res.status }).toEqual({ route: route.path, status: 401 });
          expect(res.body).toEqual(envelope(401, 'InvalidToken', BOUND_ACCESS_TOKEN));
          expect(res.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
        }
      }
      for (const route of routes) {
        const res = await call(route, 'DPoP');
        expect({ route: route.path, status: res.status }).toEqual({ route: route.path, status: 200 });
        expect(res.headers['www-authenticate']).toBeUndefined();
      }
    });

    it('the service-account refresh, which takes no proof, refuses a bound token with a challenge', async () => {
      const { accessToken } = await fibLogin(ADMIN, await generateKeyPair('EdDSA'));
      for (const scheme of ['JWT', 'Bearer']) {
        const res = await service.http().post('/v1/users/refresh_jwt').set('Authorization', `${scheme} ${accessToken}`);
        expect(res.status).toBe(401);
        expect(res.body).toEqual(redisError('unauthorized', 'the access token is bound to a DPoP key, and this route takes no DPoP proof'));
        expect(res.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
      }
    });
  });

  describe('every DPoP 401 carries a WWW-Authenticate: DPoP challenge', () => {
    it('a bound token without a proof, with a proof by another key, with an invalid proof', async () => {
      const keys = await generateKeyPair('EdDSA');
      const { accessToken } = await fibLogin(PEER, keys);
      const me = '/auth/api/v1/me/sessions';
      const get = () => service.http().get(me).set('Authorization', `DPoP ${accessToken}`);

      const noProof = await get();
      expect(noProof.status).toBe(401);
      expect(noProof.body).toEqual(envelope(401, 'InvalidToken', BOUND_ACCESS_TOKEN));
      expect(noProof.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);

      const otherKey = await get().set('DPoP', await proof(await generateKeyPair('EdDSA'), 'GET', me, { ath: ath(accessToken) }));
      expect(otherKey.status).toBe(401);
      expect(otherKey.body).toEqual(envelope(401, 'InvalidToken', BOUND_ACCESS_TOKEN));
      expect(otherKey.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);

      const noAth = await get().set('DPoP', await proof(keys, 'GET', me));
      expect(noAth.status).toBe(401);
      expect(noAth.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof is not for this access token (ath)'));
      expect(noAth.headers['www-authenticate']).toBe(INVALID_PROOF_CHALLENGE);

      const admitted = await get().set('DPoP', await proof(keys, 'GET', me, { ath: ath(accessToken) }));
      expect(admitted.status).toBe(200);
    });

    it('refresh of a bound session without a proof or with a broken one; a login with a broken proof', async () => {
      const keys = await generateKeyPair('EdDSA');
      const { refreshToken } = await fibLogin(PEER, keys);
      const none = await fibRefresh(refreshToken);
      expect(none.status).toBe(401);
      expect(none.body).toEqual(envelope(401, 'InvalidToken', BOUND_SESSION));
      expect(none.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);

      const broken = await service.http().patch(`${FIB}/session`).set('Authorization', refreshToken).set('DPoP', 'not-a-proof');
      expect(broken.status).toBe(401);
      expect(broken.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof is not a JWT'));
      expect(broken.headers['www-authenticate']).toBe(INVALID_PROOF_CHALLENGE);

      const login = await service
        .http()
        .post(`${FIB}/session`)
        .set('DPoP', 'not-a-proof')
        .send({ email: PEER.email, signature: signEmail(PEER.key, PEER.email), authPublicKeyHex: PEER.key.publicKeyHex });
      expect(login.status).toBe(401);
      expect(login.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof is not a JWT'));
      expect(login.headers['www-authenticate']).toBe(INVALID_PROOF_CHALLENGE);

      const refreshed = await fibRefresh(refreshToken, keys);
      expect(refreshed.status).toBe(200);
    });

    it('a 401 that is not about DPoP carries no DPoP challenge', async () => {
      const res = await service.http().get('/auth/api/v1/me/sessions').set('Authorization', 'Bearer not-a-token');
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken'));
      expect(res.headers['www-authenticate']).toBeUndefined();
    });
  });
});
