/**
 * Live job status: subscriptions to a job's changes, fed by ONE upstream poller per job for the
 * whole cluster, and by pushed events (EventBridge) that refresh a job at once.
 *
 * In each process, a job with subscribers is "watched": it listens on the job's fan-out channel
 * and takes part in polling. One ticker per process (a single timer, running only while something
 * is watched) fires on wall-clock multiples of the poll interval; for each watched, unfinished job
 * it tries to claim `poll:<job>` for 80% of the interval. Exactly one replica wins per interval
 * and reads the job (through the cache), and a change is published on the channel, which every
 * watching replica passes to its own subscribers. A pushed event is published on the job's channel
 * as a hint: the replicas watching the job race for a claim on the event, one reads the job
 * around the cache (through the single-flight) and publishes it, and an event about a job nobody
 * watches costs nothing. That read, like the one after a stop, holds the poll claim for one
 * interval, so it replaces that poll instead of adding to it.
 *
 * Throttling, an open circuit breaker and failing reads back off: the interval doubles, up to
 * `maxPollIntervalMs`, and the claim is held that long so the other replicas back off too; one
 * successful read restores it. A job leaves the ticker once it is finished; a watch ends when its
 * last subscriber in this process leaves, so no replica polls a job nobody watches.
 */
import type { Logger } from 'pino';
import { ErrorCode, GatewayError } from '../errors.js';
import { jobKeyId, jobKeyProblems } from '../upstream/keys.js';
import { isFinishedJob, type JobKey, type JobRecord } from '../upstream/shapes.js';
import type { LiveCoordination } from './coordination.js';
import { JobStream } from './job-stream.js';
import { fingerprint, isBehind, type Progress, progressOf } from './progress.js';

export interface LiveJobsOptions {
  /** Reads a job through the cache: polls and a subscription's first answer. */
  read(key: JobKey): Promise<JobRecord>;
  /** Reads a job around the cache, through the single-flight: pushed events, after a stop. */
  readFresh(key: JobKey): Promise<JobRecord>;
  coordination: LiveCoordination;
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  maxSubscriptions: number;
  maxSubscriptionsPerClient: number;
  /**
   * Least milliseconds between two reads of one job for pushed events, cluster-wide (the larger of
   * CACHE_ACTIVE_TTL_MS and a second): events with new ids cannot make the gateway read a job more
   * often. An event inside the interval is served by one read at its end. Default 1000.
   */
  eventReadIntervalMs?: number;
  log: Logger;
  /** Channel names start with this (the versioned prefix of shared keys). */
  topicPrefix?: string;
  /** Told of each poll, fresh read and change received from another replica (metrics). */
  onActivity?: (
    activity: 'poll' | 'poll_claimed_elsewhere' | 'poll_failed' | 'fresh_read' | 'received',
  ) => void;
}

export interface LiveStats {
  /** Open subscriptions in this process. */
  subscriptions: number;
  /** Jobs with at least one subscriber in this process. */
  watchedJobs: number;
  /** Polls this process made (claims won and read). */
  polls: number;
  /** Poll claims another replica (or an earlier refresh) held. */
  claimsLost: number;
  /** Fresh reads for pushed events and stops made by this process. */
  refreshes: number;
  /** Snapshots received from the channel that were news here. */
  received: number;
  /** The poll interval now, backoff included. */
  pollIntervalMs: number;
  /** Whether the ticker's timer is pending. */
  tickerRunning: boolean;
}

export interface LiveJobs {
  /**
   * Subscribes `client` to a job: the stream yields the job at once, then the job each time its
   * status or steps change, and ends after a terminal status (or with a GatewayError item, whose
   * `details.job` is the key, when the job disappears). Rejects with BAD_USER_INPUT,
   * TOO_MANY_SUBSCRIPTIONS or the first read's error (NOT_FOUND, UPSTREAM_*). `client` names
   * whose subscriptions count together against the per-client limit; `null` counts against the
   * per-process limit only (a federation router, through which every supergraph client comes).
   */
  subscribe(key: JobKey, client: string | null): Promise<JobStream>;
  /**
   * Reads a job now around the cache (through the single-flight) and tells every subscriber in
   * the cluster if it changed. Rejects with the read's error.
   */
  refresh(key: JobKey): Promise<JobRecord>;
  /**
   * Amplify pushed event `eventId` about a job: one replica watching the job reads it fresh (as
   * {@link refresh}) and every subscriber hears of a change; nothing happens for a job nobody
   * watches. Resolves once this process has done its part (never rejects).
   */
  notify(key: JobKey, eventId: string): Promise<void>;
  stats(): LiveStats;
  /** Ends every subscription, stops the ticker and waits for reads in flight. Idempotent. */
  close(): Promise<void>;
}

