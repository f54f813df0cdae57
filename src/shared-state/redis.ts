/**
 * What gateway replicas share through Redis, in one place: the connection, keys under a versioned
 * prefix, short leases, and pub/sub channels (the live pollers' fan-out).
 *
 * Redis speeds the gateway up; it is never something a request depends on. Every command is
 * bounded by `timeoutMs`; while the connection is down, or commands keep timing out, each
 * operation answers {@link UNAVAILABLE} at once and the caller carries on from memory and Amplify.
 * Each change of state is logged once (warn when Redis is lost, info when it is back), and the
 * client reconnects by itself. ioredis and the Redis event target are loaded only when Redis is
 * configured, so a gateway without Redis does not pay their memory (cockatiel is loaded anyway: the
 * upstream circuit breaker uses it).
 */
import { randomUUID } from 'node:crypto';
import {
  type CircuitBreakerPolicy,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
} from 'cockatiel';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { loadRateLimiterFlexible } from './rate-limiter-flexible.js';

/** What an operation answers when Redis cannot be used right now: go on without it. */
export const UNAVAILABLE: unique symbol = Symbol('Redis unavailable');
export type Unavailable = typeof UNAVAILABLE;

/** A value and how long Redis keeps it still, in milliseconds. */
export interface SharedValue {
  value: string;
  ttlMs: number;
}

/** Held by one caller until released or until its time runs out, whichever comes first. */
export interface Lease {
  /** Gives the lease back if it is still ours (never throws; it expires anyway). */
  release(): Promise<void>;
}

/** Keys of one kind of shared data, e.g. `amplify-jobs:cache:v1:getJob:["d1",...]`. */
export interface KeySpace {
  key(...parts: string[]): string;
}

/** How channel messages are written and read (JSON by default). */
export interface MessageSerializer {
  stringify(message: unknown): string;
  parse(text: string): unknown;
}

/** A listener of a channel: the message arrives in `event.detail`. */
export type ChannelListener = (event: CustomEvent<unknown>) => void;

/**
 * Redis pub/sub as an EventTarget: an event's type is its channel, its `detail` the message.
 * Channel names are the caller's (use a {@link KeySpace}: they share Redis with the keys).
 */
export interface SharedChannels {
  addEventListener(channel: string, listener: ChannelListener): void;
  removeEventListener(channel: string, listener: ChannelListener): void;
  /** Publishes `event.detail` on `event.type`; dropped (false) while Redis is unusable. */
  dispatchEvent(event: CustomEvent<unknown>): boolean;
}

export interface SharedState {
  /**
   * Keys `<prefix>:<name>:v<version>:<parts...>`. Bump `version` whenever what is stored under
   * `name` changes shape: replicas of the old and the new release then never read each other's
   * values during a rolling deploy.
   */
  keySpace(name: string, version: number): KeySpace;
  /** The value under `key` and its remaining time to live; `null` when there is none. */
  get(key: string): Promise<SharedValue | null | Unavailable>;
  /** Stores `value` for `ttlMs`; false when Redis could not take it. */
  set(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Removes `key` (no matter whether it was there); false when Redis could not be asked. */
  delete(key: string): Promise<boolean>;
  /**
   * Takes the lease `key` for `ttlMs` if nobody holds it (SET NX PX): a `Lease`, `null` when
   * someone else holds it.
   */
  lease(key: string, ttlMs: number): Promise<Lease | null | Unavailable>;
  /**
   * Publish/subscribe between replicas, through `@graphql-yoga/redis-event-target`: publishes go
   * over the shared connection (dropped while Redis is unusable: each replica still serves its
   * own listeners); listening takes a second connection (one in subscriber mode can do nothing
   * else), opened on first use, which resubscribes by itself after a reconnect. Never throws.
   */
  channels(serializer?: MessageSerializer): SharedChannels;
  /**
   * A fixed-window rate limiter counting in Redis (rate-limiter-flexible's RateLimiterRedis) under
   * `<prefix>:<name>:` (`name` carries its format version), shared by every replica. Its commands
   * go through the same breaker as the cache's, so a Redis that hangs or refuses them is skipped
   * after a few failures (and logged) instead of slowing every request. Once a key is refused,
   * this process refuses it from memory until its window ends, without asking Redis. `null` when
   * the Redis client could not be loaded.
   */
  rateLimiter(options: {
    name: string;
    points: number;
    durationS: number;
  }): Promise<SharedRateLimiter | null>;
  /** Whether Redis is in use right now (connected, and answering within the timeout). */
  readonly available: boolean;
  /** Resolves true as soon as Redis is in use, false if it is not within `timeoutMs`. */
  whenAvailable(timeoutMs: number): Promise<boolean>;
  /** Closes the connection and stops reconnecting. Safe to call twice. */
  close(): Promise<void>;
}

/** What a shared rate limiter answered for one request. */
export interface RateVerdict {
  allowed: boolean;
  /** Milliseconds until the key's window ends. */
  msBeforeNext: number;
}

/** See {@link SharedState.rateLimiter}. */
export interface SharedRateLimiter {
  /** Counts one request of `key`; {@link UNAVAILABLE} when Redis cannot be used for it now. */
  consume(key: string): Promise<RateVerdict | Unavailable>;
}

export interface SharedStateOptions {
  /** `redis://` or `rediss://` URL; may hold credentials, so it is never logged. */
  url: string;
  keyPrefix: string;
  /** Longest a command may take; past it the caller goes on without Redis. */
  timeoutMs: number;
  log: Logger;
  /** Told each time Redis becomes usable (`true`) or unusable (`false`), for metrics. */
  onAvailabilityChange?: (available: boolean) => void;
}

/**
 * A Redis error as the log may show it: its kind, message and code, and the name of the command
 * that failed, never the command's arguments. ioredis puts them on the error (`command.args`), and
 * they hold the password for AUTH (sent again on every reconnection) and the values for SET.
 */
export function redisErrorForLog(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const { code, command } = error as { code?: unknown; command?: { name?: unknown } };
  return {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof command?.name === 'string' ? { command: command.name } : {}),
  };
}

