import { randomUUID, webcrypto } from 'node:crypto';
import { Wallet } from 'ethers';
import { generateKeyPair, SignJWT, type CryptoKey as JoseKey } from 'jose';
import { UsersService } from '../src/users/users.service.js';
import { envelope } from './support/envelope.js';
import { newClientKey, signEmail } from './support/fib-client.js';
import { withSql } from './support/sql.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';
import { siweText } from './support/wallet-client.js';
import { freePort } from './support/process-service.js';
import { ath, CLIENT_ASSERTION, dpopProof } from './support/oauth-client.js';

const FIB = '/auth/api/v1/authentication-management';
const DOMAIN = 'app.example.com';
const PEER = { email: 'pat@example.org', key: newClientKey() };
const ADMIN = { email: 'ada@example.org', key: newClientKey() };
const SERVICE = { email: 'batch@svc.example' };

/**
 * Nothing is written or spent before the cheap checks pass: a DPoP proof's jti is recorded only
 * once the token or login it accompanies holds (and the route's role), and a login's single-use
 * item (challenge nonce, SIWE nonce, signed timestamp, client assertion jti) only once the DPoP
 * proof and the route's role hold. Each case first fails a request, then shows that what it
 * carried is still unspent.
 */
describe('what a refused request spends', () => {
  let storage: TestStorage;
  let service: TestApp;
  let publicUrl: string;
  let dpopKeys: { publicKey: JoseKey; privateKey: JoseKey };
  let serviceKeys: webcrypto.CryptoKeyPair;
  const wallet = Wallet.createRandom();

  const proof = (htm: string, path: string, extra: Record<string, unknown> = {}) => dpopProof(dpopKeys, 'EdDSA', htm, `${publicUrl}${path}`, extra);
  /** A proof that is well made but for another URL: refused without any write. */
  const wrongUrlProof = (htm: string) => proof(htm, '/somewhere/else');
  const oneTimeIds = async () =>
    Number((await withSql(storage, (query) => query<{ n: string }>("SELECT count(*) AS n FROM single_use_records WHERE kind IN ('dpop-proof', 'client-assertion')")))[0]!.n);
  const fibLogin = (who: { email: string; key: ReturnType<typeof newClientKey> }) =>
    service.http().post(`${FIB}/session`).send({ email: who.email, signature: signEmail(who.key, who.email), authPublicKeyHex: who.key.publicKeyHex });
  const assertion = async () => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: SERVICE.email, sub: SERVICE.email, aud: `${publicUrl}/oauth/token`, iat: now, exp: now + 60, jti: randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA' })
      .sign(serviceKeys.privateKey as JoseKey);
  };
  const tokenRequest = (clientAssertion: string) =>
    service.http().post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION, client_assertion: clientAssertion });

  beforeAll(async () => {
    storage = await createTestStorage('perimeter');
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    service = await startTestApp({ ...storage.env, PORT: String(port), PUBLIC_URL: publicUrl, SIWE_DOMAINS: DOMAIN, SIWE_URIS: `https://${DOMAIN}` });
    dpopKeys = await generateKeyPair('EdDSA');
    serviceKeys = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as unknown as webcrypto.CryptoKeyPair;
    const servicePublicKeyHex = Buffer.from(await webcrypto.subtle.exportKey('raw', serviceKeys.publicKey)).toString('hex');
    const users = service.app.get(UsersService);
    await users.create({ email: PEER.email, account: 'pat@example', publicKeys: [PEER.key.publicKeyHex], wallets: [wallet.address] });
    await users.create({ email: ADMIN.email, account: 'ada@example', role: 'ROLE_ADMIN', publicKeys: [ADMIN.key.publicKeyHex] });
    await users.create({ email: SERVICE.email, account: 'batch@svc', role: 'ROLE_SERVICE', publicKeys: [servicePublicKeyHex] });
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  describe('a DPoP proof is recorded only after the token it accompanies holds', () => {
    const garbage = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJub2JvZHkifQ.c2lnbmF0dXJl';

    it('bearer routes, introspection, logout and refresh with a garbage token and a valid proof: refused, no row written', async () => {
      const before = await oneTimeIds();
      for (let i = 0; i < 5; i++) {
        const me = await service.http().get('/auth/api/v1/me/sessions').set('Authorization', `DPoP ${garbage}`).set('DPoP', await proof('GET', '/auth/api/v1/me/sessions', { ath: ath(garbage) }));
        expect(me.status).toBe(401);
        expect(me.body).toEqual(envelope(401, 'InvalidToken'));
        const introspect = await service
          .http()
          .post('/auth/api/v1/token/introspect')
          .set('Authorization', `DPoP ${garbage}`)
          .set('DPoP', await proof('POST', '/auth/api/v1/token/introspect', { ath: ath(garbage) }))
          .send({ token: garbage });
        expect(introspect.status).toBe(401);
        expect(introspect.body).toEqual(envelope(401, 'InvalidToken'));
        const logout = await service.http().post(`${FIB}/logout`).set('Authorization', `DPoP ${garbage}`).set('DPoP', await proof('POST', `${FIB}/logout`, { ath: ath(garbage) }));
        expect(logout.status).toBe(401);
        expect(logout.body).toEqual(envelope(401, 'InvalidToken'));
        const refresh = await service.http().patch(`${FIB}/session`).set('Authorization', garbage).set('DPoP', await proof('PATCH', `${FIB}/session`));
        expect(refresh.status).toBe(401);
        expect(refresh.body).toEqual(envelope(401, 'InvalidToken'));
      }
      expect(await oneTimeIds()).toBe(before);
    });

    it('a live token without the route\'s role and a valid proof: 403, no row written; with the role, the proof is recorded once', async () => {
      const peer = await fibLogin(PEER);
      expect(peer.status).toBe(200);
      const before = await oneTimeIds();
      const token = peer.body.data.accessToken as string;
      const forbidden = await service.http().get('/auth/api/v1/admin/users').set('Authorization', `Bearer ${token}`).set('DPoP', await proof('GET', '/auth/api/v1/admin/users', { ath: ath(token) }));
      expect(forbidden.status).toBe(403);
      expect(forbidden.body).toEqual(envelope(403, 'Forbidden', 'this route needs one of the roles ROLE_ADMIN'));
      expect(await oneTimeIds()).toBe(before);

      const admin = (await fibLogin(ADMIN)).body.data.accessToken as string;
      const adminProof = await proof('GET', '/auth/api/v1/admin/users', { ath: ath(admin) });
      const allowed = await service.http().get('/auth/api/v1/admin/users').set('Authorization', `Bearer ${admin}`).set('DPoP', adminProof);
      expect(allowed.status).toBe(200);
      expect(await oneTimeIds()).toBe(before + 1);
      const replayed = await service.http().get('/auth/api/v1/admin/users').set('Authorization', `Bearer ${admin}`).set('DPoP', adminProof);
      expect(replayed.status).toBe(401);
      expect(replayed.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof was already used'));
    });
  });

  describe('a login refused for its DPoP proof leaves its single-use item usable', () => {
    it('FIB challenge login: the nonce still logs in after a refusal for a proof', async () => {
      const issued = await service.http().post(`${FIB}/challenge`).send({ email: PEER.email });
      expect(issued.status).toBe(200);
      const { nonce } = issued.body.data as { nonce: string };
      const body = { email: PEER.email, signature: signEmail(PEER.key, `${nonce}:${PEER.email}`), authPublicKeyHex: PEER.key.publicKeyHex, nonce };
      const refused = await service.http().post(`${FIB}/session`).set('DPoP', await wrongUrlProof('POST')).send(body);
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof is for another URL'));
      const garbled = await service.http().post(`${FIB}/session`).set('DPoP', 'not-a-proof').send(body);
      expect(garbled.status).toBe(401);
      expect(garbled.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof is not a JWT'));
      const accepted = await service.http().post(`${FIB}/session`).set('DPoP', await proof('POST', `${FIB}/session`)).send(body);
      expect(accepted.status).toBe(200);
      expect(accepted.body.data.tokenType).toBe('DPoP');
      const again = await service.http().post(`${FIB}/session`).send(body);
      expect(again.status).toBe(401);
      expect(again.body).toEqual(envelope(401, 'InvalidChallenge', 'The challenge is unknown, expired or already used.'));
    });

    it('the refusal is audited as a failed login, with the identity it claimed', async () => {
      const requestId = `dpop-refused-${randomUUID()}`;
      const refused = await service.http().post(`${FIB}/session`).set('X-Request-Id', requestId).set('DPoP', 'not-a-proof').send({ email: PEER.email, signature: signEmail(PEER.key, PEER.email), authPublicKeyHex: PEER.key.publicKeyHex });
      expect(refused.status).toBe(401);
      const admin = (await fibLogin(ADMIN)).body.data.accessToken as string;
      let failures: Array<Record<string, unknown>> = [];
      for (let i = 0; i < 50 && failures.length === 0; i++) {
        const res = await service.http().get('/auth/api/v1/admin/audit?type=login.failure&limit=100').set('Authorization', `Bearer ${admin}`);
        failures = (res.body.data.events as Array<Record<string, unknown>>).filter((e) => e.requestId === requestId);
        if (failures.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(failures).toEqual([expect.objectContaining({ type: 'login.failure', outcome: 'failure', reason: 'INVALID_DPOP_PROOF', principal: PEER.email, details: { endpoint: 'fib-login' } })]);
    });

    it('SIWE login: the nonce still logs in after a refusal for a proof', async () => {
      const nonce = (await service.http().post('/api/auth/siwe/nonce')).body.data.nonce as string;
      const message = siweText({ domain: DOMAIN, address: wallet.address, uri: `https://${DOMAIN}/login`, chainId: 1, nonce, issuedAt: new Date().toISOString() });
      const body = { message, signature: await wallet.signMessage(message) };
      const refused = await service.http().post('/api/auth/siwe/login').set('DPoP', await wrongUrlProof('POST')).send(body);
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof is for another URL'));
      const accepted = await service.http().post('/api/auth/siwe/login').set('DPoP', await proof('POST', '/api/auth/siwe/login')).send(body);
      expect(accepted.status).toBe(200);
      expect(accepted.body.data.tokenType).toBe('DPoP');
    });

    it('wallet login: the signed timestamp still logs in after a refusal for a proof, once', async () => {
      const timestampInMs = Date.now();
      const body = { signer: wallet.address, timestampInMs, signature: await wallet.signMessage(String(timestampInMs)) };
      const refused = await service.http().post('/api/auth/login').set('DPoP', await proof('POST', '/api/auth/login', { iat: Math.floor(Date.now() / 1000) - 3600 })).send(body);
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof is too old or from the future'));
      const accepted = await service.http().post('/api/auth/login').set('DPoP', await proof('POST', '/api/auth/login')).send(body);
      expect(accepted.status).toBe(200);
      expect(accepted.body.data.tokenType).toBe('DPoP');
      const replay = await service.http().post('/api/auth/login').send(body);
      expect(replay.status).toBe(401);
      expect(replay.body).toEqual(envelope(401, 'SignatureReplayed', 'this signed timestamp has already been used'));
    });

    it('a replayed proof on a login leaves the nonce usable too: the proof\'s jti is spent before the nonce', async () => {
      const used = await proof('POST', `${FIB}/session`);
      expect((await fibLogin(PEER).set('DPoP', used)).status).toBe(200);
      const nonce = (await service.http().post(`${FIB}/challenge`).send({ email: PEER.email })).body.data.nonce as string;
      const body = { email: PEER.email, signature: signEmail(PEER.key, `${nonce}:${PEER.email}`), authPublicKeyHex: PEER.key.publicKeyHex, nonce };
      const replayed = await service.http().post(`${FIB}/session`).set('DPoP', used).send(body);
      expect(replayed.status).toBe(401);
      expect(replayed.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof was already used'));
      expect((await service.http().post(`${FIB}/session`).send(body)).status).toBe(200);
    });
  });

  describe('/oauth/token spends the client assertion only after the DPoP proof and the role hold', () => {
    it('an assertion refused for its request\'s DPoP proof then gets a token', async () => {
      const clientAssertion = await assertion();
      const refused = await tokenRequest(clientAssertion).set('DPoP', await wrongUrlProof('POST'));
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ error: 'invalid_dpop_proof', error_description: 'the DPoP proof is for another URL' });
      const accepted = await tokenRequest(clientAssertion).set('DPoP', await proof('POST', '/oauth/token'));
      expect(accepted.status).toBe(200);
      expect(accepted.body).toEqual(expect.objectContaining({ token_type: 'DPoP', expires_in: 300 }));
      const replay = await tokenRequest(clientAssertion);
      expect(replay.status).toBe(401);
      expect(replay.body).toEqual({ error: 'invalid_client', error_description: 'client_assertion was already used' });
    });

    it('a refresh_token grant with a forged refresh token is invalid_grant and spends neither the assertion nor the proof', async () => {
      const clientAssertion = await assertion();
      const dpop = await proof('POST', '/oauth/token');
      const before = await oneTimeIds();
      const forged = `${Buffer.from('{"alg":"EdDSA","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.${'A'.repeat(86)}`;
      const refused = await service
        .http()
        .post('/oauth/token')
        .type('form')
        .set('DPoP', dpop)
        .send({ grant_type: 'refresh_token', refresh_token: forged, client_assertion_type: CLIENT_ASSERTION, client_assertion: clientAssertion });
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
      expect(await oneTimeIds()).toBe(before);
      // The same assertion and proof still get a token.
      const accepted = await tokenRequest(clientAssertion).set('DPoP', dpop);
      expect(accepted.status).toBe(200);
    });

    it('an assertion of an account that is no service account is unauthorized_client and records nothing', async () => {
      const { createPrivateKey } = await import('node:crypto');
      const peerKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(PEER.key.seedHex, 'hex')]), format: 'der', type: 'pkcs8' });
      const jti = randomUUID();
      const now = Math.floor(Date.now() / 1000);
      const peerAssertion = await new SignJWT({ iss: PEER.email, sub: PEER.email, aud: `${publicUrl}/oauth/token`, iat: now, exp: now + 60, jti }).setProtectedHeader({ alg: 'EdDSA' }).sign(peerKey);
      const before = await oneTimeIds();
      const res = await tokenRequest(peerAssertion).set('DPoP', await proof('POST', '/oauth/token'));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'unauthorized_client', error_description: 'the client may not use this grant: it is not a service account' });
      expect(await withSql(storage, (query) => query('SELECT kind FROM single_use_records WHERE key LIKE $1', [`%${jti}`]))).toEqual([]);
      expect(await oneTimeIds()).toBe(before);
    });
  });
});
