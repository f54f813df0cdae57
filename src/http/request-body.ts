/**
 * Reading a whole request body at the HTTP edge, bounded: the fast path reads a POST's body to key
 * it, the EventBridge receiver to parse the event. Yoga reads the bodies it gets itself.
 */
import type { IncomingMessage } from 'node:http';

/** A body longer than the limit it was read with. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`);
  }
}

/**
 * The whole body of `req` (one Buffer), refusing more than `limit` bytes: `done` gets the body, or
 * {@link BodyTooLargeError} as soon as it is longer (the rest is drained and dropped, so an answer
 * can still be sent), or the stream's error; it is called once. A callback rather than a promise
 * because the fast path reads every POST body with it (no microtask turn per request).
 */
export function readBodyThen(
  req: IncomingMessage,
  limit: number,
  done: (error: Error | null, body?: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  let length = 0;
  let settled = false;
  const onData = (chunk: Buffer) => {
    length += chunk.length;
    if (length > limit) {
      req.off('data', onData);
      req.resume();
      if (!settled) {
        settled = true;
        done(new BodyTooLargeError(limit));
      }
      return;
    }
    chunks.push(chunk);
  };
  req.on('data', onData);
  req.once('end', () => {
    if (settled) return;
    settled = true;
    done(null, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length));
  });
  req.once('error', (error) => {
    if (settled) return;
    settled = true;
    done(error);
  });
}

/** {@link readBodyThen} as a promise: rejects with {@link BodyTooLargeError} or the stream's error. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readBodyThen(req, limit, (error, body) => {
      if (body === undefined) reject(error);
      else resolve(body);
    });
  });
}