/** Consecutive failed or timed-out commands after which Redis is skipped for a while. */
const FAILURES_BEFORE_SKIPPING = 3;
/** How long Redis is skipped after that before one command tries it again. */
const SKIP_MS = 1_000;
/** Reconnection delays grow to this and stay there: recovery within ~2 s of Redis returning. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/** Atomically: the value and its remaining milliseconds (PTTL), or [nil, -2] when absent. */
const GET_WITH_TTL = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}";
/** Deletes a lease only if it still holds our token (it may have expired and been retaken). */
const RELEASE_LEASE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

export function createSharedState(options: SharedStateOptions): SharedState {
  const { log } = options;
  let client: Redis | null = null;
  /** Connections in subscriber mode, one per {@link SharedState.channels} that listened. */
  const subscribers = new Set<Redis>();
  let breaker: CircuitBreakerPolicy | null = null;
  let closed = false;
  let connected = false;
  let skipping = false;
  /** `null` until the first state is known, so starting up is not reported as an outage. */
  let usable: boolean | null = null;
  const waiters = new Set<(available: boolean) => void>();

  const report = (reason: string) => {
    const now = connected && !skipping && !closed;
    if (usable === now) return;
    const before = usable;
    usable = now;
    if (now) {
      log.info(
        before === null
          ? 'connected to Redis: the cache is shared with other replicas'
          : 'Redis answers again: the cache is shared with other replicas again',
      );
    } else if (!closed) {
      log.warn(
        { reason },
        'Redis is unavailable: caching in this process only until it answers again',
      );
    }
    for (const wake of waiters) wake(now);
    options.onAvailabilityChange?.(now);
  };

  const loading = Promise.all([
    // ioredis is CommonJS: `default` (its module.exports) carries `Redis` both in Node's own
    // import and in the bundle (scripts/bundle.ts), where a dynamic import of a CommonJS chunk
    // has no named exports.
    import('ioredis').then((module) => module.default.Redis),
    import('@graphql-yoga/redis-event-target'),
  ]).then(
    ([Redis, eventTarget]) => {
      createEventTarget = eventTarget.createRedisEventTarget;
      if (closed) return;
      const redis = new Redis(options.url, {
        connectionName: 'amplify-jobs-graphql',
        // A command while disconnected fails at once instead of waiting in a queue.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: options.timeoutMs,
        connectTimeout: Math.max(1_000, options.timeoutMs * 10),
        // Commands issued in the same tick share one round trip (many requests, one event loop).
        enableAutoPipelining: true,
        // Reconnect forever (Redis coming back is the point), at most every 2 s; disconnect()
        // in close() stops it.
        retryStrategy: (attempt) =>
          Math.min(50 * 2 ** Math.min(attempt, 6), MAX_RECONNECT_DELAY_MS),
      });
      redis.on('ready', () => {
        connected = true;
        report('connected');
      });
      redis.on('close', () => {
        connected = false;
        report('connection closed');
      });
      // Without a listener ioredis prints every connection error; the state change is logged once.
      redis.on('error', (error: Error) =>
        log.debug({ redisError: redisErrorForLog(error) }, 'Redis connection error'),
      );
      const policy = circuitBreaker(handleAll, {
        halfOpenAfter: SKIP_MS,
        breaker: new ConsecutiveBreaker(FAILURES_BEFORE_SKIPPING),
      });
      policy.onBreak(() => {
        skipping = true;
        report(
          `${FAILURES_BEFORE_SKIPPING} commands in a row failed or took over ${options.timeoutMs} ms`,
        );
      });
      policy.onReset(() => {
        skipping = false;
        report('commands answer again');
      });
      client = redis;
      breaker = policy;
    },
    (error: unknown) => {
      log.error(
        { redisError: redisErrorForLog(error) },
        'could not load the Redis client: caching in this process only',
      );
    },
  );

  let createEventTarget:
    | typeof import('@graphql-yoga/redis-event-target').createRedisEventTarget
    | null = null;

  async function run<T>(command: (redis: Redis) => Promise<T>): Promise<T | Unavailable> {
    const redis = client;
    const policy = breaker;
    if (redis === null || policy === null || redis.status !== 'ready') return UNAVAILABLE;
    try {
      return await policy.execute(() => command(redis));
    } catch {
      // Timed out, refused, or skipped while the breaker is open: carry on without Redis.
      return UNAVAILABLE;
    }
  }

  return {
    keySpace(name, version) {
      const base = `${options.keyPrefix}:${name}:v${version}:`;
      return { key: (...parts) => base + parts.join(':') };
    },
    async get(key) {
      const reply = await run((redis) => redis.eval(GET_WITH_TTL, 1, key));
      if (reply === UNAVAILABLE) return UNAVAILABLE;
      const [value, ttlMs] = reply as [string | null, number];
      if (typeof value !== 'string') return null;
      // -1 (no expiry) cannot happen for keys we write; read it as "do not keep it locally".
      return { value, ttlMs: Math.max(0, ttlMs) };
    },
    async set(key, value, ttlMs) {
      if (ttlMs <= 0) return false;
      const reply = await run((redis) => redis.set(key, value, 'PX', ttlMs));
      return reply === 'OK';
    },
    async delete(key) {
      return (await run((redis) => redis.del(key))) !== UNAVAILABLE;
    },
    async lease(key, ttlMs) {
      const token = randomUUID();
      const reply = await run((redis) => redis.set(key, token, 'PX', ttlMs, 'NX'));
      if (reply === UNAVAILABLE) return UNAVAILABLE;
      if (reply !== 'OK') return null;
      return {
        async release() {
          await run((redis) => redis.eval(RELEASE_LEASE, 1, key, token));
        },
      };
    },
    async rateLimiter({ name, points, durationS }) {
      await loading;
      if (client === null) return null;
      const { RateLimiterRedis, RateLimiterRes } = await loadRateLimiterFlexible();
      const limiter = new RateLimiterRedis({
        storeClient: client,
        keyPrefix: `${options.keyPrefix}:${name}`,
        points,
        duration: durationS,
        // A caller refused here stays refused in this process until its window ends, without
        // asking Redis again: a flood of refused requests costs no Redis command.
        inMemoryBlockOnConsumed: points + 1,
        // Not connected: fail at once (run() then answers UNAVAILABLE) rather than wait.
        rejectIfRedisNotReady: true,
      });
      // Which store errors were logged already: one line per kind, e.g. an ACL that lets the
      // cache's keys through but not these (NOPERM), or a read-only replica.
      const logged = new Set<string>();
      const report = (rejection: unknown) => {
        const error = redisErrorForLog(rejection);
        const kind = String(error.code ?? String(error.message ?? '').split(' ')[0]);
        if (logged.has(kind) || logged.size >= 20) return;
        logged.add(kind);
        log.warn(
          { redisError: error },
          'a rate-limit command failed in Redis: this replica counts requests on its own meanwhile',
        );
      };
      return {
        async consume(key) {
          const verdict = await run(() =>
            limiter.consume(key).then(
              (res): RateVerdict => ({ allowed: true, msBeforeNext: res.msBeforeNext }),
              (rejection: unknown): RateVerdict | Unavailable => {
                // Refused: an answer, not a failure of Redis.
                if (rejection instanceof RateLimiterRes) {
                  return { allowed: false, msBeforeNext: rejection.msBeforeNext };
                }
                report(rejection);
                // Redis answered, with an error of its own (NOPERM, READONLY, OOM): it is up, so
                // the breaker the cache shares must not count it; this request counts here.
                if (rejection instanceof Error && rejection.name === 'ReplyError') {
                  return UNAVAILABLE;
                }
                // No answer (a timeout, a closed connection): a failure of Redis itself.
                throw rejection;
              },
            ),
          );
          return verdict;
        },
      };
    },
    channels(serializer = JSON) {
      type Target = ReturnType<
        typeof import('@graphql-yoga/redis-event-target').createRedisEventTarget
      >;
      let target: Target | null = null;
      // What was asked before ioredis was loaded (or without Redis at all), replayed on load.
      const early = new Map<string, Set<ChannelListener>>();
      const attach = () => {
        if (target !== null || closed || client === null || createEventTarget === null) return;
        const shared = client;
        // A connection of its own for SUBSCRIBE, without a command timeout. It resubscribes on
        // each (re)connection itself: ioredis's own resubscription leaves a rejected promise
        // behind when the connection closes meanwhile, and so would its offline queue.
        const listening = shared.duplicate({
          connectionName: 'amplify-jobs-graphql:subscriber',
          commandTimeout: undefined,
          enableAutoPipelining: false,
          autoResubscribe: false,
        });
        const channelsHeld = new Set<string>();
        // The event target awaits nothing: keep its rejections (an outage) out of the process.
        const quiet = (promise: Promise<unknown>, what: string) =>
          promise.catch((error: unknown) =>
            log.debug({ redisError: redisErrorForLog(error) }, `Redis ${what} failed`),
          );
        listening.on('error', (error: Error) =>
          log.debug({ redisError: redisErrorForLog(error) }, 'Redis subscriber connection error'),
        );
        listening.on('ready', () => {
          if (channelsHeld.size > 0) quiet(listening.subscribe(...channelsHeld), 'SUBSCRIBE');
        });
        subscribers.add(listening);
        const publishClient = {
          publish: (channel: string, message: string) =>
            usable === true
              ? quiet(shared.publish(channel, message), 'PUBLISH')
              : Promise.resolve(0),
        } as unknown as Redis;
        const subscribeClient = {
          on: (name: string, listener: (...args: unknown[]) => void) => {
            listening.on(name, listener);
            return subscribeClient;
          },
          subscribe: (channel: string) => {
            channelsHeld.add(channel);
            return listening.status === 'ready'
              ? quiet(listening.subscribe(channel), 'SUBSCRIBE')
              : Promise.resolve(0);
          },
          unsubscribe: (channel: string) => {
            channelsHeld.delete(channel);
            return listening.status === 'ready'
              ? quiet(listening.unsubscribe(channel), 'UNSUBSCRIBE')
              : Promise.resolve(0);
          },
        } as unknown as Redis;
        target = createEventTarget({ publishClient, subscribeClient, serializer });
        for (const [channel, listeners] of early) {
          for (const listener of listeners) target.addEventListener(channel, listener);
        }
        early.clear();
      };
      void loading.then(attach);
      return {
        addEventListener(channel, listener) {
          attach();
          if (target !== null) target.addEventListener(channel, listener);
          else early.set(channel, (early.get(channel) ?? new Set()).add(listener));
        },
        removeEventListener(channel, listener) {
          if (target !== null) target.removeEventListener(channel, listener);
          else early.get(channel)?.delete(listener);
        },
        dispatchEvent(event) {
          attach();
          if (target === null || usable !== true) return false;
          return target.dispatchEvent(event);
        },
      };
    },
    get available() {
      return usable === true;
    },
    whenAvailable(timeoutMs) {
      if (usable === true) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (available: boolean) => {
          if (!available) return;
          clearTimeout(timer);
          waiters.delete(done);
          resolve(true);
        };
        const timer = setTimeout(() => {
          waiters.delete(done);
          resolve(false);
        }, timeoutMs);
        waiters.add(done);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await loading;
      for (const listening of subscribers) listening.disconnect();
      subscribers.clear();
      const redis = client;
      if (redis === null) return;
      if (redis.status === 'ready') {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          redis.quit().catch(() => undefined),
          new Promise((resolve) => {
            timer = setTimeout(resolve, options.timeoutMs * 10);
          }),
        ]);
        clearTimeout(timer);
      }
      // Stops any reconnection timer, whatever the state.
      redis.disconnect();
      report('closed');
    },
  };
}
