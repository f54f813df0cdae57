/**
 * Live-status test helpers: subscriptions over real HTTP, through the `graphql-sse` client (what a
 * frontend uses) or as raw GraphQL-over-SSE frames (what curl sees), collected so tests can wait
 * for what they expect, with bounded waits only.
 */
import { createClient } from 'graphql-sse';
import { afterEach } from 'vitest';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { type GraphQLBody, type Stack, type StackOptions, startStack } from './stack.js';
import { ordinaryJobs } from './world.js';

export const JOB_UPDATED = `subscription JobUpdated($appId: ID!, $branchName: String!, $jobId: ID!) {
  jobUpdated(appId: $appId, branchName: $branchName, jobId: $jobId) {
    appId branchName jobId
    summary { status endTime }
    steps { stepName status endTime logUrl }
  }
}`;

/** Waits until `check` holds, polling every 10 ms, at most `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Waits for `promise` (a subscription's `done`, several of them) at most `timeoutMs`, then fails
 * naming `what`: far below the test's own timeout, so a stream that never ends says so.
 */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

interface JobUpdatedResult {
  jobUpdated: {
    appId: string;
    branchName: string;
    jobId: string;
    summary: { status: string | null; endTime: string | null };
    steps: Array<{ stepName: string; status: string; endTime: string | null; logUrl: string }>;
  } | null;
}

export interface Subscription {
  /** Every result received, in order. */
  readonly results: GraphQLBody[];
  /** The job statuses received, in order. */
  statuses(): Array<string | null>;
  /** `complete` when the server completed it, the error when it failed, null while open. */
  readonly ended: 'complete' | Error | null;
  /** Resolves when it ends (either way). */
  readonly done: Promise<void>;
  /** Disconnects (the client stops reading; the server sees the connection close). */
  close(): Promise<void>;
}

function statusesOf(results: GraphQLBody[]): Array<string | null> {
  return results.map(
    (r) => (r.data as JobUpdatedResult | undefined)?.jobUpdated?.summary.status ?? null,
  );
}

/** Subscribes with the graphql-sse client (distinct connections mode, no retries). */
export function subscribeWithClient(
  graphqlUrl: string,
  key: JobKey,
  headers: Record<string, string> = {},
  query = JOB_UPDATED,
  variables: Record<string, unknown> = { ...key },
): Subscription {
  const client = createClient({ url: graphqlUrl, retryAttempts: 0, headers });
  const results: GraphQLBody[] = [];
  let ended: 'complete' | Error | null = null;
  let unsubscribe: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    unsubscribe = client.subscribe<Record<string, unknown>>(
      { query, variables },
      {
        next: (result) => {
          results.push(result as GraphQLBody);
        },
        error: (error) => {
          ended = error instanceof Error ? error : new Error(JSON.stringify(error));
          resolve();
        },
        complete: () => {
          ended ??= 'complete';
          resolve();
        },
      },
    );
  });
  return {
    results,
    statuses: () => statusesOf(results),
    get ended() {
      return ended;
    },
    done,
    async close() {
      unsubscribe();
      client.dispose();
      await Promise.race([done, new Promise((r) => setTimeout(r, 1_000))]);
    },
  };
}

export interface RawEvent {
  event: string;
  data: string;
}

export interface RawStream extends Subscription {
  status: number;
  headers: Headers;
  /** Every SSE event (`next`, `complete`) as sent. */
  readonly events: RawEvent[];
  /** Every comment line (`: keep-alive`, Yoga's `:`), as sent. */
  readonly comments: string[];
}

/**
 * Opens GraphQL over SSE by hand, as curl would: POST with `Accept: text/event-stream` (Yoga's
 * distinct connections mode), parsing the frames.
 */
export async function openRawStream(
  graphqlUrl: string,
  key: JobKey,
  headers: Record<string, string> = {},
  query = JOB_UPDATED,
): Promise<RawStream> {
  const abort = new AbortController();
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables: key }),
    signal: abort.signal,
  });
  const events: RawEvent[] = [];
  const comments: string[] = [];
  const results: GraphQLBody[] = [];
  let ended: 'complete' | Error | null = null;
  const done = (async () => {
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      const reader = response.body.getReader();
      for (;;) {
        const { done: finished, value } = await reader.read();
        if (finished) break;
        buffer += decoder.decode(value, { stream: true });
        let boundary = buffer.indexOf('\n\n');
        while (boundary !== -1) {
          const frame = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          boundary = buffer.indexOf('\n\n');
          let event = '';
          const data: string[] = [];
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            else if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (event === '') continue;
          events.push({ event, data: data.join('\n') });
          if (event === 'next') results.push(JSON.parse(data.join('\n')) as GraphQLBody);
          if (event === 'complete') ended = 'complete';
        }
      }
      ended ??= new Error('the stream ended without a complete event');
    } catch (error) {
      ended ??= error instanceof Error ? error : new Error(String(error));
    }
  })();
  return {
    status: response.status,
    headers: response.headers,
    events,
    comments,
    results,
    statuses: () => statusesOf(results),
    get ended() {
      return ended;
    },
    done,
    async close() {
      abort.abort();
      await done;
    },
  };
}

/** Branches of the ordinary apps (not the quirks app), on which StartJob RELEASE works. */
export function releasableBranches(la: LocalAmplify): Array<{ appId: string; branchName: string }> {
  const seen = new Set<string>();
  const branches: Array<{ appId: string; branchName: string }> = [];
  for (const job of ordinaryJobs(la)) {
    const id = `${job.appId}\n${job.branchName}`;
    if (seen.has(id)) continue;
    seen.add(id);
    branches.push({ appId: job.appId, branchName: job.branchName });
  }
  return branches;
}

/** GetJob requests the local Amplify received for one job (among its last 200 requests). */
export function getJobCallsFor(la: LocalAmplify, key: JobKey): number {
  return la.stats
    .lastRequests(200)
    .filter(
      (r) =>
        r.operation === 'GetJob' &&
        r.labels.appId === key.appId &&
        r.labels.branchName === key.branchName &&
        r.labels.jobId === key.jobId,
    ).length;
}

/** The stack and subscriptions of each live test, closed after it: {@link liveTests}. */
export interface LiveTests {
  /** Starts this test's stack (local Amplify and gateway); closed after the test. */
  start(options?: StackOptions): Promise<Stack>;
  /** Closes these subscriptions after the test, before the stack; returns the first. */
  keep<S extends Subscription>(...subscriptions: S[]): S;
  /**
   * Subscribes to `key` with the graphql-sse client over `stack`'s HTTP server, kept until the
   * test ends, once its first answer has come.
   */
  follow(stack: Stack, key: JobKey): Promise<Subscription>;
}

/** Call once at a live test file's top level: each test's stack and streams are closed after it. */
export function liveTests(): LiveTests {
  const open: Subscription[] = [];
  let stack: Stack | null = null;
  afterEach(async () => {
    for (const subscription of open.splice(0)) await subscription.close();
    await stack?.close();
    stack = null;
  });
  const keep = <S extends Subscription>(...subscriptions: S[]): S => {
    open.push(...subscriptions);
    return subscriptions[0] as S;
  };
  return {
    async start(options = {}) {
      stack = await startStack(options);
      return stack;
    },
    keep,
    async follow(on, key) {
      const server = await on.listen();
      const subscription = keep(subscribeWithClient(`${server.url}/graphql`, key));
      await until(() => subscription.results.length > 0, 'the first answer');
      return subscription;
    },
  };
}
