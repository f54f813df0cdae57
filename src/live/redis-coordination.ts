/**
 * The live pollers' coordination across replicas, through the one Redis module
 * (src/shared-state/redis.ts): poll claims and event ids are short leases under
 * `<REDIS_KEY_PREFIX>:live:v1:…` (SET NX PX, never released: they run out), holds overwrite them
 * (SET PX), and job snapshots fan out on pub/sub channels under the same versioned prefix.
 *
 * Redis is never a dependency: while it is unusable a claim is decided in this process's memory
 * (each replica then polls its own watched jobs, as without Redis), a hold is kept in memory too,
 * and a publish is dropped (each replica still tells its own subscribers what it read).
 */
import type { Logger } from 'pino';
import { type SharedState, UNAVAILABLE } from '../shared-state/redis.js';
import {
  type Claims,
  channelOver,
  createMemoryClaims,
  type LiveCoordination,
  type MessageEventTarget,
} from './coordination.js';
import { type LiveMessage, parseMessage, stringifyMessage } from './progress.js';

/** Bump when what is stored or published under `live` changes shape. */
export const LIVE_FORMAT_VERSION = 1;

export interface RedisCoordinationOptions {
  log: Logger;
  onListenerError: (error: unknown) => void;
}

export function createRedisCoordination(
  shared: SharedState,
  options: RedisCoordinationOptions,
): LiveCoordination {
  const keys = shared.keySpace('live', LIVE_FORMAT_VERSION);
  const local = createMemoryClaims();
  const claims: Claims = {
    async claim(name, ttlMs) {
      const lease = await shared.lease(keys.key(name), ttlMs);
      if (lease === UNAVAILABLE) return local.claim(name, ttlMs);
      return lease !== null;
    },
    async hold(name, ttlMs) {
      if (!(await shared.set(keys.key(name), 'held', ttlMs))) await local.hold(name, ttlMs);
    },
  };
  // Messages are versioned JSON; anything else on a channel (another release) is ignored.
  const serializer = {
    stringify: (message: unknown) => stringifyMessage(message as LiveMessage),
    parse: (text: string): unknown => parseMessage(text),
  };
  const target = shared.channels(serializer) as MessageEventTarget;
  const channel = channelOver(
    {
      addEventListener: (topic, listener) => target.addEventListener(keys.key(topic), listener),
      removeEventListener: (topic, listener) =>
        target.removeEventListener(keys.key(topic), listener),
      dispatchEvent: (event) =>
        target.dispatchEvent(new CustomEvent(keys.key(event.type), { detail: event.detail })),
    },
    options.onListenerError,
  );
  return {
    kind: 'redis',
    claims,
    channel,
    // The connections are the shared state's: the app closes it after this.
    async close() {},
  };
}
