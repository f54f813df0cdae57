/**
 * Fault storms through the local Amplify's faults: the gateway answers the right codes, keeps
 * serving (and its memory bounded), opens its circuit breaker on 5xx, resets, timeouts and
 * unreadable answers (never on a 4xx), answers at once while open, probes after its pause, and
 * the first request after the storm closes it; a throttle burst pauses calls instead of piling
 * retries.
 *
 * Scaled down in time: the "5xx for 30 s" storm (`*:status:code=503,body=json,for=30s`)
 * lasts 3 s here, with the breaker's pause at 1 s instead of 10 s. What is proven is the same
 * (opens, answers without calls, probes once per pause, closes after the storm) at a tenth of the
 * wait.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ErrorCode, GatewayError } from '../../src/errors.js';
import { createCircuitBreaker } from '../../src/upstream/circuit-breaker.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import type { AmplifyUpstream } from '../../src/upstream/upstream.js';
import { metricValue } from '../support/metrics.js';
import { type Gateway, type GraphQLBody, type Stack, startStack } from '../support/stack.js';
import { jobsFromDistinctBranches, ordinaryJobs } from '../support/world.js';

const OPEN_MS = 1000;
const STORM_MS = 3000;
const BREAKER_ENV = {
  CIRCUIT_BREAKER_FAILURES: '5',
  CIRCUIT_BREAKER_OPEN_MS: String(OPEN_MS),
  UPSTREAM_REQUEST_TIMEOUT_MS: '300',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** V8's full garbage collection, without starting the test process with --expose-gc. */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

