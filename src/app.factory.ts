import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { REDIS_ERROR_SCHEMA } from './apis/service-account/service-account.openapi.js';
import { OAUTH_ERROR_SCHEMA } from './apis/oauth/oauth.openapi.js';
import { RequestError } from './common/domain-error.js';
import { createLogger, PinoNestLogger } from './common/logger.js';
import { ENVELOPE_ERROR_SCHEMA, packageVersion, SECURITY, serveSwaggerUi } from './http/openapi.js';
import { loadSwagger } from './http/openapi-decorators.js';
import { limitBodies, parseFormBody, parseJsonBody } from './http/request-body.js';
import { requestContext } from './http/request-context.js';
import type { RenderedError } from './http/status-table.js';
import { StatusTableRegistry } from './http/status-table-registry.js';
import { MetricsService } from './health/metrics.service.js';
import type { AppConfig, TrustProxy } from './config/app-config.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

const API_DESCRIPTION = [
  'Authentication by signature: Ed25519 email signatures (the FIB session API), Ethereum wallets (EIP-191) and service-account passwords, ',
  'answered with short-lived EdDSA JSON Web Tokens that any service can verify offline against `/.well-known/jwks.json`.',
  '\n\nThe FIB, Ethereum, admin and operations APIs answer in the envelope `{ status: { code, name, message }, data }`, `status.code` equal to the HTTP status; ',
  'the service-account API answers errors as `{ error_code, message }`, the OAuth endpoints as `{ error, error_description }` (RFC 6749). Each operation lists its status table: one response per HTTP status, ',
  'one named example per `status.name` (or `error_code`). Credential endpoints answer 429 with `Retry-After` when a rate limit trips.',
].join('');

/**
 * The OpenAPI document, from the controllers' decorators: the JSON at /docs-json, the UI at /docs.
 * Built on its first request, not at boot: @nestjs/swagger is loaded then (src/http/openapi-decorators.ts),
 * scanning every route's metadata is work no worker's start needs, and the document stays out of
 * the heap of a worker nobody asks for it.
 */
function serveOpenApi(app: NestFastifyApplication): void {
  const build = async (): Promise<string> => {
    const { DocumentBuilder, SwaggerModule } = await loadSwagger();
    const config = new DocumentBuilder()
      .setTitle('sigauth')
      .setDescription(API_DESCRIPTION)
      .setVersion(packageVersion())
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Authorization: Bearer <token>' }, SECURITY.bearer)
      .addBasicAuth({ type: 'http', scheme: 'basic', description: 'Authorization: Basic base64(email:password), the service-account login' }, SECURITY.basic)
      .addApiKey({ type: 'apiKey', in: 'header', name: 'Authorization', description: 'The FIB style: Authorization: <token>, without a scheme' }, SECURITY.token)
      .build();
    const schemas = { EnvelopeError: ENVELOPE_ERROR_SCHEMA, RedisError: REDIS_ERROR_SCHEMA, OAuthError: OAUTH_ERROR_SCHEMA };
    return JSON.stringify(SwaggerModule.createDocument(app, { ...config, components: { ...config.components, schemas } }));
  };
  let document: Promise<string> | undefined;
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get('/docs-json', async (_request, reply) => {
    // Built once, from decorators that do not change: a build that failed would fail again (500).
    document ??= build();
    return reply.type('application/json; charset=utf-8').send(await document);
  });
  serveSwaggerUi(fastify, 'docs', 'docs-json', 'sigauth API');
}

/**
 * TRUST_PROXY for Fastify. A hop count becomes a function that trusts the nearest N hops (as
 * Express reads a number): Fastify fails closed on a number, since a count cannot tell the proxy
 * from a client that reaches the service directly, so a count is for a service that only its
 * proxies can reach. Addresses and CIDRs are checked against each hop.
 */
function trustedProxies(trust: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

/** Builds the HTTP application exactly as production runs it; main.ts and the e2e tests both call this. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const logger = createLogger(config.LOG_LEVEL);
  // Errors met before Nest routes a request are answered through the table of the controller
  // whose path the request is under; the tables are known once the application is built.
  const built: { tables?: StatusTableRegistry } = {};
  const renderEarly = (error: unknown, url: string, requestId: string): RenderedError => built.tables!.render(error, url, requestId);
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A caller's request id is kept when it is a plain token, so logs can be joined across services.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // During a graceful shutdown, requests already on open connections are served, not refused
    // with Fastify's own 503 (the listener is closed, so no new connection arrives).
    return503OnClosing: false,
    // Errors Fastify meets before routing (a malformed percent-escape in the path) in the API's shape.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      const rendered = renderEarly(error, request.url, request.id);
      void reply.status(rendered.status).headers(rendered.headers).send(rendered.body);
    },
    // Node's HTTP parser refuses a request before Fastify sees it (headers over 16 KiB, an unknown
    // method): answer in the shape of the API its path names, and say the connection is closing.
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const raw = (error as { rawPacket?: unknown }).rawPacket;
      const path = /^\S+ (\S+)/.exec(Buffer.isBuffer(raw) ? raw.subarray(0, 2048).toString('latin1') : '')?.[1] ?? '/';
      const refused =
        (error as { code?: string }).code === 'HPE_HEADER_OVERFLOW'
          ? new RequestError('HEADERS_TOO_LARGE', 'request headers are larger than 16 KiB')
          : new RequestError('ARGUMENT_NOT_VALID', 'the request could not be parsed');
      const rendered = renderEarly(refused, path, 'none');
      const body = JSON.stringify(rendered.body);
      const head = Object.entries({ ...rendered.headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.end(`HTTP/1.1 ${rendered.status} ${STATUS_CODES[rendered.status] ?? ''}\r\n${head.join('')}\r\n${body}`);
    },
    loggerInstance: logger,
    trustProxy: trustedProxies(config.TRUST_PROXY),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: new PinoNestLogger(logger.child({ component: 'nest' })),
  });
  built.tables = app.get(StatusTableRegistry);
  const fastify = app.getHttpAdapter().getInstance();
  // Bodies are measured and parsed here, before any guard, pipe or rate limit: cheaply, and alike on every route.
  limitBodies(fastify, config.LOGIN_BODY_LIMIT_BYTES);
  app.useBodyParser('application/json', {}, (_request, body, done) => done(null, parseJsonBody(body)));
  app.useBodyParser('application/x-www-form-urlencoded', {}, (_request, body, done) => done(null, parseFormBody(body)));
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    requestContext.run({ requestId: request.id, ip: request.ip, userAgent: request.headers['user-agent']?.slice(0, 512) ?? null }, done);
  });
  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.observe(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  serveOpenApi(app);
  return app;
}
