import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

/**
 * Every route's status table (the controllers' tables in src/http and src/apis/*),
 * as the HTTP statuses its OpenAPI operation must list. A route the app registers without a row here
 * fails the test: document it in its controller, then add its row.
 */
const STATUS_TABLES: Record<string, number[]> = {
  // FIB session API (section 3)
  'POST /auth/api/v1/authentication-management/session': [200, 401, 404, 413, 422, 429, 500],
  'PATCH /auth/api/v1/authentication-management/session': [200, 401, 413, 422, 429, 500],
  'POST /auth/api/v1/authentication-management/challenge': [200, 404, 413, 422, 429, 500],
  'POST /auth/api/v1/authentication-management/logout': [200, 401, 413, 422, 500],
  // Tokens (section 4)
  'GET /.well-known/jwks.json': [200, 500],
  'POST /auth/api/v1/token/introspect': [200, 401, 403, 413, 422, 500],
  'GET /.well-known/oauth-authorization-server': [200, 500],
  'GET /.well-known/oauth-authorization-server/{path}': [200, 404, 500],
  'POST /oauth/token': [200, 400, 401, 413, 429, 500],
  'POST /oauth/revoke': [200, 400, 401, 413, 429, 500],
  // Ethereum wallet API (section 5)
  'POST /api/auth/login': [200, 401, 404, 413, 422, 429, 500, 503],
  'POST /api/auth/refresh': [200, 401, 413, 422, 429, 500],
  'POST /api/auth/siwe/nonce': [200, 413, 429, 500],
  'POST /api/auth/siwe/login': [200, 401, 404, 413, 422, 429, 500, 503],
  // Service-account API (section 6)
  'POST /v1/users/authorize': [200, 400, 401, 413, 429, 500],
  'POST /v1/users/refresh_jwt': [200, 400, 401, 413, 429, 500],
  // Admin API (section 7)
  'POST /auth/api/v1/admin/users': [201, 401, 403, 409, 413, 422, 500],
  'GET /auth/api/v1/admin/users': [200, 401, 403, 422, 500],
  'GET /auth/api/v1/admin/users/{id}': [200, 401, 403, 404, 500],
  'POST /auth/api/v1/admin/users/{id}/disable': [200, 401, 403, 404, 413, 500],
  'POST /auth/api/v1/admin/users/{id}/enable': [200, 401, 403, 404, 413, 500],
  'PUT /auth/api/v1/admin/users/{id}/password': [200, 401, 403, 404, 413, 422, 500],
  'POST /auth/api/v1/admin/users/{id}/keys': [201, 401, 403, 404, 409, 413, 422, 500],
  'DELETE /auth/api/v1/admin/users/{id}/keys/{publicKeyHex}': [200, 401, 403, 404, 500],
  'POST /auth/api/v1/admin/users/{id}/wallets': [201, 401, 403, 404, 409, 413, 422, 500],
  'DELETE /auth/api/v1/admin/users/{id}/wallets/{address}': [200, 401, 403, 404, 500],
  'GET /auth/api/v1/admin/users/{id}/sessions': [200, 401, 403, 404, 500],
  'DELETE /auth/api/v1/admin/sessions/{id}': [200, 401, 403, 404, 500],
  'GET /auth/api/v1/admin/audit': [200, 401, 403, 422, 500],
  'GET /auth/api/v1/me/sessions': [200, 401, 500],
  'DELETE /auth/api/v1/me/sessions/{id}': [200, 401, 404, 500],
  // Operations (section 8)
  'GET /health/live': [200, 500],
  'GET /health/ready': [200, 500, 503],
  'GET /metrics': [200, 500],
};

/** Routes whose success is not JSON: Prometheus text. */
const TEXT_ROUTES = new Set(['GET /metrics']);

/** The docs themselves: the UI, its assets and the JSON document. */
const isDocsRoute = (path: string): boolean => path === '/docs' || path.startsWith('/docs/') || path === '/docs-json';

/**
 * Every method and path Fastify serves, read off `printRoutes({ commonPrefix: false })`: a tree whose
 * lines are `<indent>├── <segment> (<METHODS>)`, four characters of indent per level, each segment
 * continuing its parent's path. HEAD routes that Fastify adds beside each GET are left out.
 */
function registeredRoutes(tree: string): string[] {
  const parents: string[] = [];
  const routes = new Set<string>();
  for (const line of tree.split('\n').filter((l) => l.trim() !== '')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) throw new Error(`unexpected printRoutes line: ${JSON.stringify(line)}`);
    const depth = match[1]!.length / 4;
    const path = (depth > 0 ? parents[depth - 1]! : '') + match[2]!;
    parents.length = depth;
    parents.push(path);
    for (const method of match[3]?.split(', ') ?? []) routes.add(`${method} ${path}`);
  }
  return [...routes]
    .filter((route) => !(route.startsWith('HEAD ') && routes.has(`GET ${route.slice(5)}`)))
    .filter((route) => !isDocsRoute(route.slice(route.indexOf(' ') + 1)))
    .map((route) => route.replace(/:([A-Za-z0-9_]+)/g, '{$1}'))
    // A wildcard, which the tree prints without the "/" before it, is the {path} of the document.
    .map((route) => route.replace(/\/?\*$/, '/{path}'))
    .sort();
}

