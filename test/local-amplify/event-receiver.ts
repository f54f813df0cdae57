/**
 * A stand-in for an EventBridge API destination in the event tests: an HTTP server on 127.0.0.1
 * that records every POSTed event and answers as a test script says.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AmplifyEvent } from '../../src/local-amplify/index.js';

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly event: AmplifyEvent;
}

/**
 * What the receiver answers to a POST: a status, or hold the request open. `attempt` counts the
 * POSTs of this event id so far (1 for the first), `n` all POSTs.
 */
export type Answer = (event: AmplifyEvent, attempt: number, n: number) => number | 'hang';

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** The jobStatus values received for one job, in arrival order. */
  statusesOf(jobId: string, branchName: string): string[];
  close(): Promise<void>;
}

/** A stand-in for an EventBridge API destination: an HTTP server on 127.0.0.1 that records POSTs. */
export async function startReceiver(answer: Answer = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const held = new Set<ServerResponse>();
  const attempts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AmplifyEvent;
      received.push({ headers: req.headers, event });
      const attempt = (attempts.get(event.id) ?? 0) + 1;
      attempts.set(event.id, attempt);
      const reply = answer(event, attempt, received.length);
      if (reply === 'hang') {
        held.add(res);
        res.once('close', () => held.delete(res));
        return;
      }
      res.writeHead(reply, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    received,
    statusesOf: (jobId, branchName) =>
      received
        .filter((r) => r.event.detail.jobId === jobId && r.event.detail.branchName === branchName)
        .map((r) => r.event.detail.jobStatus),
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
