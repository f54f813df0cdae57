/**
 * Listening and graceful shutdown. On close: /ready turns 503, the listener stops accepting,
 * idle keep-alive connections are closed, in-flight requests finish (their connections close
 * after the response), and whatever is still open when the timeout passes is cut.
 *
 * Slow readers are bounded: a response that the client has not taken within
 * `responseDrainTimeoutMs` of being written in full has its connection closed, so a client that
 * stops reading cannot hold a response's bytes in memory for longer than that; and
 * `maxConnections`, when set, caps the connections open at once (more are closed on arrival).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { GatewayApp } from './app.js';

export interface RunningServer {
  server: Server;
  /** e.g. http://127.0.0.1:4000 */
  url: string;
  port: number;
  /** Graceful stop; resolves when every connection is closed. Safe to call twice. */
  close(): Promise<void>;
}

export interface ListenOptions {
  port: number;
  host: string;
  shutdownTimeoutMs: number;
  /**
   * Milliseconds a client may take to read a response once it is written in full; then its
   * connection is closed (0: no limit). Streams (SSE) are not written in full until they end.
   */
  responseDrainTimeoutMs: number;
  /**
   * Milliseconds a client may take to send its whole request (headers and body); then Node
   * answers 408 and closes the connection (0: no limit).
   */
  requestTimeoutMs: number;
  /** Most connections open at once; further ones are closed on arrival (0: no cap). */
  maxConnections: number;
}

/**
 * Closes the connection of a response that was written in full ('prefinish': every byte handed to
 * the socket) but not taken by the client ('finish': the socket accepted the last byte) within
 * `timeoutMs`: what it still holds is freed. A response the kernel has already taken whole
 * (nothing waits in the socket's buffer, as for almost every answer) needs no timer: on Node 24
 * 'prefinish' comes before `writableFinished` is set even then, and a timer per answer cost
 * about 1 µs of a cached answer's 40.
 */
function bindDrainTimeout(res: ServerResponse, timeoutMs: number): void {
  res.once('prefinish', () => {
    if (res.writableFinished || res.socket?.writableLength === 0) return;
    const timer = setTimeout(() => res.destroy(), timeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    res.once('finish', clear);
    res.once('close', clear);
  });
}

export async function listen(
  app: GatewayApp,
  options: ListenOptions,
  log: Logger,
): Promise<RunningServer> {
  const requestTimeout = options.requestTimeoutMs;
  const server = createServer(
    {
      keepAliveTimeout: 65_000,
      requestTimeout,
      // Node looks for requests past their time at this interval (30 s by default): a tenth of the
      // timeout, so one is closed within 10% of it.
      ...(requestTimeout > 0
        ? { connectionsCheckingInterval: Math.max(100, Math.min(30_000, requestTimeout / 10)) }
        : {}),
    },
    app.handle,
  );
  if (options.responseDrainTimeoutMs > 0) {
    const timeoutMs = options.responseDrainTimeoutMs;
    server.on('request', (_req, res: ServerResponse) => bindDrainTimeout(res, timeoutMs));
  }
  if (options.maxConnections > 0) server.maxConnections = options.maxConnections;
  // Longer than common load balancer idle timeouts (60 s), so the balancer closes first; never
  // past the whole request's time.
  server.headersTimeout = requestTimeout > 0 ? Math.min(66_000, requestTimeout) : 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`;

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      app.startDraining();
      log.info(
        { timeoutMs: options.shutdownTimeoutMs },
        'shutting down: finishing in-flight requests',
      );
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      const deadline = setTimeout(() => {
        log.warn('shutdown timeout passed: closing the remaining connections');
        server.closeAllConnections();
      }, options.shutdownTimeoutMs);
      deadline.unref();
      server.close(() => {
        clearInterval(sweep);
        clearTimeout(deadline);
        log.info('server closed');
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };

  return { server, url, port: address.port, close };
}

/** Closes on SIGTERM/SIGINT, then runs `onClosed`. A second signal exits at once. */
export function closeOnSignals(running: RunningServer, log: Logger, onClosed: () => void): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'signal received');
    running.close().then(onClosed, (error: unknown) => {
      log.error({ err: error }, 'error during shutdown');
      process.exit(1);
    });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
