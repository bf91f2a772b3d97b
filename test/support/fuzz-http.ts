import { Agent, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** One generated HTTP request, exactly as it goes on the wire (the body is sent as given). */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /**
   * Send on a connection of its own, closed after. For requests Node's HTTP parser refuses: the
   * server answers them and destroys the socket without `Connection: close`, so a keep-alive pool
   * would hand the dead socket to the next request.
   */
  ownConnection?: boolean;
}

export interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
}

/** Node refuses these header values before sending; a generated value is made sendable instead. */
const UNSENDABLE_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/g;

export function sendableHeader(value: string): string {
  return value.replace(UNSENDABLE_HEADER_CHAR, '?');
}

function describeBody(body: FuzzRequest['body']): string {
  if (body === undefined) return '(none)';
  const text = typeof body === 'string' ? body : `bytes ${Buffer.from(body).toString('hex')}`;
  return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} chars)` : text;
}

export function describeRequest(req: FuzzRequest): string {
  const headers = Object.entries(req.headers)
    .map(([k, v]) => `${k}: ${v.length > 300 ? `${v.slice(0, 300)}… (${v.length} chars)` : v}`)
    .join('\n  ');
  return `${req.method} ${req.path}\n  ${headers}\n  body: ${describeBody(req.body)}`;
}

export function describeResponse(res: FuzzResponse): string {
  return `HTTP ${res.status} ${res.headers['content-type'] ?? ''}\n  ${res.text.length > 600 ? `${res.text.slice(0, 600)}…` : res.text}`;
}

/**
 * A keep-alive HTTP client for the fuzz and race suites: raw bodies, any header, a deadline per
 * request (a hang is a failure, not a stuck test), and a count of everything it sent.
 */
export class FuzzClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  sent = 0;

  constructor(
    private readonly port: number,
    private readonly timeoutMs = 10_000,
  ) {}

  static of(app: NestFastifyApplication, timeoutMs?: number): FuzzClient {
    return new FuzzClient((app.getHttpServer().address() as AddressInfo).port, timeoutMs);
  }

  send(req: FuzzRequest): Promise<FuzzResponse> {
    this.sent += 1;
    const body = req.body === undefined ? undefined : typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : Buffer.from(req.body);
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = sendableHeader(value);
    // Always framed: Node would send a GET body unframed, and the server would read it as a new request.
    if (body !== undefined) headers['content-length'] = String(body.length);
    return new Promise((resolve, reject) => {
      if (req.ownConnection) headers.connection = 'close';
      const agent = req.ownConnection ? false : this.agent;
      const outgoing = httpRequest({ host: '127.0.0.1', port: this.port, method: req.method, path: req.path, headers, agent }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          clearTimeout(deadline);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, text, json });
        });
      });
      const deadline = setTimeout(() => {
        outgoing.destroy(new Error(`no answer within ${this.timeoutMs} ms (a hang)`));
      }, this.timeoutMs);
      outgoing.on('error', (error) => {
        clearTimeout(deadline);
        reject(error);
      });
      outgoing.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The JSON body helpers: a value is stringified with the Content-Type that says so. */
export function jsonRequest(method: string, path: string, body: unknown, headers: Record<string, string> = {}): FuzzRequest {
  return { method, path, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Which error body an API family answers with. The service's own controllers
 * declare their tables; for a path no route matches, the table of the controller whose path it is
 * under (/v1/users and below: the service-account API), the envelope anywhere else.
 */
export type ErrorShape = 'envelope' | 'redis';

export function errorShapeOf(path: string): ErrorShape {
  const route = path.split('?')[0]!;
  return route === '/v1/users' || route.startsWith('/v1/users/') ? 'redis' : 'envelope';
}

/** Problems with the shape of a response; empty when it is the API's own. */
export function shapeProblems(req: FuzzRequest, res: FuzzResponse): string[] {
  const problems: string[] = [];
  if (req.method === 'HEAD') return problems;
  if (res.status >= 400 || res.status < 200) {
    const type = String(res.headers['content-type'] ?? '');
    if (!type.startsWith('application/json')) problems.push(`error answered with content-type "${type}"`);
    if (errorShapeOf(req.path) === 'redis') {
      if (!isRecord(res.json) || Object.keys(res.json).sort().join(',') !== 'error_code,message') problems.push('error body is not { error_code, message }');
      else if (typeof res.json.error_code !== 'string' || res.json.error_code.length === 0 || typeof res.json.message !== 'string') {
        problems.push('error_code and message must be strings');
      }
    } else {
      problems.push(...envelopeProblems(res, true));
    }
  }
  if (res.status === 429 && res.headers['retry-after'] === undefined) problems.push('429 without Retry-After');
  return problems;
}

/** `{ status: { code, name, message }, data }` with status.code equal to the HTTP status; data null on errors. */
export function envelopeProblems(res: FuzzResponse, isError: boolean): string[] {
  const body = res.json;
  if (!isRecord(body) || Object.keys(body).sort().join(',') !== 'data,status') return ['body is not the envelope { status, data }'];
  const status = body.status;
  if (!isRecord(status) || Object.keys(status).sort().join(',') !== 'code,message,name') return ['envelope status is not { code, name, message }'];
  const problems: string[] = [];
  if (status.code !== res.status) problems.push(`status.code ${String(status.code)} differs from HTTP ${res.status}`);
  if (typeof status.name !== 'string' || status.name.length === 0) problems.push('status.name is not a non-empty string');
  if (typeof status.message !== 'string') problems.push('status.message is not a string');
  if (isError && body.data !== null) problems.push('error envelope carries data');
  if (res.status === 500 && typeof status.message === 'string' && !/^Internal error \(request id [^)]+\)$/.test(status.message)) {
    problems.push('a 500 says more than the request id');
  }
  return problems;
}

const TOKEN_KEYS = new Set(['accessToken', 'refreshToken', 'access_token', 'refresh_token', 'token', 'id_token']);
const JWT_SHAPE = /^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}$/;

/** Whether a response body hands out anything that looks like a token (by key or by shape). */
export function carriesToken(value: unknown, depth = 0): boolean {
  if (depth > 8) return false;
  if (typeof value === 'string') return JWT_SHAPE.test(value);
  if (Array.isArray(value)) return value.some((v) => carriesToken(v, depth + 1));
  if (isRecord(value)) return Object.entries(value).some(([k, v]) => (TOKEN_KEYS.has(k) && v !== null && v !== undefined) || carriesToken(v, depth + 1));
  return false;
}

