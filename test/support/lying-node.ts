import { createServer, type IncomingMessage, type Server } from 'node:http';

interface RpcRequest {
  jsonrpc: '2.0';
  id: number | string | null;
  method: string;
  params?: unknown[];
}

/** An answer a lie gives instead of the node's, or undefined to pass the request on. */
export type Lie = (params: unknown[], honest: () => Promise<unknown>) => Promise<unknown> | unknown;

/**
 * A JSON-RPC node stand-in that lies: an HTTP server in front of a real node that passes every
 * request on, except the methods a test gives a lie for, and counts every request by method. It is
 * what a man in the middle of ETH_RPC_URL, or a dishonest provider, can be.
 */
export interface LyingNode {
  url: string;
  /** Every method asked, in order, since the last reset. */
  readonly asked: string[];
  lies: Partial<Record<string, Lie>>;
  reset(): void;
  close(): Promise<void>;
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startLyingNode(upstream: string): Promise<LyingNode> {
  const asked: string[] = [];
  const node: LyingNode = {
    url: '',
    asked,
    lies: {},
    reset: () => void asked.splice(0),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const forward = async (request: RpcRequest): Promise<{ result?: unknown; error?: unknown }> => {
    const response = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    return (await response.json()) as { result?: unknown; error?: unknown };
  };
  const answer = async (request: RpcRequest): Promise<unknown> => {
    asked.push(request.method);
    const lie = node.lies[request.method];
    const honest = async () => {
      const reply = await forward(request);
      if (reply.error) throw new Error(JSON.stringify(reply.error));
      return reply.result;
    };
    if (lie) {
      const result = await lie(request.params ?? [], honest);
      if (result !== undefined) return { jsonrpc: '2.0', id: request.id, result };
    }
    return { ...(await forward(request)), jsonrpc: '2.0', id: request.id };
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const parsed = JSON.parse(await bodyOf(request)) as RpcRequest | RpcRequest[];
      const reply = Array.isArray(parsed) ? await Promise.all(parsed.map(answer)) : await answer(parsed);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    })().catch((error: unknown) => response.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  node.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return node;
}
