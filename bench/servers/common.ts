/**
 * What the bench's own servers (ceiling and floor) share with the gateway's listener: the same
 * node:http settings, and the same way of announcing the URL (one JSON line with `url`), so the
 * runner starts all three targets alike.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The gateway answers JSON with this content type; the bench servers send the same. */
export const CONTENT_TYPE = 'application/json; charset=utf-8';

/** Reads a whole request body as text. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Listens on HOST:PORT (default 127.0.0.1, a free port) with the gateway's keep-alive settings
 * (src/http/server.ts) and prints `{"msg":"listening","url":"http://host:port/graphql"}`.
 */
export function serve(name: string, listener: RequestListener): Server {
  const server = createServer({ keepAliveTimeout: 65_000 }, listener);
  server.headersTimeout = 66_000;
  server.listen(Number(process.env.PORT ?? '0'), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    process.stdout.write(
      `${JSON.stringify({ msg: `${name} listening`, url: `http://${address}:${port}/graphql` })}\n`,
    );
  });
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return server;
}
