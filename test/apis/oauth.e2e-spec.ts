import { execFile } from 'node:child_process';
import { createPrivateKey, KeyObject, randomUUID, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey as JoseKey, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';
import { UsersService } from '../../src/users/users.service.js';
import { envelope } from '../support/envelope.js';
import { decodeJwtPart, newClientKey, signEmail } from '../support/fib-client.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from '../support/test-app.js';
import { freePort } from '../support/process-service.js';
import { CLIENT_ASSERTION, dpopProof } from '../support/oauth-client.js';

const FIB = '/auth/api/v1/authentication-management';
const SERVICE = { email: 'ledger@svc.example', password: 'p@ss:word %+ with spaces' };
const PEER = { email: 'alice@wonderland.space', key: newClientKey() };
// Debian's python3-jwt lives beside Debian's interpreter, whatever python3 comes first on PATH.
const PYTHON = '/usr/bin/python3';

/** An Ed25519 private key from its 32-byte seed: the PKCS #8 prefix of RFC 8410, then the seed. */
function ed25519PrivateKey(seedHex: string) {
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]), format: 'der', type: 'pkcs8' });
}

async function hasPythonModules(modules: string): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  try {
    await promisify(execFile)(PYTHON, ['-c', `import ${modules}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Standard OAuth clients against sigauth, unchanged: openid-client and
 * oauth4webapi discover it from PUBLIC_URL and use client credentials (client_secret_basic,
 * private_key_jwt with Ed25519), DPoP, introspection and revocation; PyJWT verifies its tokens,
 * and Authlib uses them with its own private_key_jwt.
 */
describe('OAuth 2 clients (openid-client, oauth4webapi, PyJWT, Authlib)', () => {
  let storage: TestStorage;
  let service: TestApp;
  let publicUrl: string;
  let as: oauth.AuthorizationServer;
  let serviceKeys: webcrypto.CryptoKeyPair;
  const client: oauth.Client = { client_id: SERVICE.email };
  const insecure = { [oauth.allowInsecureRequests]: true } as const;

  const form = (path: string, fields: Record<string, string>) => service.http().post(path).type('form').send(fields);
  const basic = (email: string, password: string) => `Basic ${Buffer.from(`${encodeURIComponent(email)}:${encodeURIComponent(password)}`).toString('base64')}`;
  const assertion = async (claims: Record<string, unknown> = {}, key = serviceKeys.privateKey) => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: SERVICE.email, sub: SERVICE.email, aud: `${publicUrl}/oauth/token`, iat: now, exp: now + 60, jti: randomUUID(), ...claims };
    return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA' }).sign(key as JoseKey);
  };
  const fibLogin = (dpop?: string) => {
    const req = service.http().post(`${FIB}/session`);
    if (dpop) req.set('DPoP', dpop);
    return req.send({ email: PEER.email, signature: signEmail(PEER.key, PEER.email), authPublicKeyHex: PEER.key.publicKeyHex });
  };

  beforeAll(async () => {
    storage = await createTestStorage('oauth');
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    // The issuer defaults to PUBLIC_URL, as RFC 8414 discovery requires.
    service = await startTestApp({ ...storage.env, PORT: String(port), PUBLIC_URL: publicUrl, JWT_ISSUER: undefined, JWT_AUDIENCE: 'https://api.example.org' });
    serviceKeys = await webcrypto.subtle.generateKey('Ed25519', true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
    const publicKeyHex = Buffer.from(await webcrypto.subtle.exportKey('raw', serviceKeys.publicKey)).toString('hex');
    const users = service.app.get(UsersService);
    await users.create({ email: SERVICE.email, account: 'ledger@svc', role: 'ROLE_SERVICE', password: SERVICE.password, publicKeys: [publicKeyHex] });
    await users.create({ email: PEER.email, account: 'alice@wonderland', publicKeys: [PEER.key.publicKeyHex] });
    as = await oauth.processDiscoveryResponse(new URL(publicUrl), await oauth.discoveryRequest(new URL(publicUrl), { algorithm: 'oauth2', ...insecure }));
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  describe('discovery (RFC 8414)', () => {
    it('answers the metadata at the RFC 8414 name only (sigauth is no OpenID Provider), every endpoint under PUBLIC_URL', async () => {
      const [rfc8414, oidc] = await Promise.all([service.http().get('/.well-known/oauth-authorization-server'), service.http().get('/.well-known/openid-configuration')]);
      expect(rfc8414.status).toBe(200);
      expect(oidc.status).toBe(404);
      expect(rfc8414.body).toEqual({
        issuer: publicUrl,
        jwks_uri: `${publicUrl}/.well-known/jwks.json`,
        token_endpoint: `${publicUrl}/oauth/token`,
        introspection_endpoint: `${publicUrl}/auth/api/v1/token/introspect`,
        revocation_endpoint: `${publicUrl}/oauth/revoke`,
        grant_types_supported: ['client_credentials', 'refresh_token'],
        response_types_supported: [],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519'],
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
        introspection_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519'],
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt', 'none'],
        revocation_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519'],
        dpop_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256'],
        service_documentation: `${publicUrl}/docs`,
      });
    });
  });

  describe('client credentials', () => {
    it('openid-client discovers sigauth and gets a token with client_secret_basic', async () => {
      const config = await openid.discovery(new URL(publicUrl), SERVICE.email, undefined, openid.ClientSecretBasic(SERVICE.password), { algorithm: 'oauth2', execute: [openid.allowInsecureRequests] });
      expect(config.serverMetadata().issuer).toBe(publicUrl);
      const tokens = await openid.clientCredentialsGrant(config);
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.expires_in).toBe(300);
      expect(typeof tokens.refresh_token).toBe('string');
      expect(decodeJwtPart(tokens.access_token, 0)).toEqual({ typ: 'at+jwt', alg: 'EdDSA', kid: expect.any(String) });
      expect(decodeJwtPart(tokens.access_token, 1)).toEqual(
        expect.objectContaining({ iss: publicUrl, aud: 'https://api.example.org', sub: SERVICE.email, acc: 'ledger@svc', role: 'ROLE_SERVICE', client_id: SERVICE.email }),
      );
      expect(decodeJwtPart(tokens.access_token, 1)).not.toHaveProperty('cnf');
      // The same library introspects with the same client authentication.
      const introspection = await openid.tokenIntrospection(config, tokens.access_token);
      expect(introspection).toEqual(expect.objectContaining({ active: true, sub: SERVICE.email, client_id: SERVICE.email, token_use: 'access' }));
    });

    it('oauth4webapi gets a token with private_key_jwt signed by the account\'s Ed25519 key, and introspects with it', async () => {
      const auth = oauth.PrivateKeyJwt(serviceKeys.privateKey);
      const response = await oauth.clientCredentialsGrantRequest(as, client, auth, {}, insecure);
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      expect(tokens.token_type).toBe('bearer');
      const claims = decodeJwtPart(tokens.access_token, 1);
      expect(claims).toEqual(expect.objectContaining({ sub: SERVICE.email, client_id: SERVICE.email, role: 'ROLE_SERVICE' }));
      const introspected = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, oauth.PrivateKeyJwt(serviceKeys.privateKey), tokens.access_token, insecure));
      expect(introspected).toEqual(expect.objectContaining({ active: true, jti: claims.jti, sub: SERVICE.email }));
    });

    it('oauth4webapi with a DPoP key (ES256 and EdDSA): token_type DPoP, cnf.jkt, and refresh only with that key', async () => {
      for (const alg of ['ES256', 'EdDSA']) {
        const keyPair = await oauth.generateKeyPair(alg, { extractable: true });
        const jkt = await calculateJwkThumbprint((await exportJWK(keyPair.publicKey)) as JWK);
        const DPoP = oauth.DPoP(client, keyPair);
        const auth = oauth.ClientSecretBasic(SERVICE.password);
        const first = await oauth.clientCredentialsGrantRequest(as, client, auth, {}, { DPoP, ...insecure });
        if (first.status !== 200) throw new Error(`${alg}: ${first.status} ${await first.clone().text()}`);
        const tokens = await oauth.processClientCredentialsResponse(as, client, first);
        expect(tokens.token_type).toBe('dpop');
        expect(decodeJwtPart(tokens.access_token, 1).cnf).toEqual({ jkt });
        const introspected = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tokens.refresh_token!, insecure));
        expect(introspected).toEqual(expect.objectContaining({ active: true, token_use: 'refresh', cnf: { jkt } }));

        const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token!, { DPoP, ...insecure }));
        expect(refreshed.token_type).toBe('dpop');
        expect(decodeJwtPart(refreshed.access_token, 1).cnf).toEqual({ jkt });

        // Another key's proof, or none, leaves the session as it was: nothing rotated, nothing revoked.
        const other = await generateKeyPair(alg === 'ES256' ? 'ES256' : 'EdDSA');
        const stranger = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshed.refresh_token! })
          .set('Authorization', basic(SERVICE.email, SERVICE.password))
          .set('DPoP', await dpopProof(other, alg as 'ES256' | 'EdDSA', 'POST', `${publicUrl}/oauth/token`));
        expect(stranger.status).toBe(400);
        expect(stranger.body).toEqual({ error: 'invalid_grant', error_description: 'the session is bound to a DPoP key: refresh with a DPoP proof signed by that key' });
        const without = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshed.refresh_token! }).set('Authorization', basic(SERVICE.email, SERVICE.password));
        expect(without.status).toBe(400);
        expect(without.body.error).toBe('invalid_grant');
        const again = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, refreshed.refresh_token!, { DPoP, ...insecure }));
        expect(again.token_type).toBe('dpop');
      }
    });

    it('answers as RFC 6749 section 5.1: no-store, and the grant fields only', async () => {
      const res = await form('/oauth/token', { grant_type: 'client_credentials' }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
      expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 300, refresh_token: expect.any(String) });
    });
  });

  describe('revocation (RFC 7009)', () => {
    it('oauth4webapi revokes a FIB refresh token by holding it (no client authentication); the FIB refresh is then 401', async () => {
      const login = await fibLogin();
      expect(login.status).toBe(200);
      const { refreshToken } = login.body.data;
      const anonymous: oauth.Client = { client_id: 'anyone' };
      await oauth.processRevocationResponse(await oauth.revocationRequest(as, anonymous, oauth.None(), refreshToken, insecure));
      const refresh = await service.http().patch(`${FIB}/session`).set('Authorization', refreshToken);
      expect(refresh.status).toBe(401);
      expect(refresh.body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
    });

    it('oauth4webapi revokes its own refresh token with client authentication; refreshing with it is then invalid_grant', async () => {
      const auth = oauth.ClientSecretBasic(SERVICE.password);
      const tokens = await oauth.processClientCredentialsResponse(as, client, await oauth.clientCredentialsGrantRequest(as, client, auth, {}, insecure));
      await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, tokens.refresh_token!, insecure));
      const res = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'session has ended' });
      const introspected = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure));
      expect(introspected).toEqual({ active: false });
    });

    it('a service account\'s token needs its client authentication; unknown tokens are 200', async () => {
      const tokens = (await form('/oauth/token', { grant_type: 'client_credentials' }).set('Authorization', basic(SERVICE.email, SERVICE.password))).body;
      const anonymous = await form('/oauth/revoke', { token: tokens.refresh_token });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['www-authenticate']).toBe('Basic realm="sigauth", charset="UTF-8"');
      expect(anonymous.body).toEqual({ error: 'invalid_client', error_description: "a service account's token is revoked with that account's client authentication" });
      const stillLive = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect(stillLive.status).toBe(200);

      const unknown = await form('/oauth/revoke', { token: 'not-a-token', token_type_hint: 'refresh_token' });
      expect(unknown.status).toBe(200);
      expect(unknown.body).toEqual({});
      const missing = await form('/oauth/revoke', {});
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual({ error: 'invalid_request', error_description: 'token is required' });
    });
  });

  describe('errors (RFC 6749 section 5.2)', () => {
    it('a replayed client assertion is invalid_client', async () => {
      const signed = await assertion();
      const fields = { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION, client_assertion: signed };
      const first = await form('/oauth/token', fields);
      expect(first.status).toBe(200);
      const replay = await form('/oauth/token', fields);
      expect(replay.status).toBe(401);
      expect(replay.body).toEqual({ error: 'invalid_client', error_description: 'client_assertion was already used' });
    });

    it.each([
      ['addressed to another audience', { aud: 'https://elsewhere.example' }, 'client_assertion aud is not accepted'],
      ['living longer than an hour', { exp: Math.floor(Date.now() / 1000) + 7200 }, 'client_assertion must expire within 3600 s'],
      ['expired', { exp: Math.floor(Date.now() / 1000) - 10 }, 'client_assertion has expired'],
    ])('an assertion %s is invalid_client', async (_why, claims, description) => {
      const res = await form('/oauth/token', { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION, client_assertion: await assertion(claims) });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'invalid_client', error_description: description });
    });

    it('an assertion signed by a key the account does not hold is invalid_client', async () => {
      const stranger = await generateKeyPair('EdDSA');
      const res = await form('/oauth/token', { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION, client_assertion: await assertion({}, stranger.privateKey as never) });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    });

    it('an unknown grant is unsupported_grant_type', async () => {
      const res = await form('/oauth/token', { grant_type: 'password', username: 'x', password: 'y' }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'unsupported_grant_type', error_description: 'grant_type password is not supported' });
    });

    it('a wrong secret is 401 invalid_client with WWW-Authenticate, and never cached', async () => {
      const res = await form('/oauth/token', { grant_type: 'client_credentials' }).set('Authorization', basic(SERVICE.email, 'wrong'));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="sigauth", charset="UTF-8"');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ error: 'invalid_client', error_description: 'Unauthorized' });
      await expect(
        oauth.processClientCredentialsResponse(as, client, await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic('wrong'), {}, insecure)),
      ).rejects.toThrow();
    });

    it.each([
      ['a missing grant_type', {}, 'grant_type is required'],
      ['a repeated grant_type', 'grant_type=client_credentials&grant_type=client_credentials', 'grant_type must not be given more than once'],
      ['a refresh_token grant without the token', { grant_type: 'refresh_token' }, 'refresh_token is required'],
    ])('%s is invalid_request', async (_why, fields, description) => {
      const res = await service.http().post('/oauth/token').type('form').set('Authorization', basic(SERVICE.email, SERVICE.password)).send(fields);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: description });
    });

    it('a JSON body is invalid_request', async () => {
      const res = await service.http().post('/oauth/token').set('Authorization', basic(SERVICE.email, SERVICE.password)).send({ grant_type: 'client_credentials' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'the body must be application/x-www-form-urlencoded' });
    });

    it('two client authentication methods at once are invalid_request; a scope is invalid_scope', async () => {
      const both = await form('/oauth/token', { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION, client_assertion: await assertion() }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect(both.status).toBe(400);
      expect(both.body).toEqual({ error: 'invalid_request', error_description: 'a request authenticates its client with one method, not two' });
      const scoped = await form('/oauth/token', { grant_type: 'client_credentials', scope: 'admin' }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect(scoped.status).toBe(400);
      expect(scoped.body).toEqual({ error: 'invalid_scope', error_description: 'scopes are not supported' });
    });

    it('a user who is not a service account is unauthorized_client; a FIB refresh token is invalid_grant here', async () => {
      const peerAssertion = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setIssuer(PEER.email)
        .setSubject(PEER.email)
        .setAudience(publicUrl)
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(ed25519PrivateKey(PEER.key.seedHex));
      const peer = await form('/oauth/token', { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION, client_assertion: peerAssertion });
      expect(peer.status).toBe(400);
      expect(peer.body).toEqual({ error: 'unauthorized_client', error_description: 'the client may not use this grant: it is not a service account' });
      const fib = (await fibLogin()).body.data;
      const foreign = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: fib.refreshToken }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect(foreign.status).toBe(400);
      expect(foreign.body).toEqual({ error: 'invalid_grant', error_description: 'token was issued to another API' });
    });
  });

  describe('DPoP (RFC 9449)', () => {
    const tokenUrl = () => `${publicUrl}/oauth/token`;
    const withProof = (proof: string) => form('/oauth/token', { grant_type: 'client_credentials' }).set('Authorization', basic(SERVICE.email, SERVICE.password)).set('DPoP', proof);

    it('a replayed proof is refused', async () => {
      const keys = await generateKeyPair('EdDSA');
      const proof = await dpopProof(keys, 'EdDSA', 'POST', tokenUrl());
      expect((await withProof(proof)).status).toBe(200);
      const replay = await withProof(proof);
      expect(replay.status).toBe(400);
      expect(replay.body).toEqual({ error: 'invalid_dpop_proof', error_description: 'the DPoP proof was already used' });
    });

    it.each([
      ['another URL', 'POST', '/oauth/revoke', {}, 'the DPoP proof is for another URL'],
      ['another method', 'GET', '/oauth/token', {}, 'the DPoP proof is for another method'],
      ['an old iat', 'POST', '/oauth/token', { iat: Math.floor(Date.now() / 1000) - 3600 }, 'the DPoP proof is too old or from the future'],
    ])('a proof for %s is refused', async (_why, htm, path, extra, description) => {
      const proof = await dpopProof(await generateKeyPair('ES256'), 'ES256', htm, `${publicUrl}${path}`, extra);
      const res = await withProof(proof);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_dpop_proof', error_description: description });
    });

    it('a proof signed with another algorithm (HS256 has no public key; RS256 is not taken) is refused', async () => {
      const rsa = await generateKeyPair('RS256');
      const res = await withProof(await dpopProof(rsa, 'RS256' as never, 'POST', tokenUrl()));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_dpop_proof', error_description: 'the DPoP proof must be signed with EdDSA (Ed25519) or ES256' });
    });

    it('FIB login with a proof: bound tokens (tokenType DPoP, cnf.jkt); refresh with another key\'s proof is 401, with its own 200', async () => {
      const keys = await generateKeyPair('EdDSA');
      const jkt = await calculateJwkThumbprint(await exportJWK(keys.publicKey));
      const login = await fibLogin(await dpopProof(keys, 'EdDSA', 'POST', `${publicUrl}${FIB}/session`));
      expect(login.status).toBe(200);
      expect(login.body.data).toEqual(expect.objectContaining({ tokenType: 'DPoP', expirationTime: 300 }));
      expect(decodeJwtPart(login.body.data.accessToken, 1).cnf).toEqual({ jkt });
      const refreshWith = (proof?: string) => {
        const req = service.http().patch(`${FIB}/session`).set('Authorization', login.body.data.refreshToken);
        return proof ? req.set('DPoP', proof) : req;
      };
      const stranger = await refreshWith(await dpopProof(await generateKeyPair('EdDSA'), 'EdDSA', 'PATCH', `${publicUrl}${FIB}/session`));
      expect(stranger.status).toBe(401);
      expect(stranger.body).toEqual(envelope(401, 'InvalidToken', 'the session is bound to a DPoP key: refresh with a DPoP proof signed by that key'));
      const none = await refreshWith();
      expect(none.status).toBe(401);
      expect(none.body).toEqual(envelope(401, 'InvalidToken', 'the session is bound to a DPoP key: refresh with a DPoP proof signed by that key'));
      const own = await refreshWith(await dpopProof(keys, 'EdDSA', 'PATCH', `${publicUrl}${FIB}/session`));
      expect(own.status).toBe(200);
      expect(own.body.data.tokenType).toBe('DPoP');
      const badProof = await refreshWith('not-a-proof');
      expect(badProof.status).toBe(401);
      expect(badProof.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof is not a JWT'));
    });

    it('a bound access token logs out only with a proof by its key, carrying its hash', async () => {
      const keys = await generateKeyPair('ES256');
      const login = await fibLogin(await dpopProof(keys, 'ES256', 'POST', `${publicUrl}${FIB}/session`));
      const { accessToken } = login.body.data;
      const bearer = await service.http().post(`${FIB}/logout`).set('Authorization', accessToken);
      expect(bearer.status).toBe(401);
      expect(bearer.body).toEqual(envelope(401, 'InvalidToken', 'the access token is bound to a DPoP key: send Authorization: DPoP with a proof by that key'));
      const noAth = await service.http().post(`${FIB}/logout`).set('Authorization', `DPoP ${accessToken}`).set('DPoP', await dpopProof(keys, 'ES256', 'POST', `${publicUrl}${FIB}/logout`));
      expect(noAth.status).toBe(401);
      expect(noAth.body).toEqual(envelope(401, 'InvalidDpopProof', 'the DPoP proof is not for this access token (ath)'));
      const ath = Buffer.from(await webcrypto.subtle.digest('SHA-256', Buffer.from(accessToken))).toString('base64url');
      const proven = await service.http().post(`${FIB}/logout`).set('Authorization', `DPoP ${accessToken}`).set('DPoP', await dpopProof(keys, 'ES256', 'POST', `${publicUrl}${FIB}/logout`, { ath }));
      expect(proven.status).toBe(200);
    });
  });

  describe('a verifier in another language (PyJWT)', () => {
    const pyjwt = async (token: string, audience: string): Promise<{ ok: boolean; out: string }> => {
      const script = [
        'import json, sys, jwt',
        'url, issuer, audience, token = sys.argv[1:5]',
        'key = jwt.PyJWKClient(url).get_signing_key_from_jwt(token).key',
        'try:',
        "    claims = jwt.decode(token, key, algorithms=['EdDSA'], issuer=issuer, audience=audience)",
        "    print(json.dumps({'ok': True, 'sub': claims['sub'], 'iss': claims['iss']}))",
        'except jwt.InvalidTokenError as error:',
        "    print(json.dumps({'ok': False, 'error': type(error).__name__}))",
      ].join('\n');
      const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, `${publicUrl}/.well-known/jwks.json`, publicUrl, audience, token]);
      const answer = JSON.parse(stdout) as { ok: boolean; error?: string };
      return { ok: answer.ok, out: stdout.trim() };
    };

    it('verifies a FIB access token through PyJWKClient against the JWKS (EdDSA, issuer, audience); refuses the refresh token for the resource audience', async () => {
      if (!(await hasPythonModules('jwt, cryptography'))) {
        // .ci/run installs python3-jwt; outside CI the test says why it did nothing.
        if (process.env.CI) throw new Error('python3-jwt is missing: .ci/run should have installed it');
        console.warn('skipped: Debian python3-jwt is not installed');
        return;
      }
      const { accessToken, refreshToken } = (await fibLogin()).body.data;
      const access = await pyjwt(accessToken, 'https://api.example.org');
      expect(JSON.parse(access.out)).toEqual({ ok: true, sub: PEER.email, iss: publicUrl });
      const refresh = await pyjwt(refreshToken, 'https://api.example.org');
      expect(JSON.parse(refresh.out)).toEqual({ ok: false, error: 'InvalidAudienceError' });
    });
  });

  describe('a client in another language (Authlib)', () => {
    // Authlib's requests client as its documentation shows it; the only setting changed is alg,
    // since the account's keys are Ed25519 and Authlib's default is RS256. Its assertions keep
    // Authlib's defaults: exp an hour after iat, aud the token endpoint at every endpoint.
    const script = [
      'import base64, json, sys',
      'from urllib.parse import parse_qs',
      'import requests',
      'from authlib.integrations.requests_client import OAuth2Session',
      'from authlib.oauth2.rfc7523 import PrivateKeyJWT',
      'server, client_id, private_key = sys.argv[1:4]',
      "metadata = requests.get(server + '/.well-known/oauth-authorization-server').json()",
      "session = OAuth2Session(client_id, private_key, token_endpoint_auth_method='private_key_jwt', revocation_endpoint_auth_method='private_key_jwt')",
      "session.register_client_auth_method(PrivateKeyJWT(metadata['token_endpoint'], alg='EdDSA'))",
      'sent = []',
      'def record(response, *args, **kwargs):',
      "    signed = parse_qs(response.request.body)['client_assertion'][0]",
      "    claims = json.loads(base64.urlsafe_b64decode(signed.split('.')[1] + '=='))",
      "    sent.append({'url': response.request.url, 'status': response.status_code, 'aud': claims['aud'], 'lifetime': claims['exp'] - claims['iat']})",
      "session.hooks['response'].append(record)",
      "token = session.fetch_token(metadata['token_endpoint'], grant_type='client_credentials')",
      "live = session.introspect_token(metadata['introspection_endpoint'], token=token['access_token']).json()",
      "session.revoke_token(metadata['revocation_endpoint'], token=token['refresh_token'])",
      "ended = session.introspect_token(metadata['introspection_endpoint'], token=token['access_token']).json()",
      "print(json.dumps({'token_type': token['token_type'], 'live': {k: live.get(k) for k in ('active', 'sub', 'client_id')}, 'ended': ended, 'sent': sent}))",
    ].join('\n');

    it('obtains a token with private_key_jwt as Authlib signs it (exp 3600 s ahead, aud the token endpoint), introspects it and revokes it', async () => {
      if (!(await hasPythonModules('authlib, requests'))) {
        // .ci/run installs python3-authlib; outside CI the test says why it did nothing.
        if (process.env.CI) throw new Error('python3-authlib is missing: .ci/run should have installed it');
        console.warn('skipped: Debian python3-authlib is not installed');
        return;
      }
      const privateKeyPem = KeyObject.from(serviceKeys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
      const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, publicUrl, SERVICE.email, privateKeyPem]);
      const tokenEndpoint = `${publicUrl}/oauth/token`;
      const sent = (url: string) => ({ url, status: 200, aud: tokenEndpoint, lifetime: 3600 });
      expect(JSON.parse(stdout)).toEqual({
        token_type: 'Bearer',
        live: { active: true, sub: SERVICE.email, client_id: SERVICE.email },
        ended: { active: false },
        sent: [sent(tokenEndpoint), sent(`${publicUrl}/auth/api/v1/token/introspect`), sent(`${publicUrl}/oauth/revoke`), sent(`${publicUrl}/auth/api/v1/token/introspect`)],
      });
    });
  });
});
