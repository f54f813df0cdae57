/**
 * W6, live job status at scale (issue #14 calls it W5; the job-history page took that name
 * first): SSE subscribers spread over running jobs and over two gateway processes that share one
 * Redis, the runner holding every subscription. Measured:
 *
 * - upstream GetJob calls per polling interval, with the jobs still (clock frozen) and while they
 *   change (goal: at most one per job per interval in total, whatever the subscribers and
 *   replicas);
 * - event latency, from the moment the local Amplify's clock moves (a status change) to the
 *   subscriber's next SSE event, p50 and p99, first by polling alone, then with the local Amplify
 *   pushing every status change to one gateway's POST /events/amplify (the other replica's
 *   subscribers hear of it through Redis);
 * - GetJob calls with pushed events beside polling alone (goal: no more: an event's read stands
 *   for that job's next poll);
 * - RSS per 1,000 subscribers (both gateways, after every subscriber had its first answer,
 *   minus before the first one subscribed).
 *
 * Every wait is bounded; every socket is closed on the way out.
 */
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { JobKey } from '../src/upstream/shapes.js';
import type { BenchArgs } from './args.js';
import { controlJson } from './http.js';
import { median, percentile, round } from './numbers.js';
import { rssMb } from './processes.js';
import type { Target } from './targets.js';
import { getJobCalls, startJobs, type Upstream } from './upstream-control.js';

/**
 * The gateways' poll interval in W6 (LIVE_POLL_INTERVAL_MS): above the cache's 1 s for running
 * jobs (CACHE_ACTIVE_TTL_MS), as the README advises, so every poll reaches Amplify.
 */
export const W6_INTERVAL_MS = 2_000;
export const W6_JOBS = 20;
const EVENTS_SECRET = 'bench-events-secret-0123456789';

const SUBSCRIPTION = `subscription W6($appId: ID!, $branchName: String!, $jobId: ID!) {
  jobUpdated(appId: $appId, branchName: $branchName, jobId: $jobId) {
    jobId summary { status } steps { stepName status }
  }
}`;

/** The gateway environment W6 adds to the targets' production one. */
export function w6Env(redisUrl: string, subscribers: number): NodeJS.ProcessEnv {
  return {
    REDIS_URL: redisUrl,
    LIVE_POLL_INTERVAL_MS: String(W6_INTERVAL_MS),
    // Every subscriber comes from the runner's one address, and the two gateways' shares need
    // not be even: neither limit may refuse one (the bench's heap cap holds them all).
    LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: String(subscribers),
    LIVE_MAX_SUBSCRIPTIONS: String(subscribers),
    AMPLIFY_EVENTS_SECRET: EVENTS_SECRET,
  };
}

interface Subscriber {
  key: JobKey;
  gateway: number;
  /** performance.now() of every `next` event. */
  arrivals: number[];
  completed: boolean;
  failed: string | null;
  close(): void;
}

/** One subscription over its own connection, as a browser tab would hold it. */
function subscribe(graphqlUrl: string, key: JobKey, gateway: number): Subscriber {
  const body = JSON.stringify({ query: SUBSCRIPTION, variables: key });
  const subscriber: Subscriber = {
    key,
    gateway,
    arrivals: [],
    completed: false,
    failed: null,
    close: () => {},
  };
  const req = request(graphqlUrl, {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'content-length': Buffer.byteLength(body),
    },
  });
  subscriber.close = () => req.destroy();
  req.on('error', (error) => {
    if (!subscriber.completed) subscriber.failed ??= error.message;
  });
  req.on('response', (res) => {
    if (res.statusCode !== 200) subscriber.failed = `HTTP ${res.statusCode}`;
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let boundary = buffer.indexOf('\n\n');
      while (boundary !== -1) {
        const frame = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf('\n\n');
        if (frame.startsWith('event: next')) {
          subscriber.arrivals.push(performance.now());
          if (frame.includes('"errors"')) subscriber.failed ??= frame.slice(0, 300);
        } else if (frame.startsWith('event: complete')) {
          subscriber.completed = true;
        }
      }
    });
    res.on('error', () => {});
  });
  req.end(body);
  return subscriber;
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

interface JobStatuses {
  jobs: Array<JobKey & { status: string }>;
}

async function statusesOf(upstream: Upstream, keys: JobKey[]): Promise<string[]> {
  const { jobs } = await controlJson<JobStatuses>(`${upstream.url}/_local/jobs`);
  const byKey = new Map(jobs.map((j) => [`${j.appId}\n${j.branchName}\n${j.jobId}`, j.status]));
  return keys.map((k) => byKey.get(`${k.appId}\n${k.branchName}\n${k.jobId}`) ?? 'UNKNOWN');
}

