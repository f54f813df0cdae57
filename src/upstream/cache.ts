/**
 * A read-through cache of Amplify answers at the upstream seam, so the gateway costs Amplify calls
 * in proportion to distinct jobs per interval, never to clients, aliases or replicas.
 *
 * Each read method has its own policy ({@link withCache}): a finished job (SUCCEED, FAILED,
 * CANCELLED) and the log of a finished step never change and are kept long; a job still going is
 * kept for a short interval (the most a client can see it behind Amplify); apps, branches and
 * pages of lists for another short interval (they change as jobs start); the log of a step still
 * running is not kept; NOT_FOUND is kept briefly; any other error is never kept. An answer holding
 * presigned URLs (a job's log, artifact and screenshot URLs; presigned.ts) is kept no longer than
 * its earliest URL works, less a margin, whatever its policy says; and when a finished step's log
 * URL is refused (401, 403, 404: it died before its time, e.g. with the credentials that signed
 * it), the job is forgotten and read again once, and the log read from its new URL. Memory holds
 * answers in an LRU bounded by entries and bytes. With Redis (src/shared-state) the answers are shared by
 * every replica: a miss first looks in Redis, and when it is not there one replica takes a short
 * lease and asks Amplify while the others wait for its answer in Redis, so concurrent misses for
 * one job across replicas cost about one call. Concurrent misses inside one process share one
 * fill. When Redis is unavailable the cache is simply per process.
 */
