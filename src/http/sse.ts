/**
 * Server-Sent Events streams (GraphQL over SSE, "distinct connections" mode, which `graphql-sse`
 * clients and `EventSource` speak): Yoga formats the events; this plugin adds what a long-lived
 * stream needs around them:
 *
 * - keep-alive comments (`: keep-alive`) every `keepAliveMs`, so idle proxies and load balancers
 *   do not cut a quiet stream (Yoga's own ping comes every 12 s, every 300 ms under
 *   NODE_ENV=test);
 * - a client that disconnects ends the stream at once, which returns the subscription's iterator
 *   and frees what it held (Yoga alone only notices when a later write fails);
 * - {@link SseStreams.closeAll}: on shutdown every stream ends WITHOUT a `complete` event, so
 *   clients reconnect (to another replica) instead of believing the subscription finished.
 */
import type { ServerResponse } from 'node:http';
import { getSSEProcessor, isAsyncIterable, type Plugin } from 'graphql-yoga';

/** The open SSE streams of one gateway app. */
export interface SseStreams {
  /** Streams open now. */
  readonly open: number;
  /** Ends every open stream without `complete` (clients reconnect) and stops their timers. */
  closeAll(): void;
}

interface OpenStream {
  close(): void;
}

export interface SseOptions {
  keepAliveMs: number;
}

const KEEP_ALIVE = ': keep-alive\n\n';

function acceptsEventStream(request: Request): boolean {
  return (request.headers.get('accept') ?? '').toLowerCase().includes('text/event-stream');
}

export function createSseStreams(): SseStreams & { add(stream: OpenStream): () => void } {
  const streams = new Set<OpenStream>();
  let closing = false;
  return {
    get open() {
      return streams.size;
    },
    add(stream) {
      streams.add(stream);
      // A stream opened while shutting down ends at once: its client reconnects elsewhere.
      if (closing) queueMicrotask(() => stream.close());
      return () => streams.delete(stream);
    },
    closeAll() {
      closing = true;
      for (const stream of [...streams]) stream.close();
    },
  };
}

/** Yoga plugin: wraps Yoga's SSE answer for subscriptions as described above. */
export function useSseStreams(
  options: SseOptions,
  streams: ReturnType<typeof createSseStreams>,
): Plugin {
  const yogaSse = getSSEProcessor();
  return {
    onResultProcess({ request, result, setResultProcessor, serverContext }) {
      if (!isAsyncIterable(result) || !acceptsEventStream(request)) return;
      // A client gone: the node adapter cancels the body when the request errors (cancel()
      // below); the response's 'close' covers a quiet close too. yoga.fetch callers (no socket)
      // disconnect by cancelling the body.
      const nodeResponse = (serverContext as { res?: ServerResponse }).res;
      setResultProcessor((processed, fetchAPI, mediaType) => {
        // Yoga's SSE processor answers synchronously (it only builds a streaming Response).
        const response = yogaSse(processed, fetchAPI, mediaType) as Response;
        const source = response.body;
        if (source === null) return response;
        const reader = source.getReader();
        // The subscription's own iterator (Yoga iterates the same object): returning it is what
        // frees the subscription. Cancelling Yoga's stream alone does not reach it while Yoga's
        // pull is waiting for the next event.
        const iterator = processed as AsyncIterableIterator<unknown>;
        const keepAlive = new fetchAPI.TextEncoder().encode(KEEP_ALIVE);
        let timer: NodeJS.Timeout | null = null;
        let forget: () => void = () => {};
        let finished = false;
        const onAbort = () => finish(true);

        // Idempotent: stops the timer, forgets the stream, and (unless the source ended by itself)
        // returns the subscription's iterator and cancels Yoga's stream.
        function finish(cancelSource: boolean): void {
          if (finished) return;
          finished = true;
          if (timer !== null) clearInterval(timer);
          timer = null;
          forget();
          nodeResponse?.off('close', onAbort);
          if (cancelSource) {
            void iterator.return?.()?.catch?.(() => {});
            reader.cancel().catch(() => {});
          }
        }

        const body = new fetchAPI.ReadableStream<Uint8Array>({
          start(controller) {
            timer = setInterval(() => {
              // null: errored; 0 or less: the client is not reading (backpressure), skip.
              if ((controller.desiredSize ?? 0) > 0) controller.enqueue(keepAlive);
            }, options.keepAliveMs);
            forget = streams.add({
              close() {
                finish(true);
                try {
                  controller.close();
                } catch {
                  // Already closed or errored.
                }
              },
            });
            if (nodeResponse?.destroyed === true) finish(true);
            else nodeResponse?.once('close', onAbort);
          },
          async pull(controller) {
            try {
              const { done, value } = await reader.read();
              if (finished) return;
              if (done) {
                finish(false);
                controller.close();
                return;
              }
              controller.enqueue(value);
            } catch (error) {
              finish(false);
              controller.error(error);
            }
          },
          cancel() {
            finish(true);
          },
        });
        return new fetchAPI.Response(body, {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
      }, 'text/event-stream');
    },
  };
}
