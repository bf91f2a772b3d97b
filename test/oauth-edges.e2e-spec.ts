import { randomUUID, webcrypto } from 'node:crypto';
import { SignJWT, type CryptoKey as JoseKey, type JWTHeaderParameters } from 'jose';
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';
import { UsersService } from '../src/users/users.service.js';
import { envelope } from './support/envelope.js';
import { decodeJwtPart } from './support/fib-client.js';
import { withSql } from './support/sql.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';
import { freePort } from './support/process-service.js';
import { CLIENT_ASSERTION } from './support/oauth-client.js';

const SERVICE = { email: 'ledger@svc.example', password: 'correct horse battery staple' };
const INTROSPECT = '/auth/api/v1/token/introspect';

const basic = (email: string, password: string) => `Basic ${Buffer.from(`${encodeURIComponent(email)}:${encodeURIComponent(password)}`).toString('base64')}`;

/**
 * The edges of the OAuth endpoints that standard clients reach: client ids are the account's
 * normalized email however a client spells it; client assertions are taken as real clients make
 * them (an hour's exp, the token endpoint as aud everywhere) and refused when they are another
 * kind of JWT or come from the future; the metadata sits where RFC 8414 puts it, the OpenID name
 * is not served, and a 429 speaks RFC 6749 section 5.2.
 */