import { hash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { ErrorCode, GatewayError } from '../errors.js';
import type { KeySpace, SharedState } from '../shared-state/redis.js';
import { UNAVAILABLE } from '../shared-state/redis.js';
import {
  appPageFormat,
  appRecordFormat,
  branchPageFormat,
  branchRecordFormat,
  CACHE_FORMAT_VERSION,
  type CacheEntry,
  type CacheFormat,
  jobPageFormat,
  jobRecordFormat,
  stepLogFormat,
} from './cache-formats.js';
import { jobKeyId } from './keys.js';
import { earliestExpiry, presignedLifetimeMs } from './presigned.js';
import { isFinishedJob, type JobKey, type JobRecord } from './shapes.js';
import type { StepLogRecord, StepLogRequest } from './step-log.js';
import { type AmplifyReads, type AmplifyUpstream, type ReadMethod, readKey } from './upstream.js';
import { wrapReads } from './wrap.js';

/**
 * One read served by a cache, for metrics: `hit` when no Amplify call was made for it (found in
 * `memory` or in `redis`, or it joined a call already `in-flight`), `miss` when it made one.
 */
export interface UpstreamCacheEvent {
  cache: 'upstream';
  method: string;
  outcome: 'hit' | 'miss';
  source: 'memory' | 'redis' | 'in-flight' | 'amplify';
}

export interface UpstreamCacheOptions {
  /** Most answers kept in memory. */
  maxEntries: number;
  /** Most bytes kept in memory, counted as the answers' JSON size. */
  maxBytes: number;
  /** Finished jobs: they never change. */
  terminalTtlMs: number;
  /** Jobs still going: the most a client sees them behind Amplify. */
  activeTtlMs: number;
  /** Apps, branches and pages of lists. */
  listTtlMs: number;
  /** NOT_FOUND answers. */
  notFoundTtlMs: number;
  /** Redis shared by replicas; `null`: memory only. */
  shared: SharedState | null;
  /**
   * How long one replica may hold the lease on a miss (its Amplify call), and so the longest the
   * others wait for its answer before asking Amplify themselves.
   */
  leaseMs: number;
  log: Logger;
  onEvent?: ((event: UpstreamCacheEvent) => void) | undefined;
  /** Now, in epoch ms, for the expiry of presigned URLs (and the LRU's times); default Date.now. */
  clock?: (() => number) | undefined;
}

/** How one read method is cached. */
interface ReadPolicy<K, V> {
  method: string;
  /** A stable string for one input: equal inputs, equal strings; different answers, different. */
  keyOf(input: K): string;
  /** How long to keep an answer, in ms; 0: not at all. */
  ttlMs(value: V, input: K): number;
  /**
   * Its answers can hold presigned URLs Amplify hands out (jobs, apps, pages): kept no longer
   * than the earliest works. A log's text is what the URL pointed at, and does not expire.
   */
  holdsUrls: boolean;
  format: CacheFormat<V>;
}

type Input<M extends ReadMethod> = Parameters<AmplifyReads[M]>[0];
type Answer<M extends ReadMethod> = Awaited<ReturnType<AmplifyReads[M]>>;
/** A policy per read method; a method without one passes through uncached. */
type ReadPolicies = { [M in ReadMethod]?: ReadPolicy<Input<M>, Answer<M>> };

interface Stored<V> {
  entry: CacheEntry<V>;
  /** Its JSON size, the LRU's measure. */
  bytes: number;
}

/** Wait for another replica's answer at first this long between looks, doubling up to the max. */
const FIRST_LOOK_MS = 5;
const MAX_LOOK_MS = 50;

function isNotFound(error: unknown): error is GatewayError {
  return error instanceof GatewayError && error.code === ErrorCode.NOT_FOUND;
}

/** The log store refused a log URL (401, 403) or has nothing behind it (404): it may have died. */
function isRefusedUrl(error: unknown): boolean {
  const status = error instanceof GatewayError ? error.upstream?.httpStatus : undefined;
  return status === 401 || status === 403 || status === 404;
}

/** Where a log lives: its URL without the query (which holds a presigned URL's signature). */
function logLocation(url: string): string {
  if (!URL.canParse(url)) return url;
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}

/** The step `request` reads the log of, in `job` (by name, else by where its log lives). */
function logUrlIn(job: JobRecord, request: StepLogRequest): string | null {
  const location = logLocation(request.url);
  const step = job.steps.find((candidate) =>
    request.stepName !== null
      ? candidate.stepName === request.stepName
      : candidate.logUrl !== null && logLocation(candidate.logUrl) === location,
  );
  return step?.logUrl ?? null;
}

function unwrap<V>(entry: CacheEntry<V>): V {
  if ('notFound' in entry) throw entry.notFound;
  return entry.value;
}

/**
 * Wraps `upstream` (normally the single-flight) with the cache. Methods without a policy pass
 * through untouched.
 */
export function withCache(
  upstream: AmplifyUpstream,
  options: UpstreamCacheOptions,
): AmplifyUpstream {
  const { shared, log } = options;
  const clock = options.clock ?? Date.now;
  const memory = new LRUCache<string, Stored<unknown>>({
    max: options.maxEntries,
    maxSize: options.maxBytes,
    // A clock of the caller's (tests) is asked every time: lru-cache otherwise reuses one reading
    // for a millisecond of real time, while such a clock can jump by hours within it.
    ...(options.clock === undefined ? {} : { perf: { now: options.clock }, ttlResolution: 0 }),
  });
  const inFlight = new Map<string, Promise<Stored<unknown>>>();
  const values: KeySpace | null = shared?.keySpace('cache', CACHE_FORMAT_VERSION) ?? null;
  const leases: KeySpace | null = shared?.keySpace('cache-lease', CACHE_FORMAT_VERSION) ?? null;
  let reportedBadValue = false;

  const event = (method: string, outcome: 'hit' | 'miss', source: UpstreamCacheEvent['source']) =>
    options.onEvent?.({ cache: 'upstream', method, outcome, source });

  function ttlOf<K, V>(policy: ReadPolicy<K, V>, entry: CacheEntry<V>, input: K): number {
    if ('notFound' in entry) return options.notFoundTtlMs;
    const ttlMs = policy.ttlMs(entry.value, input);
    if (ttlMs <= 0 || !policy.holdsUrls) return ttlMs;
    // Never past the moment its earliest presigned URL stops working (less the margin).
    return Math.min(ttlMs, presignedLifetimeMs(earliestExpiry(entry.value), clock()));
  }

  /** Forgets one answer here and in Redis, so the next read asks Amplify. */
  async function forget(method: ReadMethod, key: string): Promise<void> {
    memory.delete(`${method}:${key}`);
    if (shared !== null && values !== null) await shared.delete(values.key(method, key));
  }

  function remember<V>(id: string, stored: Stored<V>, ttlMs: number): void {
    if (ttlMs > 0) memory.set(id, stored, { ttl: ttlMs, size: Math.max(1, stored.bytes) });
  }

  /** One Amplify call; NOT_FOUND becomes an entry, other errors are thrown (never kept). */
  async function ask<K, V>(policy: ReadPolicy<K, V>, input: K, call: (input: K) => Promise<V>) {
    event(policy.method, 'miss', 'amplify');
    let entry: CacheEntry<V>;
    try {
      entry = { value: await call(input) };
    } catch (error) {
      if (!isNotFound(error)) throw error;
      entry = { notFound: error };
    }
    const text = policy.format.encode(entry);
    return { stored: { entry, bytes: text.length } satisfies Stored<V>, text };
  }

  function decode<K, V>(policy: ReadPolicy<K, V>, text: string): Stored<V> | null {
    const entry = policy.format.decode(text);
    if (entry === null) {
      if (!reportedBadValue) {
        reportedBadValue = true;
        log.warn(
          { method: policy.method },
          'a cached value in Redis is not in the expected format; it is ignored (is REDIS_KEY_PREFIX shared with another application?)',
        );
      }
      return null;
    }
    return { entry, bytes: text.length };
  }

  /** Memory only: ask Amplify and keep the answer here. */
  async function fillLocally<K, V>(
    id: string,
    policy: ReadPolicy<K, V>,
    input: K,
    call: (input: K) => Promise<V>,
  ): Promise<Stored<V>> {
    const { stored } = await ask(policy, input, call);
    remember(id, stored, ttlOf(policy, stored.entry, input));
    return stored;
  }

  /**
   * Through Redis: its value if there is one; else the lease and one Amplify call whose answer
   * goes to Redis; else wait for the holder's answer. `undefined` when Redis cannot be used (or
   * the holder took too long): the caller fills locally.
   */
  async function fillShared<K, V>(
    id: string,
    policy: ReadPolicy<K, V>,
    input: K,
    call: (input: K) => Promise<V>,
    state: SharedState,
    key: string,
    leaseKey: string,
  ): Promise<Stored<V> | undefined> {
    const found = async (): Promise<Stored<V> | null | undefined> => {
      const got = await state.get(key);
      if (got === UNAVAILABLE) return undefined;
      if (got === null) return null;
      const stored = decode(policy, got.value);
      if (stored === null) return null;
      // Kept here no longer than Redis keeps it, so replicas expire together.
      remember(id, stored, Math.min(got.ttlMs, ttlOf(policy, stored.entry, input)));
      event(policy.method, 'hit', 'redis');
      return stored;
    };
    const deadline = performance.now() + options.leaseMs;
    let pause = FIRST_LOOK_MS;
    for (;;) {
      const before = await found();
      if (before !== null) return before;
      const lease = await state.lease(leaseKey, options.leaseMs);
      if (lease === UNAVAILABLE) return undefined;
      if (lease !== null) {
        try {
          // The holder before us may have written its answer between our look and our lease.
          const after = await found();
          if (after !== null) return after;
          const { stored, text } = await ask(policy, input, call);
          const ttlMs = ttlOf(policy, stored.entry, input);
          remember(id, stored, ttlMs);
          if (ttlMs > 0) await state.set(key, text, ttlMs);
          return stored;
        } finally {
          await lease.release();
        }
      }
      if (performance.now() >= deadline) return undefined;
      await sleep(pause);
      pause = Math.min(pause * 2, MAX_LOOK_MS);
    }
  }

  function cached<K, V>(policy: ReadPolicy<K, V>, call: (input: K) => Promise<V>) {
    return async (input: K): Promise<V> => {
      const id = `${policy.method}:${policy.keyOf(input)}`;
      const hit = memory.get(id) as Stored<V> | undefined;
      if (hit !== undefined) {
        event(policy.method, 'hit', 'memory');
        return unwrap(hit.entry);
      }
      const pending = inFlight.get(id) as Promise<Stored<V>> | undefined;
      if (pending !== undefined) {
        event(policy.method, 'hit', 'in-flight');
        return unwrap((await pending).entry);
      }
      const fill = (async (): Promise<Stored<V>> => {
        if (shared !== null && values !== null && leases !== null) {
          const key = values.key(policy.method, policy.keyOf(input));
          const leaseKey = leases.key(policy.method, policy.keyOf(input));
          const viaRedis = await fillShared(id, policy, input, call, shared, key, leaseKey);
          if (viaRedis !== undefined) return viaRedis;
        }
        return fillLocally(id, policy, input, call);
      })().finally(() => inFlight.delete(id));
      inFlight.set(id, fill);
      return unwrap((await fill).entry);
    };
  }

  const short = () => options.listTtlMs;
  const policies: ReadPolicies = {
    getJob: {
      method: 'getJob',
      keyOf: jobKeyId,
      ttlMs: (job) => (isFinishedJob(job) ? options.terminalTtlMs : options.activeTtlMs),
      holdsUrls: true,
      format: jobRecordFormat,
    },
    getApp: {
      method: 'getApp',
      keyOf: (key) => key.appId,
      ttlMs: short,
      holdsUrls: true,
      format: appRecordFormat,
    },
    getBranch: {
      method: 'getBranch',
      keyOf: (key) => JSON.stringify([key.appId, key.branchName]),
      ttlMs: short,
      holdsUrls: true,
      format: branchRecordFormat,
    },
    // Pages are keyed by everything they were asked with (token, size, app, branch).
    listApps: {
      method: 'listApps',
      keyOf: (request) => readKey('listApps', request),
      ttlMs: short,
      holdsUrls: true,
      format: appPageFormat,
    },
    listBranches: {
      method: 'listBranches',
      keyOf: (request) => readKey('listBranches', request),
      ttlMs: short,
      holdsUrls: true,
      format: branchPageFormat,
    },
    listJobs: {
      method: 'listJobs',
      keyOf: (request) => readKey('listJobs', request),
      ttlMs: short,
      holdsUrls: true,
      format: jobPageFormat,
    },
    // A log is the job's step, not its URL: presigned on AWS, a URL is a bearer credential (never
    // a key in memory or Redis) and a new one with every GetJob. A step without a name is keyed
    // by the hash of where its log lives (origin and path, without the signature's query). Only
    // a finished step's log is kept: a running step's log grows.
    getStepLog: {
      method: 'getStepLog',
      keyOf: (request) =>
        JSON.stringify([
          jobKeyId(request.job),
          request.stepName ?? `path:${hash('sha256', logLocation(request.url), 'base64url')}`,
        ]),
      ttlMs: (_log, request) => (request.final ? options.terminalTtlMs : 0),
      holdsUrls: false,
      format: stepLogFormat,
    },
  };

  const getJob = cached(policies.getJob as ReadPolicy<JobKey, JobRecord>, (key: JobKey) =>
    upstream.getJob(key),
  );

  /**
   * A finished step's log whose URL was refused: the URL came from a job this cache may have kept
   * past the URL's life. If the job held here now names another URL (another read renewed it), use
   * that; otherwise forget the job (here and in Redis) and read it again, once. Then read the log
   * from the new URL. Without a new URL, the first refusal stands.
   */
  async function relocatedLog(request: StepLogRequest, refusal: unknown): Promise<StepLogRecord> {
    const held = memory.peek(`getJob:${jobKeyId(request.job)}`)?.entry;
    let url =
      held !== undefined && 'value' in held
        ? logUrlIn(held.value as JobRecord, request)
        : request.url;
    if (url === request.url) {
      log.debug(
        { job: request.job, stepName: request.stepName },
        'a log URL was refused: reading its job again',
      );
      await forget('getJob', jobKeyId(request.job));
      url = logUrlIn(await getJob(request.job), request);
    }
    if (url === null || url === request.url) throw refusal;
    return upstream.getStepLog({ ...request, url });
  }

  const readLog = async (request: StepLogRequest): Promise<StepLogRecord> => {
    try {
      return await upstream.getStepLog(request);
    } catch (error) {
      if (!request.final || !isRefusedUrl(error)) throw error;
      return relocatedLog(request, error);
    }
  };
  const getStepLog = cached(
    policies.getStepLog as ReadPolicy<StepLogRequest, StepLogRecord>,
    readLog,
  );

  return wrapReads(upstream, (method, call) => {
    if (method === 'getJob') return getJob as typeof call;
    if (method === 'getStepLog') return getStepLog as typeof call;
    const policy = policies[method] as ReadPolicy<unknown, unknown> | undefined;
    if (policy === undefined) return call;
    return cached(policy, call as (input: unknown) => Promise<unknown>) as typeof call;
  });
}
