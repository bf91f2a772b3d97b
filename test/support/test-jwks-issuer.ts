import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** An Ed25519 signing key with the kid it is published under. */
export interface TestSigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function newSigningKey(kid: string = randomUUID()): Promise<TestSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'EdDSA' } };
}

/**
 * A stand-in for sigauth's key set in unit tests: serves `{ keys }` from node:http, counts fetches,
 * and mints access tokens shaped like sigauth's (`typ: at+jwt`).
 */
export interface TestJwksIssuer {
  jwksUrl: string;
  issuer: string;
  audience: string;
  key: TestSigningKey;
  /** The JWKs served; replace to simulate a rotation. */
  published: JWK[];
  /** The status the key set is answered with (200 by default). */
  status: number;
  fetches: number;
  accessClaims(overrides?: JWTPayload): JWTPayload;
  mint(claims?: JWTPayload, options?: { key?: TestSigningKey; header?: Record<string, unknown> }): Promise<string>;
  close(): Promise<void>;
}

export async function startTestJwksIssuer(): Promise<TestJwksIssuer> {
  const key = await newSigningKey();
  const issuer: TestJwksIssuer = {
    jwksUrl: '',
    issuer: 'sigauth',
    audience: 'sigauth',
    key,
    published: [key.jwk],
    status: 200,
    fetches: 0,
    accessClaims: (overrides = {}) => {
      const iat = Math.floor(Date.now() / 1000);
      return {
        token_use: 'access', acc: 'alice@wonderland', sub: 'alice@example.org', role: 'ROLE_PEER', client_id: 'fib', sid: randomUUID(),
        iss: issuer.issuer, aud: issuer.audience, iat, exp: iat + 300, jti: randomUUID(), ...overrides,
      };
    },
    mint: (claims = issuer.accessClaims(), options = {}) => {
      const signer = options.key ?? issuer.key;
      return new SignJWT(claims).setProtectedHeader({ typ: 'at+jwt', alg: 'EdDSA', kid: signer.kid, ...options.header }).sign(signer.privateKey);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    issuer.fetches += 1;
    res.writeHead(issuer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: issuer.published }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer.jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return issuer;
}

/** A tiny introspection endpoint: answers what `answer` returns and records what it was asked. */
export interface TestIntrospection {
  url: string;
  calls: { authorization: string | undefined; token: unknown }[];
  answer: (token: unknown) => { status: number; body: unknown; delayMs?: number };
  close(): Promise<void>;
}

export async function startTestIntrospection(): Promise<TestIntrospection> {
  const introspection: TestIntrospection = {
    url: '',
    calls: [],
    answer: () => ({ status: 200, body: { active: true, token_use: 'access' } }),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const token = (JSON.parse(raw) as { token?: unknown }).token;
      introspection.calls.push({ authorization: req.headers.authorization, token });
      const { status, body, delayMs = 0 } = introspection.answer(token);
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  introspection.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/api/v1/token/introspect`;
  return introspection;
}