export interface W6Phase {
  /** How each change reached the subscribers. */
  mode: 'polling' | 'pushed';
  /** Clock steps taken, and job status changes they made. */
  steps: number;
  statusChanges: number;
  /** Subscribers that should have heard of a change, and those that did in time. */
  expected: number;
  delivered: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /** GetJob calls during the phase, per poll interval of the phase's duration. */
  getJobPerInterval: number;
  seconds: number;
}

export interface W6Result {
  title: string;
  subscribers: number;
  jobs: number;
  gateways: number;
  intervalMs: number;
  /** GetJob per interval while nothing changes (clock frozen), polling only. */
  quietGetJobPerInterval: number;
  quietSeconds: number;
  phases: W6Phase[];
  /** Both gateways' RSS growth for their subscribers, scaled to 1,000. */
  rssPerThousandMb: number;
  rssBeforeMb: number[];
  rssAfterMb: number[];
  failedSubscribers: number;
  failures: string[];
}

/**
 * Runs W6 on `gateways` (already started with {@link w6Env}), whose processes share `redis`.
 * Subscribers are spread evenly over the jobs and the gateways.
 */
export async function runW6(
  args: BenchArgs,
  upstream: Upstream,
  gateways: readonly Target[],
): Promise<W6Result> {
  const subscribersWanted = args.quick ? 100 : 1_000;
  // Steps per mode; the modes alternate.
  const steps = args.quick ? 3 : 12;
  const quietIntervals = args.quick ? 3 : 10;
  console.log(
    `\nW6: ${subscribersWanted} SSE subscribers over ${W6_JOBS} running jobs on ${gateways.length} gateways sharing one Redis, poll interval ${W6_INTERVAL_MS} ms`,
  );
  const keys = await startJobs(upstream, W6_JOBS);
  const rssBeforeMb = gateways.map((g) => round(rssMb(g.process.pid), 1));
  const subscribers: Subscriber[] = [];
  try {
    for (let i = 0; i < subscribersWanted; i++) {
      const gateway = i % gateways.length;
      const key = keys[Math.floor(i / gateways.length) % keys.length]!;
      subscribers.push(subscribe(gateways[gateway]!.url, key, gateway));
      // Open in small bursts: a thousand handshakes at once would measure the accept queue.
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const allFirst = await waitUntil(
      () => subscribers.every((s) => s.arrivals.length >= 1 || s.failed !== null),
      30_000,
    );
    if (!allFirst) throw new Error('W6: not every subscriber had its first answer within 30 s');
    const failedEarly = subscribers.filter((s) => s.failed !== null);
    if (failedEarly.length > 0) {
      throw new Error(
        `W6: ${failedEarly.length} subscriptions failed: ${failedEarly[0]!.failed ?? ''}`,
      );
    }
    // Let the first answers settle (GC, buffers) before reading memory.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rssAfterMb = gateways.map((g) => round(rssMb(g.process.pid), 1));
    const grown = rssAfterMb.reduce((sum, mb, i) => sum + (mb - rssBeforeMb[i]!), 0);
    const rssPerThousandMb = round((grown * 1_000) / subscribers.length, 1);
    console.log(
      `  subscribed: RSS ${rssBeforeMb.join(' / ')} -> ${rssAfterMb.join(' / ')} MB (${rssPerThousandMb} MB per 1,000 subscribers)`,
    );

    // Quiet: nothing changes, so GetJob calls are the pollers' alone.
    const quietStart = performance.now();
    const quietCalls0 = await getJobCalls(upstream);
    await new Promise((resolve) => setTimeout(resolve, quietIntervals * W6_INTERVAL_MS));
    const quietCalls = (await getJobCalls(upstream)) - quietCalls0;
    const quietSeconds = (performance.now() - quietStart) / 1_000;
    const quietGetJobPerInterval = round(quietCalls / ((quietSeconds * 1_000) / W6_INTERVAL_MS), 2);
    console.log(
      `  quiet: ${quietCalls} GetJob in ${round(quietSeconds, 1)} s = ${quietGetJobPerInterval} per interval (goal <= ${W6_JOBS})`,
    );

    const eventsUrl = `${gateways[0]!.url.replace(/\/graphql$/, '')}/events/amplify`;
    const phases = await runSteps(upstream, keys, subscribers, steps, eventsUrl);
    for (const phase of phases) {
      console.log(
        `  ${phase.mode.padEnd(7)}: ${phase.statusChanges} status changes in ${phase.steps} steps, ${phase.delivered}/${phase.expected} deliveries, latency p50 ${phase.latencyP50Ms} ms p99 ${phase.latencyP99Ms} ms, GetJob ${phase.getJobPerInterval} per interval`,
      );
    }
    await controlJson(`${upstream.url}/_local/events/target`, 'DELETE');
    const failures = subscribers.filter((s) => s.failed !== null).map((s) => s.failed ?? '');
    return {
      title: `${subscribers.length} SSE subscribers over ${W6_JOBS} running jobs, ${gateways.length} gateways sharing one Redis`,
      subscribers: subscribers.length,
      jobs: W6_JOBS,
      gateways: gateways.length,
      intervalMs: W6_INTERVAL_MS,
      quietGetJobPerInterval,
      quietSeconds: round(quietSeconds, 1),
      phases,
      rssPerThousandMb,
      rssBeforeMb,
      rssAfterMb,
      failedSubscribers: failures.length,
      failures: failures.slice(0, 5),
    };
  } finally {
    for (const subscriber of subscribers) subscriber.close();
  }
}

/**
 * Moves the clock 15 virtual seconds, `steps` times per mode, alternating polling alone and
 * pushed events (the local Amplify's event target set to one gateway, every status sent), so both
 * modes see jobs at the same stages. After each step every subscriber of a job whose status
 * changed must get an event; latency runs from just before the clock moved to that event. GetJob
 * calls are counted per step and summed per mode.
 */
async function runSteps(
  upstream: Upstream,
  keys: JobKey[],
  subscribers: Subscriber[],
  steps: number,
  eventsUrl: string,
): Promise<W6Phase[]> {
  const modes = ['polling', 'pushed'] as const;
  const acc = new Map(
    modes.map((mode) => [
      mode,
      { latencies: [] as number[], expected: 0, statusChanges: 0, calls: 0, ms: 0, steps: 0 },
    ]),
  );
  for (let step = 0; step < steps * modes.length; step++) {
    const mode = modes[step % modes.length]!;
    const entry = acc.get(mode)!;
    if (mode === 'pushed') {
      await controlJson(`${upstream.url}/_local/events/target`, 'POST', {
        url: eventsUrl,
        headers: { 'x-amplify-events-secret': EVENTS_SECRET },
        statuses: 'all',
      });
    } else {
      await controlJson(`${upstream.url}/_local/events/target`, 'DELETE');
    }
    const before = await statusesOf(upstream, keys);
    const counts = subscribers.map((s) => s.arrivals.length);
    const calls0 = await getJobCalls(upstream);
    const t0 = performance.now();
    await controlJson(`${upstream.url}/_local/clock`, 'POST', { advanceMs: 15_000 });
    const after = await statusesOf(upstream, keys);
    const changed = new Set(keys.filter((_k, i) => before[i] !== after[i]));
    entry.statusChanges += changed.size;
    const waiting = subscribers
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => changed.has(s.key) && !s.completed);
    entry.expected += waiting.length;
    // A poll comes within one interval (plus the cache's), a push at once: three is generous.
    await waitUntil(
      () => waiting.every(({ s, i }) => s.arrivals.length > counts[i]!),
      3 * W6_INTERVAL_MS,
    );
    for (const { s, i } of waiting) {
      const at = s.arrivals[counts[i]!];
      if (at !== undefined) entry.latencies.push(at - t0);
    }
    // Let the last polls of this step land before the next step's "before".
    await new Promise((resolve) => setTimeout(resolve, W6_INTERVAL_MS));
    entry.calls += (await getJobCalls(upstream)) - calls0;
    entry.ms += performance.now() - t0;
    entry.steps += 1;
  }
  return modes.map((mode) => {
    const e = acc.get(mode)!;
    return {
      mode,
      steps: e.steps,
      statusChanges: e.statusChanges,
      expected: e.expected,
      delivered: e.latencies.length,
      latencyP50Ms: round(median(e.latencies), 1),
      latencyP99Ms: round(percentile(e.latencies, 99), 1),
      latencyMaxMs: round(e.latencies.length === 0 ? Number.NaN : Math.max(...e.latencies), 1),
      getJobPerInterval: round(e.calls / (e.ms / W6_INTERVAL_MS), 2),
      seconds: round(e.ms / 1_000, 1),
    };
  });
}

/** The printed table of W6. */
export function w6Table(result: W6Result): string {
  const lines = [
    `W6: ${result.title}, poll interval ${result.intervalMs} ms`,
    `  GetJob per interval, jobs still:        ${result.quietGetJobPerInterval} (goal <= ${result.jobs})`,
  ];
  for (const phase of result.phases) {
    lines.push(
      `  ${phase.mode.padEnd(7)} while jobs change: GetJob ${phase.getJobPerInterval} per interval; latency p50 ${phase.latencyP50Ms} ms, p99 ${phase.latencyP99Ms} ms, max ${phase.latencyMaxMs} ms (${phase.delivered}/${phase.expected} delivered within 3 intervals)`,
    );
  }
  lines.push(`  RSS per 1,000 subscribers (both gateways): ${result.rssPerThousandMb} MB`);
  if (result.failedSubscribers > 0) {
    lines.push(`  ${result.failedSubscribers} SUBSCRIPTIONS FAILED: ${result.failures.join('; ')}`);
  }
  return lines.join('\n');
}
