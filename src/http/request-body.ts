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
 * The whole body of `req` (one Buffer), refusing more than `limit` bytes: rejects with
 * {@link BodyTooLargeError} as soon as it is longer (the rest is drained and dropped, so an
 * answer can still be sent), or with the stream's error.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        req.off('data', onData);
        req.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length)),
    );
    req.once('error', reject);
  });
}