describe('fault storms', () => {
  let stack: Stack;
  let job: JobKey;

  beforeAll(async () => {
    stack = await startStack();
    [job] = jobsFromDistinctBranches(stack.la, 1) as [JobKey];
  });
  afterEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
  });
  afterAll(() => stack?.close());

  const JOB_QUERY =
    'query Job($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId } }';
  const ask = (gateway: Gateway): Promise<GraphQLBody> =>
    gateway.graphql(JOB_QUERY, { a: job.appId, b: job.branchName, j: job.jobId });
  const codeOf = (body: GraphQLBody) => body.errors?.[0]?.extensions?.code ?? 'OK';

  async function ready(gateway: Gateway) {
    const running = await gateway.listen();
    const response = await fetch(`${running.url}/ready`);
    return {
      status: response.status,
      body: (await response.json()) as { circuitBreaker: string; reason?: string },
    };
  }

  it('opens on a 5xx storm, answers at once without calls, probes once per pause, keeps the replica ready, and closes on the first request after the storm', async () => {
    const gateway = await stack.gateway({ ...BREAKER_ENV, READINESS_PROBE: 'upstream' });
    // Ready before the storm: Amplify has answered the readiness probe once.
    expect(await ready(gateway)).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'ready', circuitBreaker: 'closed' }),
    });
    stack.la.stats.reset();
    // 503s for every operation (GetJob and the readiness probe's ListApps), for STORM_MS of real
    // time; the rule then expires by itself.
    const storm = stack.la.faults.add({
      kind: 'status',
      statusCode: 503,
      body: 'json',
      forMs: STORM_MS,
    });
    const stormLasts = () =>
      (stack.la.faults.list().find((rule) => rule.id === storm)?.expiresInMs ?? 0) > 0;
    const codes: string[] = [];
    let shortCircuited = 0;
    let readyDuringStorm: Awaited<ReturnType<typeof ready>> | null = null;
    while (stormLasts()) {
      const body = await ask(gateway);
      codes.push(String(codeOf(body)));
      if (body.errors?.[0]?.extensions?.shortCircuited === 'circuit_open') shortCircuited += 1;
      if (shortCircuited === 1 && readyDuringStorm === null)
        readyDuringStorm = await ready(gateway);
      await sleep(20);
    }
    const callsDuringStorm = stack.la.stats.calls();

    // Every answer named the outage; the first five reached Amplify, then the breaker took over.
    expect(new Set(codes)).toEqual(new Set([ErrorCode.UPSTREAM_UNAVAILABLE]));
    expect(codes.length).toBeGreaterThan(30);
    expect(shortCircuited).toBeGreaterThan(codes.length - 10);
    // 5 failures to open, then one probe per pause (and one /ready probe), never one per request.
    expect(callsDuringStorm).toBeGreaterThanOrEqual(5);
    expect(callsDuringStorm).toBeLessThanOrEqual(5 + Math.ceil(STORM_MS / OPEN_MS) + 2);
    // The outage is in /ready's body, but the replica stays in the Service.
    expect(readyDuringStorm).toEqual({
      status: 200,
      body: expect.objectContaining({
        ready: true,
        status: 'degraded',
        upstream: 'unavailable',
        circuitBreaker: 'open',
        reason: ErrorCode.UPSTREAM_UNAVAILABLE,
      }),
    });
    expect(
      await metricValue(gateway.app.metrics, 'amplify_circuit_breaker_state', { state: 'open' }),
    ).toBe(1);

    // The storm is over. Every failed probe ended before the loop saw the rule expire, so one
    // pause later the breaker lets the next request through, and that one request closes it.
    await sleep(OPEN_MS + 100);
    const before = stack.la.stats.calls('GetJob');
    expect(await ask(gateway)).toEqual({ data: { job: { jobId: job.jobId } } });
    expect(stack.la.stats.calls('GetJob')).toBe(before + 1);
    expect(gateway.app.breaker.state).toBe('closed');
    expect(await ready(gateway)).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'ready', circuitBreaker: 'closed' }),
    });
    expect(
      await metricValue(gateway.app.metrics, 'amplify_circuit_breaker_transitions_total', {
        state: 'open',
      }),
    ).toBeGreaterThanOrEqual(1);
    // The requests that came during a pause were answered without Amplify.
    expect(
      await metricValue(gateway.app.metrics, 'amplify_upstream_short_circuited_total', {
        reason: 'circuit_open',
      }),
    ).toBeGreaterThanOrEqual(shortCircuited);
  }, 20_000);

  it.each([
    ['connection resets', { kind: 'reset' as const }, ErrorCode.UPSTREAM_CONNECTION_RESET],
    [
      '502 pages from a proxy',
      { kind: 'status' as const, statusCode: 502, body: 'html' as const },
      ErrorCode.UPSTREAM_UNREADABLE_RESPONSE,
    ],
    ['timeouts (Amplify never answers)', { kind: 'hang' as const }, ErrorCode.UPSTREAM_TIMEOUT],
    ['500 InternalFailureException', { kind: 'internal' as const }, ErrorCode.UPSTREAM_UNAVAILABLE],
  ])(
    'opens on %s too, after five in a row, then answers without calling',
    async (_name, fault, code) => {
      const gateway = await stack.gateway(BREAKER_ENV);
      stack.la.faults.add({ ...fault, operations: 'GetJob', count: 5 });

      for (let i = 0; i < 5; i++) {
        expect(codeOf(await ask(gateway))).toBe(code);
      }
      expect(stack.la.stats.calls('GetJob')).toBe(5);
      expect(gateway.app.breaker.state).toBe('open');

      // 50 requests at once while open: all answered, none reaches Amplify.
      const burst = await Promise.all(Array.from({ length: 50 }, () => ask(gateway)));
      expect(burst.map((b) => b.errors?.[0]?.extensions?.shortCircuited)).toEqual(
        Array(50).fill('circuit_open'),
      );
      expect(stack.la.stats.calls('GetJob')).toBe(5);

      // The faults are spent: after the pause the probe succeeds and closes it.
      await sleep(OPEN_MS + 50);
      expect(codeOf(await ask(gateway))).toBe('OK');
      expect(gateway.app.breaker.state).toBe('closed');
    },
    20_000,
  );

  it('stays closed on answers retrying cannot mend: a 200 that is not JSON', async () => {
    const gateway = await stack.gateway(BREAKER_ENV);
    stack.la.faults.add({ kind: 'malformed', operations: 'GetJob', count: 8 });

    for (let i = 0; i < 8; i++) {
      const body = await ask(gateway);
      expect(body.errors?.[0]?.extensions).toMatchObject({
        code: ErrorCode.UPSTREAM_UNREADABLE_RESPONSE,
        retryable: false,
      });
    }
    expect(stack.la.stats.calls('GetJob')).toBe(8);
    expect(gateway.app.breaker.state).toBe('closed');
    expect(codeOf(await ask(gateway))).toBe('OK');
  });

  it('never opens on 4xx answers: not found, unauthorized, bad request', async () => {
    const gateway = await stack.gateway(BREAKER_ENV);
    const missing = { a: job.appId, b: job.branchName, j: '999999' };
    stack.la.faults.add({ kind: 'unauthorized', operations: 'GetJob', count: 10 });
    stack.la.faults.add({ kind: 'accessDenied', operations: 'GetJob', count: 10 });

    const codes: string[] = [];
    for (let i = 0; i < 30; i++) {
      codes.push(String(codeOf(await gateway.graphql(JOB_QUERY, missing))));
    }

    expect(codes.filter((c) => c === ErrorCode.UPSTREAM_UNAUTHORIZED)).toHaveLength(20);
    expect(codes.filter((c) => c === ErrorCode.NOT_FOUND)).toHaveLength(10);
    expect(stack.la.stats.calls('GetJob')).toBe(30);
    expect(gateway.app.breaker.state).toBe('closed');
  });

  it('serves through latency spikes shorter than the request timeout, breaker closed', async () => {
    const gateway = await stack.gateway(BREAKER_ENV);
    stack.la.faults.add({ kind: 'latency', operations: 'GetJob', latencyMs: 100, jitterMs: 100 });

    const bodies = await Promise.all(Array.from({ length: 10 }, () => ask(gateway)));

    expect(bodies.map(codeOf)).toEqual(Array(10).fill('OK'));
    expect(gateway.app.breaker.state).toBe('closed');
  });

  it('pauses calls during a throttle burst instead of piling retries, doubles the pause while it lasts, and resumes after it', async () => {
    // The pause is timed with Date.now (cockatiel): the test moves that clock instead of waiting,
    // with pauses long enough (10 s, then 20 s) that a slow machine cannot cross one by itself.
    const realNow = Date.now.bind(Date);
    let moved = 0;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + moved);
    onTestFinished(() => clock.mockRestore());
    const gateway = await stack.gateway({
      ...BREAKER_ENV,
      UPSTREAM_MAX_ATTEMPTS: '2',
      THROTTLE_PAUSE_MS: '10000',
    });
    const burst = stack.la.faults.add({ kind: 'throttle', operations: 'GetJob' });
    const shortCircuit = async () => (await ask(gateway)).errors?.[0]?.extensions?.shortCircuited;

    // Throttled even after the SDK's retry: the calls pause.
    const first = await ask(gateway);
    expect(first.errors?.[0]?.extensions).toMatchObject({
      code: ErrorCode.UPSTREAM_THROTTLED,
      retryable: true,
      upstream: { attempts: 2 },
    });
    expect(stack.la.stats.calls('GetJob')).toBe(2);
    const paused = await Promise.all(Array.from({ length: 20 }, () => ask(gateway)));
    expect(paused.map((b) => b.errors?.[0]?.extensions)).toEqual(
      Array(20).fill({
        code: ErrorCode.UPSTREAM_THROTTLED,
        retryable: true,
        shortCircuited: 'throttle_pause',
      }),
    );
    expect(stack.la.stats.calls('GetJob')).toBe(2);
    moved += 5_000;
    expect(await shortCircuit()).toBe('throttle_pause');
    expect(stack.la.stats.calls('GetJob')).toBe(2);

    // The first pause is over: one probe goes through, still throttled, and the pause doubles.
    moved += 5_001;
    expect(codeOf(await ask(gateway))).toBe(ErrorCode.UPSTREAM_THROTTLED);
    expect(stack.la.stats.calls('GetJob')).toBe(4);
    moved += 15_000;
    expect(await shortCircuit()).toBe('throttle_pause');
    expect(stack.la.stats.calls('GetJob')).toBe(4);

    // The burst is over: after the doubled pause the gateway serves again, breaker never opened.
    stack.la.faults.remove(burst);
    moved += 5_001;
    expect(codeOf(await ask(gateway))).toBe('OK');
    expect(stack.la.stats.calls('GetJob')).toBe(5);
    expect(gateway.app.breaker.state).toBe('closed');
    // The 20 concurrent requests shared one call (single-flight): one short circuit, then two.
    expect(
      await metricValue(gateway.app.metrics, 'amplify_upstream_short_circuited_total', {
        reason: 'throttle_pause',
      }),
    ).toBe(3);
  }, 20_000);

  it('keeps memory bounded through a storm: after thousands of failed requests and a GC, the heap is back where it was', async () => {
    // Every request reaches Amplify (no breaker, no pause) and fails one of four ways.
    const gateway = await stack.gateway({ CIRCUIT_BREAKER_FAILURES: '0', THROTTLE_PAUSE_MS: '0' });
    stack.la.faults.add({ kind: 'reset', operations: 'GetJob', ratio: 0.25 });
    stack.la.faults.add({
      kind: 'status',
      statusCode: 503,
      body: 'json',
      operations: 'GetJob',
      ratio: 0.34,
    });
    stack.la.faults.add({ kind: 'malformed', operations: 'GetJob', ratio: 0.5 });
    stack.la.faults.add({ kind: 'throttle', operations: 'GetJob' });
    const keys = ordinaryJobs(stack.la);
    const storm = async (requests: number) => {
      const codes = new Set<string>();
      for (let sent = 0; sent < requests; sent += 50) {
        const bodies = await Promise.all(
          Array.from({ length: 50 }, (_, i) => {
            const key = keys[(sent + i) % keys.length] as JobKey;
            return gateway.graphql(JOB_QUERY, { a: key.appId, b: key.branchName, j: key.jobId });
          }),
        );
        for (const body of bodies) codes.add(String(codeOf(body)));
      }
      return codes;
    };
    const heapAfterGc = () => {
      collectGarbage();
      collectGarbage();
      return process.memoryUsage().heapUsed;
    };

    // A first storm warms up what is made once (compiled code, metric series, the local Amplify's
    // ring of recent requests); the second must not keep anything of its own.
    await storm(1_500);
    const before = heapAfterGc();
    const codes = await storm(1_500);
    const after = heapAfterGc();

    expect(codes).toEqual(
      new Set([
        ErrorCode.UPSTREAM_CONNECTION_RESET,
        ErrorCode.UPSTREAM_UNAVAILABLE,
        ErrorCode.UPSTREAM_UNREADABLE_RESPONSE,
        ErrorCode.UPSTREAM_THROTTLED,
      ]),
    );
    expect(stack.la.stats.calls('GetJob')).toBeGreaterThanOrEqual(3_000);
    // What is left of warming up is well under 2 MB (measured: about 0.5 to 1.5); keeping 4 KB
    // of each failed request (an error with its SDK response) would be 6 MB.
    expect(after - before).toBeLessThan(6 * 1024 * 1024);
    expect(await ask(gateway)).toMatchObject({ errors: expect.any(Array) });
    stack.la.faults.clear();
    expect(await ask(gateway)).toEqual({ data: { job: { jobId: job.jobId } } });
  }, 60_000);

  it('leaves nothing in flight after the storms, and keeps serving', async () => {
    const gateway = await stack.gateway(BREAKER_ENV);
    // Three requests share the one hanging call (single-flight).
    stack.la.faults.add({ kind: 'hang', operations: 'GetJob', count: 1 });
    const timedOut = await Promise.all(Array.from({ length: 3 }, () => ask(gateway)));
    expect(timedOut.map(codeOf)).toEqual(Array(3).fill(ErrorCode.UPSTREAM_TIMEOUT));

    // The SDK gave up on the hanging calls; their sockets close right after.
    for (let i = 0; i < 100 && stack.la.stats.inFlight > 0; i++) await sleep(10);
    expect(stack.la.stats.inFlight).toBe(0);
    expect(await metricValue(gateway.app.metrics, 'amplify_upstream_calls_in_flight')).toBe(0);
    expect(await ask(gateway)).toEqual({ data: { job: { jobId: job.jobId } } });
  });
});

