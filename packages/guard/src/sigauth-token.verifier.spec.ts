import { Logger } from '@nestjs/common';
import { generateKeyPair, exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { newSigningKey, startTestIntrospection, startTestJwksIssuer, type TestIntrospection, type TestJwksIssuer } from '../../../test/support/test-jwks-issuer.js';
import type { SigauthGuardOptions } from './sigauth-guard.options.js';
import { SigauthTokenRejectedError, SigauthUnavailableError } from './sigauth-token.errors.js';
import { SigauthTokenVerifier } from './sigauth-token.verifier.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rejection(promise: Promise<unknown>): Promise<SigauthTokenRejectedError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SigauthTokenRejectedError);
  return error as SigauthTokenRejectedError;
}

describe('SigauthTokenVerifier', () => {
  let issuer: TestJwksIssuer;
  const verifier = (options: Partial<SigauthGuardOptions> = {}) =>
    new SigauthTokenVerifier({ jwksUrl: issuer.jwksUrl, issuer: 'sigauth', audience: 'sigauth', ...options });

  let warnings: unknown[];

  beforeEach(async () => {
    issuer = await startTestJwksIssuer();
    warnings = [];
    Logger.overrideLogger({ log: () => undefined, error: () => undefined, warn: (message: unknown) => warnings.push(message) });
  });
  afterEach(() => issuer.close());

  it('accepts a sigauth access token and returns exactly its claims', async () => {
    const claims = issuer.accessClaims({ role: 'ROLE_ADMIN', extra: 'not copied' });
    const principal = await verifier().verify(await issuer.mint(claims));
    const { extra: _extra, ...expected } = claims;
    expect(principal).toEqual(expected);
  });

  it('fetches the key set once and then verifies from the cache', async () => {
    const v = verifier();
    for (let i = 0; i < 5; i++) await v.verify(await issuer.mint());
    expect(issuer.fetches).toBe(1);
  });

  it('refuses a refresh token and a token without token_use, even typed at+jwt', async () => {
    const { acc: _acc, role: _role, ...refresh } = issuer.accessClaims({ token_use: 'refresh', acjti: 'x' });
    expect((await rejection(verifier().verify(await issuer.mint(refresh)))).reason).toBe('not_an_access_token');
    const { token_use: _use, ...untyped } = issuer.accessClaims();
    expect((await rejection(verifier().verify(await issuer.mint(untyped)))).reason).toBe('not_an_access_token');
  });

  it('refuses an expired token, and accepts it within the configured clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await issuer.mint(issuer.accessClaims({ iat: now - 310, exp: now - 10 }));
    const error = await rejection(verifier().verify(token));
    expect(error).toMatchObject({ reason: 'expired', message: 'token has expired' });
    await expect(verifier({ clockToleranceSeconds: 30 }).verify(token)).resolves.toMatchObject({ sub: 'alice@example.org' });
  });

  it('refuses a wrong issuer or audience; a list of audiences accepts any of them', async () => {
    expect(await rejection(verifier().verify(await issuer.mint(issuer.accessClaims({ iss: 'evil' }))))).toMatchObject({ reason: 'invalid', message: 'token iss claim is not accepted' });
    expect(await rejection(verifier().verify(await issuer.mint(issuer.accessClaims({ aud: 'billing' }))))).toMatchObject({ reason: 'invalid', message: 'token aud claim is not accepted' });
    await expect(verifier({ audience: ['billing', 'sigauth'] }).verify(await issuer.mint())).resolves.toMatchObject({ aud: 'sigauth' });
    await rejection(verifier({ audience: 'billing' }).verify(await issuer.mint()));
  });

  it('refuses tokens that lack a claim sigauth always sets, or carry an unknown role', async () => {
    for (const claim of ['acc', 'sub', 'sid', 'jti', 'iat', 'exp', 'role']) {
      const { [claim]: _dropped, ...claims } = issuer.accessClaims();
      await rejection(verifier().verify(await issuer.mint(claims)));
    }
    await rejection(verifier().verify(await issuer.mint(issuer.accessClaims({ role: 'ROLE_ROOT' }))));
    await rejection(verifier().verify(await issuer.mint(issuer.accessClaims({ client_id: '' }))));
  });

  it('takes only tokens typed at+jwt (RFC 9068), so a refresh token (typ JWT) never passes for an access token', async () => {
    const untyped = await issuer.mint(issuer.accessClaims(), { header: { typ: 'JWT' } });
    expect(await rejection(verifier().verify(untyped))).toMatchObject({ reason: 'not_an_access_token', message: 'an access token (typ at+jwt) is required' });
    const { acc: _acc, role: _role, ...refresh } = issuer.accessClaims({ token_use: 'refresh', acjti: 'x' });
    const refreshToken = await issuer.mint(refresh, { header: { typ: 'JWT' } });
    expect((await rejection(verifier().verify(refreshToken))).reason).toBe('not_an_access_token');
    const noTyp = await issuer.mint(issuer.accessClaims(), { header: { typ: undefined } });
    expect((await rejection(verifier().verify(noTyp))).reason).toBe('not_an_access_token');
  });

  it('with acceptUntypedAccessTokens (a rolling upgrade), also takes the access tokens of sigauth before 0.2, and still no refresh token', async () => {
    const legacy = verifier({ acceptUntypedAccessTokens: true });
    const { client_id: _client, ...old } = issuer.accessClaims();
    await expect(legacy.verify(await issuer.mint(old, { header: { typ: 'JWT' } }))).resolves.toMatchObject({ sub: 'alice@example.org', token_use: 'access' });
    await expect(legacy.verify(await issuer.mint())).resolves.toMatchObject({ client_id: 'fib' });
    const { acc: _acc, role: _role, ...refresh } = issuer.accessClaims({ token_use: 'refresh', acjti: 'x' });
    expect((await rejection(legacy.verify(await issuer.mint(refresh, { header: { typ: 'JWT' } })))).reason).toBe('not_an_access_token');
    expect((await rejection(legacy.verify(await issuer.mint(old, { header: { typ: 'jwt+other' } })))).reason).toBe('not_an_access_token');
  });

  it('refuses a token signed by another Ed25519 key under the same kid, and a tampered payload', async () => {
    const impostor = await newSigningKey(issuer.key.kid);
    const forged = await issuer.mint(issuer.accessClaims(), { key: impostor });
    expect(await rejection(verifier().verify(forged))).toMatchObject({ reason: 'invalid', message: 'token is malformed or its signature does not verify' });

    const [header, , signature] = (await issuer.mint()).split('.');
    const payload = Buffer.from(JSON.stringify(issuer.accessClaims({ role: 'ROLE_ADMIN' }))).toString('base64url');
    await rejection(verifier().verify(`${header}.${payload}.${signature}`));
  });

  describe('refuses every algorithm but EdDSA', () => {
    it('alg none (an unsecured JWT)', async () => {
      const token = new UnsecuredJWT(issuer.accessClaims()).encode();
      await rejection(verifier().verify(token));
    });

    it('HS256 keyed with the public key (algorithm confusion)', async () => {
      const secret = Buffer.from(issuer.key.jwk.x!, 'base64url');
      const token = await new SignJWT(issuer.accessClaims()).setProtectedHeader({ typ: 'JWT', alg: 'HS256', kid: issuer.key.kid }).sign(secret);
      await rejection(verifier().verify(token));
    });

    it('Ed25519 (the fully-specified name) with the right key', async () => {
      const token = await new SignJWT(issuer.accessClaims()).setProtectedHeader({ typ: 'JWT', alg: 'Ed25519', kid: issuer.key.kid }).sign(issuer.key.privateKey);
      await rejection(verifier().verify(token));
    });

    it('ES256 with a key published in the key set', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      issuer.published = [...issuer.published, { ...(await exportJWK(publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' }];
      const token = await new SignJWT(issuer.accessClaims()).setProtectedHeader({ typ: 'JWT', alg: 'ES256', kid: 'ec' }).sign(privateKey);
      await rejection(verifier().verify(token));
    });
  });

  it('refuses malformed and oversized tokens as invalid, not as an outage', async () => {
    const header = Buffer.from('{"alg":"EdDSA","typ":"JWT","kid":"x"}').toString('base64url');
    for (const token of ['', 'garbage', 'a.b.c', '..', `${header}.!!!.sig`, `${header}.e30.`, 'x'.repeat(9000)]) {
      expect((await rejection(verifier().verify(token))).reason).toBe('invalid');
    }
  });

  it('refetches the key set for an unknown kid at most once per cooldown, so a rotation is picked up', async () => {
    const v = verifier({ jwksCooldownSeconds: 0.2 });
    await v.verify(await issuer.mint());
    expect(issuer.fetches).toBe(1);

    const next = await newSigningKey();
    const unknown = await issuer.mint(issuer.accessClaims(), { key: next });
    // The kid is not in the set; a fetch within the cooldown is not attempted.
    await rejection(v.verify(unknown));
    await rejection(v.verify(unknown));
    expect(issuer.fetches).toBe(1);

    // sigauth rotates: the new key is published beside the retired one.
    issuer.published = [next.jwk, issuer.key.jwk];
    await sleep(250);
    await expect(v.verify(unknown)).resolves.toMatchObject({ sub: 'alice@example.org' });
    await expect(v.verify(await issuer.mint())).resolves.toMatchObject({ sub: 'alice@example.org' });
    expect(issuer.fetches).toBe(2);

    // Forged kids cannot make the verifier hammer sigauth: twenty of them within a cooldown fetch nothing.
    for (let i = 0; i < 20; i++) await rejection(v.verify(await issuer.mint(issuer.accessClaims(), { key: await newSigningKey() })));
    expect(issuer.fetches).toBeLessThanOrEqual(3);
  });

  it('reports an unreachable or broken key set as unavailable, not as a bad token', async () => {
    issuer.status = 500;
    await expect(verifier().verify(await issuer.mint())).rejects.toBeInstanceOf(SigauthUnavailableError);
    issuer.status = 200;
    issuer.published = 'not a key set' as never;
    await expect(verifier().verify(await issuer.mint())).rejects.toBeInstanceOf(SigauthUnavailableError);
    const token = await issuer.mint();
    await issuer.close();
    await expect(verifier().verify(token)).rejects.toBeInstanceOf(SigauthUnavailableError);
    issuer = await startTestJwksIssuer();
    expect(warnings).toEqual([
      "sigauth's key set is unavailable: Expected 200 OK from the JSON Web Key Set HTTP response",
      "sigauth's key set is unavailable: JSON Web Key Set malformed",
      "sigauth's key set is unavailable: fetch failed",
    ]);
  });

  it('keeps verifying from the cached key set while sigauth is down, until the cache reaches its maximum age', async () => {
    const v = verifier({ jwksCacheMaxAgeSeconds: 0.3 });
    await v.verify(await issuer.mint());
    const token = await issuer.mint();
    await issuer.close();
    await expect(v.verify(token)).resolves.toMatchObject({ sub: 'alice@example.org' });
    await sleep(350);
    await expect(v.verify(token)).rejects.toBeInstanceOf(SigauthUnavailableError);
    issuer = await startTestJwksIssuer();
  });

  it('refuses options that cannot work, naming the option', () => {
    const good: SigauthGuardOptions = { jwksUrl: 'https://auth.example.org/.well-known/jwks.json', issuer: 'sigauth', audience: 'sigauth' };
    expect(() => new SigauthTokenVerifier(good)).not.toThrow();
    expect(() => new SigauthTokenVerifier({ ...good, jwksUrl: 'auth.example.org' })).toThrow('jwksUrl must be an http(s) URL');
    expect(() => new SigauthTokenVerifier({ ...good, jwksUrl: 'file:///etc/passwd' })).toThrow('jwksUrl must be an http(s) URL');
    expect(() => new SigauthTokenVerifier({ ...good, issuer: '' })).toThrow('issuer must be a non-empty string');
    expect(() => new SigauthTokenVerifier({ ...good, audience: [] })).toThrow('audience must be');
    expect(() => new SigauthTokenVerifier({ ...good, clockToleranceSeconds: -1 })).toThrow('clockToleranceSeconds must be a non-negative number');
    expect(() => new SigauthTokenVerifier({ ...good, introspection: { url: 'nope', token: 't' } })).toThrow('introspection.url must be an http(s) URL');
    expect(() => new SigauthTokenVerifier({ ...good, introspection: { url: 'https://auth.example.org/i', token: '' } })).toThrow('introspection.token must be');
  });

  describe('with introspection', () => {
    let introspection: TestIntrospection;
    const withIntrospection = (token: string | (() => Promise<string>) = 'caller-token', timeoutMs?: number) =>
      verifier({ introspection: { url: introspection.url, token, timeoutMs } });

    beforeEach(async () => {
      introspection = await startTestIntrospection();
    });
    afterEach(() => introspection.close());

    it('accepts an active token, sending it with the caller token as Bearer', async () => {
      const token = await issuer.mint();
      await expect(withIntrospection().verify(token)).resolves.toMatchObject({ sub: 'alice@example.org' });
      expect(introspection.calls).toEqual([{ authorization: 'Bearer caller-token', token }]);
    });

    it('calls a caller-token function for every introspection', async () => {
      let n = 0;
      const v = withIntrospection(async () => `caller-${++n}`);
      await v.verify(await issuer.mint());
      await v.verify(await issuer.mint());
      expect(introspection.calls.map((c) => c.authorization)).toEqual(['Bearer caller-1', 'Bearer caller-2']);
    });

    it('refuses a token sigauth says is no longer active, or that is not an access token', async () => {
      introspection.answer = () => ({ status: 200, body: { active: false } });
      expect(await rejection(withIntrospection().verify(await issuer.mint()))).toMatchObject({ reason: 'revoked', message: 'token is no longer active' });
      introspection.answer = () => ({ status: 200, body: { active: true, token_use: 'refresh' } });
      expect((await rejection(withIntrospection().verify(await issuer.mint()))).reason).toBe('revoked');
    });

    it('does not introspect a token that fails offline verification', async () => {
      await rejection(withIntrospection().verify(await issuer.mint(issuer.accessClaims(), { key: await newSigningKey(issuer.key.kid) })));
      expect(introspection.calls).toEqual([]);
    });

    it('fails closed as unavailable when introspection refuses the caller, times out, answers garbage or is down', async () => {
      const token = await issuer.mint();
      introspection.answer = () => ({ status: 403, body: { status: { code: 403 } } });
      await expect(withIntrospection().verify(token)).rejects.toThrow(new SigauthUnavailableError('token introspection answered HTTP 403'));
      introspection.answer = () => ({ status: 200, body: 'not json' });
      await expect(withIntrospection().verify(token)).rejects.toBeInstanceOf(SigauthUnavailableError);
      introspection.answer = () => ({ status: 200, body: { valid: true } });
      await expect(withIntrospection().verify(token)).rejects.toBeInstanceOf(SigauthUnavailableError);
      introspection.answer = () => ({ status: 200, body: { active: true, token_use: 'access' }, delayMs: 500 });
      await expect(withIntrospection('caller-token', 100).verify(token)).rejects.toBeInstanceOf(SigauthUnavailableError);
      await expect(withIntrospection(async () => Promise.reject(new Error('vault sealed'))).verify(token)).rejects.toThrow('the introspection caller token could not be obtained: vault sealed');
      await introspection.close();
      await expect(withIntrospection().verify(token)).rejects.toBeInstanceOf(SigauthUnavailableError);
      introspection = await startTestIntrospection();
      expect(warnings).toHaveLength(6);
      // Outages are logged for the operator; the tokens are not.
      for (const message of warnings) expect(String(message)).not.toContain(token);
    });
  });
});
