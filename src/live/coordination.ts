/**
 * What the live-status replicas of one cluster agree on, behind two small interfaces so the hub
 * works the same in one process (memory, the default) and across replicas (Redis):
 *
 * - {@link Claims}: short, self-expiring claims. "Who polls job J in this interval" is the claim
 *   `poll:J`, taken for a little less than one interval and never released: it simply runs out,
 *   so exactly one replica polls each job per interval, whichever has subscribers, and nobody
 *   polls a job no replica watches. An event id seen once is the claim `event:<id>`.
 * - {@link JobChannel}: fan-out of job snapshots to every replica watching the job.
 */
import { LRUCache } from 'lru-cache';
import type { LiveMessage } from './progress.js';

export interface Claims {
  /**
   * Takes `name` for `ttlMs` if nobody holds it: true when it is now ours. When the shared store
   * cannot be reached it answers from this process's memory (each replica then decides alone).
   */
  claim(name: string, ttlMs: number): Promise<boolean>;
  /** Holds `name` for `ttlMs` from now, whoever held it: postpones everyone's next claim. */
  hold(name: string, ttlMs: number): Promise<void>;
}

export interface JobChannel {
  /** Sends `message` to every listener of `topic`, in this process and in the others. */
  publish(topic: string, message: LiveMessage): void;
  /** Calls `onMessage` for each message on `topic` until the returned function is called. */
  listen(topic: string, onMessage: (message: LiveMessage) => void): () => void;
}

export interface LiveCoordination {
  readonly claims: Claims;
  readonly channel: JobChannel;
  /** `memory` or `redis`, for logs and tests. */
  readonly kind: string;
  /** Stops listening and closes connections. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Claims held in this process: a bounded LRU whose entries expire on their own (lru-cache checks
 * the age on read; no timer runs). An evicted claim only allows one early poll.
 */
export function createMemoryClaims(maxEntries = 100_000): Claims {
  // Bounded by count through maxSize rather than `max`: lru-cache allocates `max`-long arrays up
  // front (about 4 MB for 100,000), while a process that follows a few jobs holds a few claims.
  const held = new LRUCache<string, true>({
    maxSize: maxEntries,
    sizeCalculation: () => 1,
    ttl: 60_000,
  });
  return {
    async claim(name, ttlMs) {
      if (held.has(name)) return false;
      held.set(name, true, { ttl: ttlMs });
      return true;
    },
    async hold(name, ttlMs) {
      held.set(name, true, { ttl: ttlMs });
    },
  };
}

/** The part of the DOM EventTarget a channel needs (Node's EventTarget, Yoga's Redis target). */
export interface MessageEventTarget {
  addEventListener(type: string, listener: (event: CustomEvent<unknown>) => void): void;
  removeEventListener(type: string, listener: (event: CustomEvent<unknown>) => void): void;
  dispatchEvent(event: CustomEvent<unknown>): boolean;
}

/**
 * A channel over an EventTarget whose events carry the message in `detail`: Node's own for one
 * process, `@graphql-yoga/redis-event-target` for replicas. A listener that throws is isolated.
 */
export function channelOver(
  target: MessageEventTarget,
  onListenerError: (error: unknown) => void,
): JobChannel {
  return {
    publish(topic, message) {
      target.dispatchEvent(new CustomEvent(topic, { detail: message }));
    },
    listen(topic, onMessage) {
      const listener = (event: CustomEvent<unknown>) => {
        const detail = event.detail as LiveMessage | null;
        if (detail === null || typeof detail !== 'object') return;
        try {
          onMessage(detail);
        } catch (error) {
          onListenerError(error);
        }
      };
      target.addEventListener(topic, listener);
      return () => target.removeEventListener(topic, listener);
    },
  };
}

/** One process: claims and fan-out in memory. */
export function createMemoryCoordination(
  onListenerError: (error: unknown) => void,
): LiveCoordination {
  return {
    kind: 'memory',
    claims: createMemoryClaims(),
    channel: channelOver(new EventTarget() as unknown as MessageEventTarget, onListenerError),
    async close() {},
  };
}