interface Subscriber {
  stream: JobStream;
  client: string | null;
  /** Fingerprint of the last snapshot sent (the watch already drops older repeats). */
  lastId: string | null;
  progress: Progress;
}

interface Watch {
  key: JobKey;
  id: string;
  topic: string;
  subscribers: Set<Subscriber>;
  /** Fingerprints already handled here (bounded). */
  seen: Set<string>;
  progress: Progress;
  last: JobRecord | null;
  lastAt: number;
  polling: boolean;
  /** A read for events is waiting for the event-read interval to end. */
  eventReadPending: boolean;
  unlisten: () => void;
}

/** How long an event's read is claimed: longer than any replica takes to hear of the event. */
const EVENT_CLAIM_MS = 60_000;

/** Fingerprints remembered per watch: far more than a job has states. */
const SEEN_LIMIT = 64;

function remember(seen: Set<string>, id: string): void {
  seen.add(id);
  if (seen.size > SEEN_LIMIT) {
    const oldest = seen.values().next().value;
    if (oldest !== undefined) seen.delete(oldest);
  }
}

export function createLiveJobs(options: LiveJobsOptions): LiveJobs {
  const { coordination, log } = options;
  const { claims, channel } = coordination;
  const topicPrefix = options.topicPrefix ?? 'job:';
  const watches = new Map<string, Watch>();
  const perClient = new Map<string, number>();
  const inFlight = new Set<Promise<unknown>>();
  let open = 0;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let backoffFactor = 1;
  const counters = { polls: 0, claimsLost: 0, refreshes: 0, received: 0 };
  const eventReadIntervalMs = options.eventReadIntervalMs ?? 1_000;
  /** Reads for events waiting for their interval to end (at most one per watched job). */
  const deferred = new Set<NodeJS.Timeout>();

  const interval = () =>
    Math.min(options.pollIntervalMs * backoffFactor, options.maxPollIntervalMs);

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.then(
      () => inFlight.delete(promise),
      () => inFlight.delete(promise),
    );
    return promise;
  };

  function countChanged(delta: number, client: string | null): void {
    open += delta;
    if (client === null) return;
    const mine = (perClient.get(client) ?? 0) + delta;
    if (mine <= 0) perClient.delete(client);
    else perClient.set(client, mine);
  }

  /** Passes one snapshot to one subscriber unless it has it already or it is behind. */
  function offer(subscriber: Subscriber, job: JobRecord): void {
    const id = fingerprint(job);
    if (subscriber.lastId === id) return;
    const progress = progressOf(job);
    if (isBehind(progress, subscriber.progress)) return;
    subscriber.lastId = id;
    subscriber.progress = progress ?? subscriber.progress;
    subscriber.stream.push(job);
    if (isFinishedJob(job)) subscriber.stream.end();
  }

  /**
   * A snapshot of a watched job, from a read here or from the channel: if it is news, keep it,
   * pass it to this process's subscribers and (when read here) publish it to the other replicas.
   */
  function accept(watch: Watch, job: JobRecord, publish: boolean): boolean {
    const id = fingerprint(job);
    if (watch.seen.has(id)) return false;
    const progress = progressOf(job);
    if (isBehind(progress, watch.progress)) return false;
    remember(watch.seen, id);
    watch.progress = progress ?? watch.progress;
    watch.last = job;
    watch.lastAt = Date.now();
    for (const subscriber of watch.subscribers) offer(subscriber, job);
    if (publish) channel.publish(watch.topic, { v: 1, kind: 'job', job });
    return true;
  }

  function unwatchIfIdle(watch: Watch): void {
    if (watch.subscribers.size > 0 || watches.get(watch.id) !== watch) return;
    watches.delete(watch.id);
    watch.unlisten();
    if (watches.size === 0 && timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  }

  function watchOf(key: JobKey): Watch {
    const id = jobKeyId(key);
    const existing = watches.get(id);
    if (existing !== undefined) return existing;
    const topic = `${topicPrefix}${id}`;
    const watch: Watch = {
      key,
      id,
      topic,
      subscribers: new Set(),
      seen: new Set(),
      progress: null,
      last: null,
      lastAt: 0,
      polling: false,
      eventReadPending: false,
      unlisten: () => {},
    };
    watch.unlisten = channel.listen(topic, (message) => {
      if (message.v !== 1) return;
      if (message.kind === 'event') {
        if (jobKeyId(message.key) === id) void track(onEvent(watch, message.eventId));
        return;
      }
      if (jobKeyId(message.job.key) !== id) return;
      if (accept(watch, message.job, false)) {
        counters.received += 1;
        options.onActivity?.('received');
      }
    });
    watches.set(id, watch);
    schedule();
    return watch;
  }

  function schedule(): void {
    if (timer !== null || closed || watches.size === 0) return;
    const period = interval();
    // Wall-clock multiples of the interval: replicas try to claim at the same moments.
    const delay = period - (Date.now() % period);
    timer = setTimeout(tick, delay);
  }

  function tick(): void {
    timer = null;
    if (closed) return;
    const claimFor = Math.max(1, Math.floor(interval() * 0.8));
    for (const watch of watches.values()) {
      if (watch.polling || watch.subscribers.size === 0) continue;
      if (watch.last !== null && isFinishedJob(watch.last)) continue;
      watch.polling = true;
      void track(poll(watch, claimFor)).finally(() => {
        watch.polling = false;
      });
    }
    schedule();
  }

  /**
   * An event about a watched job: the first replica to claim it reads the job, unless a read for
   * an event of this job happened within the event-read interval (anywhere in the cluster): then
   * one read follows when the interval ends, for however many events came meanwhile.
   */
  async function onEvent(watch: Watch, eventId: string): Promise<void> {
    try {
      if (!(await claims.claim(`refresh:${eventId}`, EVENT_CLAIM_MS))) return;
      if (await claims.claim(`event-read:${watch.id}`, eventReadIntervalMs)) {
        await refresh(watch.key);
        return;
      }
      if (watch.eventReadPending || closed) return;
      watch.eventReadPending = true;
      const timer = setTimeout(() => {
        deferred.delete(timer);
        watch.eventReadPending = false;
        if (closed || watches.get(watch.id) !== watch) return;
        // Another replica's read at the same moment covers these events just as well.
        void track(
          claims
            .claim(`event-read:${watch.id}`, eventReadIntervalMs)
            .then((claimed) => (claimed ? refresh(watch.key) : undefined))
            .catch((error: unknown) =>
              log.warn({ err: error, job: watch.key }, 'reading a job after its events failed'),
            ),
        );
      }, eventReadIntervalMs);
      deferred.add(timer);
    } catch (error) {
      log.warn({ err: error, job: watch.key, eventId }, 'reading a job after its event failed');
    }
  }

  async function refresh(key: JobKey): Promise<JobRecord> {
    counters.refreshes += 1;
    options.onActivity?.('fresh_read');
    const job = await track(options.readFresh(key));
    const id = jobKeyId(key);
    // This read replaces the next poll of the job, cluster-wide.
    await claims.hold(`poll:${id}`, Math.floor(interval() * 0.8)).catch(() => {});
    const watch = watches.get(id);
    if (watch !== undefined) accept(watch, job, true);
    else channel.publish(`${topicPrefix}${id}`, { v: 1, kind: 'job', job });
    return job;
  }

  async function poll(watch: Watch, claimFor: number): Promise<void> {
    const name = `poll:${watch.id}`;
    try {
      if (!(await claims.claim(name, claimFor))) {
        counters.claimsLost += 1;
        options.onActivity?.('poll_claimed_elsewhere');
        return;
      }
      counters.polls += 1;
      options.onActivity?.('poll');
      const job = await options.read(watch.key);
      backoffFactor = 1;
      accept(watch, job, true);
    } catch (error) {
      options.onActivity?.('poll_failed');
      if (error instanceof GatewayError && error.code === ErrorCode.NOT_FOUND) {
        // The job was deleted: tell its subscribers (saying which job) and end their streams.
        const aboutJob = error.withDetails({ job: { ...watch.key } });
        for (const subscriber of watch.subscribers) {
          subscriber.stream.push(aboutJob);
          subscriber.stream.end();
        }
        return;
      }
      // Throttling, Amplify failing or unreachable, the circuit breaker open, or an error that
      // will repeat (credentials): slow down, for every job, and hold this job's claim that long
      // so the other replicas slow down too. One good read restores the interval.
      backoffFactor = Math.min(
        backoffFactor * 2,
        Math.ceil(options.maxPollIntervalMs / options.pollIntervalMs),
      );
      const period = interval();
      const retryable = error instanceof GatewayError && error.retryable;
      log[retryable ? 'warn' : 'error'](
        { err: error, job: watch.key, nextPollMs: period },
        'live poll failed: backing off',
      );
      await claims.hold(name, Math.floor(period * 0.8)).catch(() => {});
    }
  }

  return {
    async subscribe(key, client) {
      const problems = jobKeyProblems(key);
      if (problems.length > 0) {
        throw new GatewayError(ErrorCode.BAD_USER_INPUT, problems.join('; '));
      }
      if (closed) {
        throw new GatewayError(
          ErrorCode.UPSTREAM_UNAVAILABLE,
          'The gateway is shutting down; subscribe again (another replica will answer).',
        );
      }
      if (open >= options.maxSubscriptions) {
        throw new GatewayError(
          ErrorCode.TOO_MANY_SUBSCRIPTIONS,
          `This gateway already holds ${options.maxSubscriptions} live subscriptions; try again later.`,
        );
      }
      if (client !== null && (perClient.get(client) ?? 0) >= options.maxSubscriptionsPerClient) {
        throw new GatewayError(
          ErrorCode.TOO_MANY_SUBSCRIPTIONS,
          `You already hold ${options.maxSubscriptionsPerClient} live subscriptions on this replica (LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT); close one first.`,
        );
      }
      const watch = watchOf(key);
      const subscriber: Subscriber = {
        client,
        lastId: null,
        progress: null,
        stream: new JobStream(() => {
          if (!watch.subscribers.delete(subscriber)) return;
          countChanged(-1, client);
          unwatchIfIdle(watch);
        }),
      };
      // Registered before the first read, so no change published meanwhile is missed.
      watch.subscribers.add(subscriber);
      countChanged(1, client);
      try {
        const recent = watch.last !== null && Date.now() - watch.lastAt < options.pollIntervalMs;
        const first = recent && watch.last !== null ? watch.last : await track(options.read(key));
        accept(watch, first, true);
        // The newest snapshot known here: this read, or a newer one that arrived meanwhile.
        offer(subscriber, watch.last ?? first);
      } catch (error) {
        subscriber.stream.return();
        throw error;
      }
      return subscriber.stream;
    },

    refresh,

    async notify(key, eventId) {
      const id = jobKeyId(key);
      // To the replicas watching the job (this one included, through the channel)...
      channel.publish(`${topicPrefix}${id}`, { v: 1, kind: 'event', key, eventId });
      // ...and here directly too, in case the channel is down: the claim makes it one read.
      const watch = watches.get(id);
      if (watch !== undefined) await track(onEvent(watch, eventId));
    },

    stats() {
      return {
        subscriptions: open,
        watchedJobs: watches.size,
        ...counters,
        pollIntervalMs: interval(),
        tickerRunning: timer !== null,
      };
    },

    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      for (const waiting of deferred) clearTimeout(waiting);
      deferred.clear();
      for (const watch of [...watches.values()]) {
        for (const subscriber of [...watch.subscribers]) subscriber.stream.end();
      }
      // Reads in flight finish (bounded by the upstream's timeouts); nothing new starts.
      await Promise.allSettled([...inFlight]);
      for (const watch of [...watches.values()]) {
        watch.unlisten();
        watches.delete(watch.id);
      }
    },
  };
}
