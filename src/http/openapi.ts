import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyDecorators, type Type } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { envelope } from './envelope.js';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiResponse, ApiSecurity, deferred, schemaRef, type AnyDecorator, type DecoratorCall, type ReferenceObject, type SchemaObject } from './openapi-decorators.js';

/**
 * OpenAPI helpers. Each route documents every row of its status table with one
 * decorator per row, and every example is the exact body its controller's status table renders
 * (src/http/status-table.ts, the tables in src/http and src/apis/*). Rows that share
 * a status (the three 422s of the FIB login) become one response with a named example each, in the
 * order they are written.
 */

export type { AnyDecorator } from './openapi-decorators.js';

/** Security scheme names, registered on the document in app.factory.ts. */
export const SECURITY = {
  /** `Authorization: Bearer <access token>`. */
  bearer: 'bearer',
  /** `Authorization: Basic base64(email:password)`, the service-account login. */
  basic: 'basic',
  /** The FIB API's bare `Authorization: <token>`. */
  token: 'token',
} as const;

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** A schema read off an example body: types, formats and required keys; `null` reads as a nullable value. */
export function schemaOf(example: unknown): SchemaObject {
  if (example === null || example === undefined) return { nullable: true };
  if (Array.isArray(example)) return { type: 'array', items: example.length > 0 ? schemaOf(example[0]) : {} };
  switch (typeof example) {
    case 'string':
      return ISO_DATE_TIME.test(example) ? { type: 'string', format: 'date-time' } : { type: 'string' };
    case 'number':
      return { type: Number.isInteger(example) ? 'integer' : 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'object': {
      const entries = Object.entries(example as Record<string, unknown>);
      const properties = Object.fromEntries(entries.map(([key, value]) => [key, schemaOf(value)]));
      return entries.length > 0 ? { type: 'object', properties, required: entries.map(([key]) => key) } : { type: 'object' };
    }
  }
  return {};
}

/** A JSON response documented by its example; the schema is read off the example unless given. */
export function ApiJsonResponse(status: number, description: string, example: unknown, schema: SchemaObject = schemaOf(example)): AnyDecorator {
  return ApiResponse({ status, description, schema, example });
}

/**
 * One row of a status table, shown as a named example of its status. Stacked decorators run
 * bottom-up, so the rows already recorded for this status were written below this one: this row
 * goes before them, in the description and in the examples (the first is the one Swagger UI shows).
 */
export function ApiErrorRow(status: number, name: string, when: string, schema: ReferenceObject, body: unknown): AnyDecorator {
  const description = `**${name}**: ${when}`;
  const examples = { [name]: { summary: when, value: body } };
  return deferred(({ ApiResponse: response, DECORATORS }): DecoratorCall => (target, key, descriptor) => {
    const holder: object = descriptor ? (descriptor.value as object) : target;
    const { [status]: below, ...others } = (Reflect.getMetadata(DECORATORS.API_RESPONSE, holder) ?? {}) as Record<string, { description: string; examples: object } | undefined>;
    Reflect.defineMetadata(DECORATORS.API_RESPONSE, others, holder);
    const merged = below ? { description: `${description}\n\n${below.description}`, examples: { ...examples, ...below.examples } } : { description, examples };
    return (response({ status, schema, ...merged }) as DecoratorCall)(target, key, descriptor);
  });
}

/** Composes decorators the way stacking them would apply them: the last first. */
export function stacked(...decorators: AnyDecorator[]): AnyDecorator {
  return applyDecorators(...decorators.reverse()) as AnyDecorator;
}

/** The envelope APIs' error body, registered once in the document's components (app.factory.ts) and referenced by every error row. */
export const ENVELOPE_ERROR_SCHEMA: SchemaObject = {
  ...schemaOf(envelope(401, 'InvalidSignature', 'Signature is not valid.')),
  description: 'Every error of the envelope APIs: `status.code` is the HTTP status, `status.name` the row of the status table, `data` is null.',
};
const ENVELOPE_ERROR_REF: ReferenceObject = schemaRef('EnvelopeError');

// ---- The envelope APIs (FIB, Ethereum, introspection, admin, health) ----------------------------

/** A success in the envelope (`status.name` OK, or Created for 201). */
export function ApiEnvelopeOk(message: string, data: unknown, { status = 200, description = message }: { status?: 200 | 201; description?: string } = {}): AnyDecorator {
  return ApiJsonResponse(status, description, envelope(status, status === 201 ? 'Created' : 'OK', message, data));
}

/** One row of an envelope status table: its HTTP status, `status.name`, an example message and when it happens. */
export function ApiEnvelopeError(status: number, name: string, message: string, when: string = message): AnyDecorator {
  return ApiErrorRow(status, name, when, ENVELOPE_ERROR_REF, envelope(status, name, message));
}

/** One row of an API's status table in its own error shape: status, name, an example message, and when. */
export type ErrorRowWriter = (status: number, name: string, message: string, when: string) => AnyDecorator;

/**
 * The rows of the limits and of the unexpected, which every API answers in its own shape under its
 * own names: 413 where a body is read, 429 on rate-limited routes, 500 always.
 */
export function limitAndServerErrorRows(row: ErrorRowWriter, names: { tooLarge?: string; tooMany?: string; internal: string }): AnyDecorator[] {
  return [
    ...(names.tooLarge ? [row(413, names.tooLarge, 'request body is larger than the limit', 'the body is over its limit: LOGIN_BODY_LIMIT_BYTES on login, nonce, token and refresh routes, BODY_LIMIT_BYTES elsewhere')] : []),
    ...(names.tooMany ? [row(429, names.tooMany, 'Too many requests; retry after 42 s.', 'a rate limit tripped, per address or per identity; `Retry-After` (RFC 6585) says when to come back')] : []),
    row(500, names.internal, 'Internal error (request id 3f1c2a9e-5d4b-4c1e-9a7f-2b8d6e0c4a11)', 'anything unexpected, the database unreachable included; only the request id is told'),
  ];
}

/**
 * The rows every envelope route shares: 500 always, 413 where a body is read (any POST or PATCH),
 * 429 on the rate-limited credential endpoints.
 */
export function ApiEnvelopeCommonErrors({ body = false, rateLimited = false }: { body?: boolean; rateLimited?: boolean } = {}): AnyDecorator {
  return stacked(...limitAndServerErrorRows(ApiEnvelopeError, { tooLarge: body ? 'PayloadTooLarge' : undefined, tooMany: rateLimited ? 'TooManyRequests' : undefined, internal: 'InternalError' }));
}

/** What both envelope login APIs (FIB and Ethereum) answer on success. */
/**
 * An envelope route that takes an optional DPoP proof (RFC 9449): with one, the session's tokens
 * are bound to its key (`tokenType: "DPoP"` in the answer, `cnf.jkt` in the access token).
 */
export function ApiDpopProof(what: string): AnyDecorator {
  return stacked(
    ApiHeader({ name: 'DPoP', required: false, description: `A DPoP proof JWT (EdDSA or ES256) for this method and URL: ${what}` }) as AnyDecorator,
    ApiEnvelopeError(401, 'InvalidDpopProof', 'the DPoP proof was already used', 'the DPoP proof is malformed, for another method or URL, too old, signed with another algorithm, without the access token\'s hash, or replayed; with `WWW-Authenticate: DPoP error="invalid_dpop_proof"`'),
  );
}

export const LOGGED_IN = 'User authorization has been successful.';
export const REFRESHED = 'Tokens have been refreshed.';

/**
 * The status table of an envelope login route: the rows the two envelope login APIs share (the 200
 * with its token pair, a signature that does not verify, a principal that is not there, the
 * common rows of a rate-limited credential route), with the API's own `rows` after its
 * InvalidSignature and UserNotFound.
 */
export function ApiEnvelopeLogin(o: { body: Type<unknown>; example: unknown; invalidSignature: string; userNotFound: string }, ...rows: AnyDecorator[]): AnyDecorator {
  return stacked(
    ApiBody({ type: o.body }) as AnyDecorator,
    ApiEnvelopeOk(LOGGED_IN, o.example, { description: 'Logged in: a new session and its token pair' }),
    ApiEnvelopeError(401, 'InvalidSignature', 'Signature is not valid.', o.invalidSignature),
    ApiEnvelopeError(404, 'UserNotFound', 'User not found.', o.userNotFound),
    ...rows,
    ApiEnvelopeCommonErrors({ body: true, rateLimited: true }),
  );
}

/**
 * Routes behind an access token (`Authorization: Bearer <token>`, or the bare token): 401 without
 * one or with a dead one, and 403 when `roles` are required and the token carries another.
 */
export function ApiAccessToken(...roles: string[]): AnyDecorator {
  return stacked(
    ApiBearerAuth(SECURITY.bearer),
    ApiSecurity(SECURITY.token),
    ApiEnvelopeError(401, 'Unauthorized', 'an access token is required (Authorization: Bearer <token>)', 'no access token was sent'),
    ApiEnvelopeError(401, 'InvalidToken', 'session has ended', 'the token is expired, malformed, signed by an unknown key, not an access token, or its session has ended; or DPoP-bound and sent without `Authorization: DPoP` or without a proof by its key (with `WWW-Authenticate: DPoP error="invalid_token"`)'),
    ...(roles.length > 0
      ? [ApiEnvelopeError(403, 'Forbidden', `this route needs one of the roles ${roles.join(', ')}`, `the token's role is not one of ${roles.join(', ')}`)]
      : []),
  );
}

// ---- Examples shared by several routes ----------------------------------------------------------

/** Shaped like the real tokens (EdDSA JWS), shortened. */
export const EXAMPLE_ACCESS_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJhY2MiOiJhbGljZUB3b25kZXJsYW5kIiwic3ViIjoiYWxpY2VAd29uZGVybGFuZC5zcGFjZSJ9.c2lnbmF0dXJl';
export const EXAMPLE_REFRESH_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZUB3b25kZXJsYW5kLnNwYWNlIiwiYWNqdGkiOiIuLi4ifQ.c2lnbmF0dXJl';
export const EXAMPLE_UUID = '0b9d8f52-3c6e-4f0a-9d51-7e2a4c1b8f36';
export const EXAMPLE_TIME = '2026-01-01T00:00:00.000Z';

/** A session (refresh-token family) as the admin and /me routes list it. */
export const EXAMPLE_SESSION = {
  id: EXAMPLE_UUID,
  userId: '5e1f7a3c-8b2d-4c9e-a6f0-1d3b5c7e9a24',
  credentialKind: 'ED25519_KEY',
  credentialId: '9a7c5e3b-1d2f-4a6b-8c0e-2f4d6b8a0c13',
  ip: '203.0.113.7',
  userAgent: 'fib-client/2.3',
  createdAt: EXAMPLE_TIME,
  lastUsedAt: EXAMPLE_TIME,
  expiresAt: '2026-01-02T00:00:00.000Z',
  revokedAt: null,
  revokedReason: null,
};

/** The version in package.json, found upward from this file (src/ in tests, dist/src/ when built). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return (JSON.parse(readFileSync(candidate, 'utf8')) as { version?: string }).version ?? '0.0.0';
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}

// ---- The UI ----------------------------------------------------------------------------------------

/** The files of swagger-ui-dist the page loads; nothing else under the docs path is served. */
const UI_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** swagger-ui-dist, resolved from @nestjs/swagger (whose dependency it is), so a nested install works too. */
function swaggerUiDistDir(): string {
  const fromSwagger = createRequire(createRequire(import.meta.url).resolve('@nestjs/swagger/package.json'));
  return dirname(fromSwagger.resolve('swagger-ui-dist/package.json'));
}

/**
 * Swagger UI at `/<path>`, reading the document from `/<jsonPath>`. SwaggerModule's own UI serves its
 * assets through @fastify/static, whose ESM-only dependencies Jest cannot load on Node 20 (it has no
 * require(esm)), and the e2e suites boot this same application; so the page and its few assets are
 * served here, each file read on its first request and kept. Links are relative: the UI works behind
 * a proxy that mounts the service under a prefix.
 */
export function serveSwaggerUi(fastify: FastifyInstance, path: string, jsonPath: string, title: string): void {
  const dir = swaggerUiDistDir();
  const page = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${title}</title>`,
    `<link rel="stylesheet" href="./${path}/swagger-ui.css">`,
    `<link rel="stylesheet" href="./${path}/index.css">`,
    `<link rel="icon" type="image/png" href="./${path}/favicon-32x32.png" sizes="32x32">`,
    `<link rel="icon" type="image/png" href="./${path}/favicon-16x16.png" sizes="16x16">`,
    '</head>',
    '<body>',
    '<div id="swagger-ui"></div>',
    `<script src="./${path}/swagger-ui-bundle.js"></script>`,
    `<script src="./${path}/swagger-ui-standalone-preset.js"></script>`,
    `<script src="./${path}/swagger-ui-init.js"></script>`,
    '</body>',
    '</html>',
  ].join('\n');
  const init = [
    'window.onload = function () {',
    '  window.ui = SwaggerUIBundle({',
    `    url: ${JSON.stringify(`./${jsonPath}`)},`,
    "    dom_id: '#swagger-ui',",
    '    deepLinking: true,',
    '    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],',
    "    layout: 'StandaloneLayout',",
    '  });',
    '};',
  ].join('\n');
  fastify.get(`/${path}`, (_request, reply) => reply.type('text/html; charset=utf-8').send(page));
  fastify.get(`/${path}/swagger-ui-init.js`, (_request, reply) => reply.type('application/javascript; charset=utf-8').send(init));
  const files = new Map<string, Buffer>();
  for (const [file, type] of Object.entries(UI_ASSETS)) {
    fastify.get(`/${path}/${file}`, async (_request, reply) => {
      let body = files.get(file);
      if (!body) files.set(file, (body = await readFile(join(dir, file))));
      return reply.type(type).header('cache-control', 'public, max-age=86400').send(body);
    });
  }
}
