/**
 * A reverse proxy in front of a real server that answers 404 for `/tokenize` and `/detokenize` and forwards every
 * other request unchanged: the "server behind a proxy without /tokenize access" a user names a tokenizer for. It is
 * no stand-in for the server (the real one answers everything it forwards); it only hides two routes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const HIDDEN = new Set(['/tokenize', '/detokenize']);

export interface HidingProxy {
  /** The proxy's OpenAI-compatible base URL. */
  endpoint: string;
  /** Paths asked for, in order (hidden ones included). */
  paths: string[];
  close(): Promise<void>;
}

/** @param target the real server's origin, e.g. `http://127.0.0.1:8080`. */
export async function startTokenizeHidingProxy(target: string): Promise<HidingProxy> {
  const paths: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '/';
      paths.push(url);
      if (HIDDEN.has(url.split('?')[0]!)) {
        response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 404, message: 'File Not Found', type: 'not_found_error' } }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      fetch(`${target}${url}`, { method: request.method, headers, body }).then(async (answer) => {
        const content = Buffer.from(await answer.arrayBuffer());
        response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(content);
      }, (error: unknown) => response.writeHead(502).end(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    paths,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