/** The error body the exception filter renders for this route: `{ error_code, message }` on the service-account API, the envelope elsewhere. */
function isErrorBody(route: string, status: number, name: string, value: unknown): boolean {
  const body = value as { error_code?: unknown; message?: unknown; status?: { code?: unknown; name?: unknown; message?: unknown }; data?: unknown };
  if (route.includes(' /oauth/')) return Object.keys(body).length === 2 && (body as { error?: unknown }).error === name && typeof (body as { error_description?: unknown }).error_description === 'string';
  if (route.includes(' /v1/users/')) return Object.keys(body).length === 2 && body.error_code === name && typeof body.message === 'string';
  return Object.keys(body).length === 2 && body.status?.code === status && body.status.name === name && typeof body.status.message === 'string' && body.data === null;
}

interface Example {
  summary?: string;
  value: unknown;
}
interface MediaType {
  example?: unknown;
  examples?: Record<string, Example>;
}
interface Operation {
  responses: Record<string, { description: string; content?: Record<string, MediaType> }>;
  security?: Record<string, string[]>[];
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }> };
}

describe('OpenAPI', () => {
  let storage: TestStorage;
  let service: TestApp;
  let doc: OpenApiDocument;
  let operations: Map<string, Operation>;

  beforeAll(async () => {
    storage = await createTestStorage('openapi');
    service = await startTestApp(storage.env);
    const res = await service.http().get('/docs-json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    doc = res.body as OpenApiDocument;
    operations = new Map(Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as const)));
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  it('GET /docs-json is an OpenAPI 3 document with the three security schemes', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info).toMatchObject({ title: 'sigauth', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(doc.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      basic: { type: 'http', scheme: 'basic' },
      token: { type: 'apiKey', in: 'header', name: 'Authorization' },
    });
  });

  it('lists every route the app registers, and no other', () => {
    const tree = service.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
    const routes = registeredRoutes(tree);
    // The parse found the tree, not an empty or reformatted one.
    expect(routes).toEqual(expect.arrayContaining(['GET /health/live', 'POST /auth/api/v1/authentication-management/session', 'DELETE /auth/api/v1/me/sessions/{id}']));
    expect([...operations.keys()].sort()).toEqual(routes);
  });

  it("documents each route's status table", () => {
    const documented = Object.fromEntries([...operations].map(([route, op]) => [route, Object.keys(op.responses).map(Number)]));
    expect(documented).toEqual(STATUS_TABLES);
  });

  it('gives every response an example: the success body, and each error in its API shape with its own status', () => {
    const problems: string[] = [];
    for (const [route, op] of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        const where = `${route} ${status}`;
        const json = response.content?.[TEXT_ROUTES.has(route) && Number(status) < 400 ? 'text/plain' : 'application/json'];
        if (Number(status) < 400) {
          if (!response.description) problems.push(`${where}: no description`);
          if (json?.example === undefined && json?.examples === undefined) problems.push(`${where}: no example`);
          continue;
        }
        const examples = Object.entries(json?.examples ?? {});
        if (examples.length === 0) problems.push(`${where}: no named example`);
        for (const [name, { value }] of examples) {
          if (!isErrorBody(route, Number(status), name, value)) problems.push(`${where} ${name}: ${JSON.stringify(value)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('names every row of a shared status, in the order of the status table', () => {
    const login = operations.get('POST /auth/api/v1/authentication-management/session')!;
    const names = (status: number): string[] => Object.keys(login.responses[status]!.content!['application/json']!.examples!);
    expect(names(401)).toEqual(['InvalidSignature', 'ChallengeRequired', 'InvalidChallenge', 'InvalidDpopProof']);
    expect(names(404)).toEqual(['UserNotFound']);
    expect(names(422)).toEqual(['ArgumentNotValid', 'SignatureDecodeError', 'InvalidPublicKey']);
    expect(names(429)).toEqual(['TooManyRequests']);
    const admin = operations.get('GET /auth/api/v1/admin/users')!;
    expect(Object.keys(admin.responses[401]!.content!['application/json']!.examples!)).toEqual(['Unauthorized', 'InvalidToken']);
  });

  it('says how each protected route authenticates', () => {
    const schemes = (route: string): string[] => (operations.get(route)!.security ?? []).flatMap((s) => Object.keys(s)).sort();
    expect(schemes('POST /v1/users/authorize')).toEqual(['basic']);
    expect(schemes('PATCH /auth/api/v1/authentication-management/session')).toEqual(['bearer', 'token']);
    expect(schemes('GET /auth/api/v1/admin/users')).toEqual(['bearer', 'token']);
    expect(schemes('POST /auth/api/v1/authentication-management/session')).toEqual([]);
  });

  it('GET /docs serves the Swagger UI page', async () => {
    const res = await service.http().get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('swagger-ui');
    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-ui.css', 'swagger-ui-init.js']) {
      expect(res.text).toContain(`./docs/${asset}`);
      const file = await service.http().get(`/docs/${asset}`);
      expect([asset, file.status]).toEqual([asset, 200]);
    }
    const init = await service.http().get('/docs/swagger-ui-init.js');
    expect(init.text).toContain('"./docs-json"');
  });
});