describe('OAuth edges', () => {
  let storage: TestStorage;
  let service: TestApp;
  let publicUrl: string;
  let serviceKeys: webcrypto.CryptoKeyPair;

  const form = (path: string, fields: Record<string, string>) => service.http().post(path).type('form').send(fields);
  const assertion = async (claims: Record<string, unknown> = {}, header: Partial<JWTHeaderParameters> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: SERVICE.email, sub: SERVICE.email, aud: `${publicUrl}/oauth/token`, iat: now, exp: now + 60, jti: randomUUID(), ...claims };
    return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', ...header }).sign(serviceKeys.privateKey as JoseKey);
  };
  const withAssertion = async (path: string, fields: Record<string, string>, claims: Record<string, unknown> = {}, header: Partial<JWTHeaderParameters> = {}) =>
    form(path, { ...fields, client_assertion_type: CLIENT_ASSERTION, client_assertion: await assertion(claims, header) });
  const clientCredentials = (claims: Record<string, unknown> = {}, header: Partial<JWTHeaderParameters> = {}) => withAssertion('/oauth/token', { grant_type: 'client_credentials' }, claims, header);

  beforeAll(async () => {
    storage = await createTestStorage('oauth_edges');
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    service = await startTestApp({ ...storage.env, PORT: String(port), PUBLIC_URL: publicUrl, JWT_ISSUER: undefined, JWT_AUDIENCE: 'https://api.example.org' });
    serviceKeys = (await webcrypto.subtle.generateKey('Ed25519', true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const publicKeyHex = Buffer.from(await webcrypto.subtle.exportKey('raw', serviceKeys.publicKey)).toString('hex');
    await service.app.get(UsersService).create({ email: SERVICE.email, account: 'ledger@svc', role: 'ROLE_SERVICE', password: SERVICE.password, publicKeys: [publicKeyHex] });
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  describe('client ids are the normalized email', () => {
    it('Basic authentication with the email in upper case opens a session under the canonical id, which then refreshes it', async () => {
      const opened = await form('/oauth/token', { grant_type: 'client_credentials' }).set('Authorization', basic(SERVICE.email.toUpperCase(), SERVICE.password));
      expect(opened.status).toBe(200);
      expect(decodeJwtPart(opened.body.access_token, 1)).toEqual(expect.objectContaining({ sub: SERVICE.email, client_id: SERVICE.email }));

      const refreshed = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: opened.body.refresh_token }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect(refreshed.status).toBe(200);
      expect(refreshed.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 300, refresh_token: expect.any(String) });
      expect(decodeJwtPart(refreshed.body.access_token, 1)).toEqual(expect.objectContaining({ sub: SERVICE.email, client_id: SERVICE.email }));
    });

    it('a client_id form parameter and an assertion\'s iss and sub in another case name the same client', async () => {
      const upper = SERVICE.email.toUpperCase();
      const basicWithId = await form('/oauth/token', { grant_type: 'client_credentials', client_id: upper }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect(basicWithId.status).toBe(200);
      expect(decodeJwtPart(basicWithId.body.access_token, 1).client_id).toBe(SERVICE.email);

      const asserted = await withAssertion('/oauth/token', { grant_type: 'client_credentials', client_id: SERVICE.email }, { iss: upper, sub: 'Ledger@Svc.Example' });
      expect(asserted.status).toBe(200);
      expect(decodeJwtPart(asserted.body.access_token, 1)).toEqual(expect.objectContaining({ sub: SERVICE.email, client_id: SERVICE.email }));

      const other = await form('/oauth/token', { grant_type: 'client_credentials', client_id: 'someone@else.example' }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect(other.status).toBe(401);
      expect(other.body).toEqual({ error: 'invalid_client', error_description: 'client_id is not the client that authenticates' });
    });
  });

  describe('client assertions', () => {
    it('one whose iat is 100,000 s in the future is invalid_client', async () => {
      const res = await clientCredentials({ iat: Math.floor(Date.now() / 1000) + 100_000 });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'invalid_client', error_description: 'client_assertion iat is in the future' });
    });

    it('one typed dpop+jwt (a DPoP proof is no client assertion) is invalid_client; typ JWT and no typ are taken', async () => {
      const dpop = await clientCredentials({}, { typ: 'dpop+jwt' });
      expect(dpop.status).toBe(401);
      expect(dpop.body).toEqual({ error: 'invalid_client', error_description: 'client_assertion typ is not JWT' });
      const accessTyped = await clientCredentials({}, { typ: 'at+jwt' });
      expect(accessTyped.status).toBe(401);
      expect(accessTyped.body).toEqual({ error: 'invalid_client', error_description: 'client_assertion typ is not JWT' });
      expect((await clientCredentials({}, { typ: 'JWT' })).status).toBe(200);
      expect((await clientCredentials()).status).toBe(200);
    });

    it('one expiring 3600 s ahead (Authlib\'s default) is taken, and its jti kept until then; one beyond the hour is invalid_client', async () => {
      const exp = Math.floor(Date.now() / 1000) + 3600;
      const jti = randomUUID();
      const fields = { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION, client_assertion: await assertion({ exp, jti }) };
      const taken = await form('/oauth/token', fields);
      expect(taken.status).toBe(200);
      expect(taken.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 300, refresh_token: expect.any(String) });
      const kept = await withSql(storage, (query) => query<{ expires_at: Date }>("SELECT expires_at FROM single_use_records WHERE kind = 'client-assertion' AND key LIKE $1", [`%:${jti}`]));
      expect(kept.map((row) => row.expires_at.getTime())).toEqual([exp * 1000]);
      const replay = await form('/oauth/token', fields);
      expect(replay.status).toBe(401);
      expect(replay.body).toEqual({ error: 'invalid_client', error_description: 'client_assertion was already used' });

      const tooLong = await clientCredentials({ exp: Math.floor(Date.now() / 1000) + 7200 });
      expect(tooLong.status).toBe(401);
      expect(tooLong.body).toEqual({ error: 'invalid_client', error_description: 'client_assertion must expire within 3600 s' });
    });

    it('one addressed to the token endpoint is taken at introspection and at revocation', async () => {
      const tokens = (await clientCredentials()).body;
      const introspected = await withAssertion(INTROSPECT, { token: tokens.access_token });
      expect(introspected.status).toBe(200);
      expect(introspected.body).toEqual(expect.objectContaining({ active: true, sub: SERVICE.email, client_id: SERVICE.email, token_use: 'access' }));

      const revoked = await withAssertion('/oauth/revoke', { token: tokens.refresh_token });
      expect(revoked.status).toBe(200);
      expect(revoked.body).toEqual({});
      const after = await withAssertion(INTROSPECT, { token: tokens.access_token });
      expect(after.status).toBe(200);
      expect(after.body).toEqual({ active: false });
    });

    it('one addressed to the endpoint it is sent to or to the issuer is taken there too; another audience is refused', async () => {
      const tokens = (await clientCredentials()).body;
      expect((await withAssertion(INTROSPECT, { token: tokens.access_token }, { aud: `${publicUrl}${INTROSPECT}` })).body.active).toBe(true);
      expect((await withAssertion(INTROSPECT, { token: tokens.access_token }, { aud: publicUrl })).body.active).toBe(true);
      const elsewhere = await withAssertion('/oauth/revoke', { token: tokens.refresh_token }, { aud: `${publicUrl}${INTROSPECT}` });
      expect(elsewhere.status).toBe(401);
      expect(elsewhere.body).toEqual({ error: 'invalid_client', error_description: 'client_assertion aud is not accepted' });
    });
  });

  describe('metadata', () => {
    it('/.well-known/openid-configuration is not served: sigauth is no OpenID Provider', async () => {
      const res = await service.http().get('/.well-known/openid-configuration');
      expect(res.status).toBe(404);
      expect(res.body).toEqual(envelope(404, 'NotFound', 'no such route'));
    });

    it('openid-client discovers sigauth as an OAuth 2 server (algorithm oauth2) and gets a token', async () => {
      const config = await openid.discovery(new URL(publicUrl), SERVICE.email, undefined, openid.ClientSecretBasic(SERVICE.password), { algorithm: 'oauth2', execute: [openid.allowInsecureRequests] });
      expect(config.serverMetadata()).toEqual(expect.objectContaining({ issuer: publicUrl, token_endpoint: `${publicUrl}/oauth/token` }));
      const tokens = await openid.clientCredentialsGrant(config);
      expect(decodeJwtPart(tokens.access_token, 1)).toEqual(expect.objectContaining({ sub: SERVICE.email, client_id: SERVICE.email }));
    });
  });

  describe('behind a path (PUBLIC_URL https://example.com/auth)', () => {
    let prefixed: TestApp;
    let issuer: string;

    beforeAll(async () => {
      const port = await freePort();
      issuer = `http://127.0.0.1:${port}/auth`;
      prefixed = await startTestApp({ ...storage.env, PORT: String(port), PUBLIC_URL: issuer, JWT_ISSUER: undefined });
    });
    afterAll(async () => {
      await prefixed?.close();
    });

    it('serves the metadata at /.well-known/oauth-authorization-server/auth (RFC 8414 section 3.1), where oauth4webapi looks for it', async () => {
      const res = await prefixed.http().get('/.well-known/oauth-authorization-server/auth');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      expect(res.body).toEqual(expect.objectContaining({ issuer, token_endpoint: `${issuer}/oauth/token`, jwks_uri: `${issuer}/.well-known/jwks.json` }));

      const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }));
      expect(as.issuer).toBe(issuer);
    });

    it('any other path below the well-known name is 404', async () => {
      for (const path of ['/.well-known/oauth-authorization-server/elsewhere', '/.well-known/oauth-authorization-server/auth/more']) {
        const res = await prefixed.http().get(path);
        expect([path, res.status, res.body]).toEqual([path, 404, envelope(404, 'NotFound', 'no such route')]);
      }
      const rootService = await service.http().get('/.well-known/oauth-authorization-server/auth');
      expect(rootService.status).toBe(404);
      expect(rootService.body).toEqual(envelope(404, 'NotFound', 'no such route'));
    });
  });

  describe('rate limits at the token endpoint', () => {
    let limited: TestApp;

    beforeAll(async () => {
      limited = await startTestApp({ ...storage.env, RATE_LIMIT_PER_IP: '2' });
    });
    afterAll(async () => {
      await limited?.close();
    });

    it('a 429 carries Retry-After and an error RFC 6749 section 5.2 defines (invalid_request), never temporarily_unavailable', async () => {
      const request = () => limited.http().post('/oauth/token').type('form').send({ grant_type: 'client_credentials' }).set('Authorization', basic(SERVICE.email, SERVICE.password));
      expect((await request()).status).toBe(200);
      expect((await request()).status).toBe(200);
      const refused = await request();
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(refused.headers['cache-control']).toBe('no-store');
      expect(refused.body).toEqual({ error: 'invalid_request', error_description: `Too many requests; retry after ${refused.headers['retry-after']} s.` });
    });
  });
});
