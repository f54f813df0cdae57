/**
 * One subscriber's stream of job snapshots: an async iterator fed by the hub. Bounded: when the
 * consumer falls behind by {@link MAX_QUEUED} snapshots the oldest queued one is dropped (each is
 * the whole job, so the consumer still gets the newest state; a terminal snapshot is never
 * dropped). A GatewayError can be queued too: the subscription field turns it into a GraphQL error.
 *
 * Why not graphql-yoga's `Repeater` with a `SlidingBuffer`, which bounds a queue the same way: a
 * Repeater runs its executor (and so gets its `push`) only at the consumer's first `next()`, and a
 * `return()` before that never runs it; the hub pushes the first snapshot, and any change racing
 * it, before the consumer reads, and must hear of a consumer that leaves before reading (to free
 * its subscription). Both would need this queue and hook again around the Repeater.
 */
import type { GatewayError } from '../errors.js';
import type { JobRecord } from '../upstream/shapes.js';

export const MAX_QUEUED = 32;

export type JobStreamItem = JobRecord | GatewayError;

export class JobStream implements AsyncIterableIterator<JobStreamItem> {
  readonly #queue: JobStreamItem[] = [];
  #waiting: ((result: IteratorResult<JobStreamItem>) => void) | null = null;
  /** No more items will be queued; the queue still drains. */
  #ending = false;
  #closed = false;
  readonly #onClose: () => void;

  /** `onClose` runs once: when the stream has ended and drained, or the consumer returned. */
  constructor(onClose: () => void) {
    this.#onClose = onClose;
  }

  get ended(): boolean {
    return this.#ending || this.#closed;
  }

  push(item: JobStreamItem): void {
    if (this.ended) return;
    if (this.#waiting !== null) {
      const resolve = this.#waiting;
      this.#waiting = null;
      resolve({ done: false, value: item });
      return;
    }
    if (this.#queue.length >= MAX_QUEUED) this.#queue.shift();
    this.#queue.push(item);
  }

  /** No more items: the consumer gets what is queued, then the end. */
  end(): void {
    if (this.ended) return;
    this.#ending = true;
    if (this.#queue.length === 0) this.#finish();
  }

  next(): Promise<IteratorResult<JobStreamItem>> {
    const item = this.#queue.shift();
    if (item !== undefined) {
      if (this.#ending && this.#queue.length === 0) this.#finish();
      return Promise.resolve({ done: false, value: item });
    }
    if (this.#ending || this.#closed) {
      this.#finish();
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  /** The consumer is gone (client disconnected, or Yoga stopped the operation). */
  return(): Promise<IteratorResult<JobStreamItem>> {
    this.#queue.length = 0;
    this.#finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<JobStreamItem> {
    return this;
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.({ done: true, value: undefined });
    this.#onClose();
  }
}