describe('the circuit breaker around an upstream', () => {
  const failing = () =>
    Promise.reject(new GatewayError(ErrorCode.UPSTREAM_UNAVAILABLE, 'Amplify failed (HTTP 503).'));

  it('covers call methods the upstream gains later, and shares one state across them', async () => {
    const calls: string[] = [];
    const upstream = {
      getJob: () => {
        calls.push('getJob');
        return failing();
      },
      listJobs: () => {
        calls.push('listJobs');
        return failing();
      },
      checkReady: () => Promise.resolve(),
      region: () => Promise.resolve('us-east-1'),
      destroy: () => undefined,
    } as unknown as AmplifyUpstream & { listJobs(): Promise<unknown> };
    const breaker = createCircuitBreaker({
      breaker: { failures: 3, openMs: 60_000 },
      throttlePauseMs: null,
    });
    const wrapped = breaker.wrap(upstream) as typeof upstream;

    for (let i = 0; i < 3; i++) await expect(wrapped.listJobs()).rejects.toThrow(/HTTP 503/);
    expect(breaker.state).toBe('open');
    await expect(
      wrapped.getJob({ appId: 'd1', branchName: 'm', jobId: '1' }),
    ).rejects.toMatchObject({
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      details: { shortCircuited: 'circuit_open' },
    });
    await expect(wrapped.checkReady()).rejects.toMatchObject({
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
    });
    expect(await wrapped.region()).toBe('us-east-1');
    expect(calls).toEqual(['listJobs', 'listJobs', 'listJobs']);
  });
});
