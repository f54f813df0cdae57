/**
 * `/ready` as an orchestrator sees it: one short attempt per probe whatever Amplify does, not
 * ready until Amplify first answers or while it refuses the credentials, and still ready (saying
 * why in the body) through an outage once it has answered, so the caches keep serving. Over real
 * HTTP, with the local Amplify's latency, hang and status faults.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { createReadiness, REFRESH_MS, type ReadyState } from '../../src/http/readiness.js';
import { createCircuitBreaker } from '../../src/upstream/circuit-breaker.js';
import { createSdkUpstream } from '../../src/upstream/sdk-upstream.js';
import type { AmplifyUpstream } from '../../src/upstream/upstream.js';
import {
  createGateway,
  type Gateway,
  type Stack,
  startStack,
  testConfig,
} from '../support/stack.js';
import { ordinaryJobs } from '../support/world.js';

/** The Deployment's readinessProbe.timeoutSeconds: the kubelet gives up after this. */
const KUBELET_TIMEOUT_MS = 3000;
/** The probe as production runs it: the client's own retries and timeouts are generous. */
const PRODUCTION_UPSTREAM = {
  READINESS_PROBE: 'upstream',
  READINESS_TIMEOUT_MS: '300',
  UPSTREAM_MAX_ATTEMPTS: '3',
  UPSTREAM_REQUEST_TIMEOUT_MS: '5000',
};

/** GET /ready as the kubelet does: a fresh connection, given up after its timeout. */
async function probe(gateway: Gateway): Promise<{ status: number; body: ReadyState }> {
  const running = await gateway.listen();
  const response = await fetch(`${running.url}/ready`, {
    headers: { connection: 'close' },
    signal: AbortSignal.timeout(KUBELET_TIMEOUT_MS),
  });
  return { status: response.status, body: (await response.json()) as ReadyState };
}

describe('/ready', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
  });
  afterAll(() => stack?.close());

  it.each([
    ['hangs', { kind: 'hang' as const }],
    ['answers after 4 s', { kind: 'latency' as const, latencyMs: 4000 }],
  ])(
    'answers within the kubelet timeout with one attempt when Amplify %s, and is not ready before its first answer',
    async (_name, fault) => {
      stack.la.faults.add({ ...fault, operations: 'ListApps' });
      const gateway = await stack.gateway(PRODUCTION_UPSTREAM);

      const answer = await probe(gateway);

      expect(answer).toEqual({
        status: 503,
        body: expect.objectContaining({
          ready: false,
          status: 'not_ready',
          upstream: 'unavailable',
          reason: ErrorCode.UPSTREAM_TIMEOUT,
        }),
      });
      // One attempt, not UPSTREAM_MAX_ATTEMPTS of them.
      expect(stack.la.stats.calls('ListApps')).toBe(1);
      // The attempt was cut, not left hanging on the local Amplify.
      for (let i = 0; i < 200 && stack.la.stats.inFlight > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(stack.la.stats.inFlight).toBe(0);
    },
  );

  it('is not ready while Amplify refuses the credentials: a rollout with a wrong role must stop', async () => {
    stack.la.faults.add({ kind: 'accessDenied', operations: 'ListApps' });
    const gateway = await stack.gateway(PRODUCTION_UPSTREAM);

    expect(await probe(gateway)).toEqual({
      status: 503,
      body: expect.objectContaining({
        ready: false,
        status: 'not_ready',
        upstream: 'refused',
        reason: ErrorCode.UPSTREAM_UNAUTHORIZED,
      }),
    });
  });

  it('stays ready on every replica when the breaker opens in an outage, and the cache keeps serving finished jobs', async () => {
    const env = {
      ...PRODUCTION_UPSTREAM,
      UPSTREAM_MAX_ATTEMPTS: '1',
      CIRCUIT_BREAKER_FAILURES: '3',
      // Long enough that the breaker cannot close during the test.
      CIRCUIT_BREAKER_OPEN_MS: '600000',
      CACHE_MAX_ENTRIES: '1000',
    };
    const replicas = [await stack.gateway(env), await stack.gateway(env)];
    const [finished] = ordinaryJobs(stack.la).filter(
      (job) =>
        stack.la.world.getJobWire(job.appId, job.branchName, job.jobId)?.job.summary.status ===
        'SUCCEED',
    );
    if (finished === undefined) throw new Error('the demo world has no finished job');
    const others = ordinaryJobs(stack.la).filter((job) => job.jobId !== finished.jobId);
    const query =
      'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId summary { status } } }';
    const read = (gateway: Gateway, job: { appId: string; branchName: string; jobId: string }) =>
      gateway.graphql(query, { a: job.appId, b: job.branchName, j: job.jobId });

    for (const replica of replicas) {
      expect(await probe(replica)).toMatchObject({
        status: 200,
        body: { ready: true, status: 'ready', upstream: 'available', circuitBreaker: 'closed' },
      });
      expect((await read(replica, finished)).errors).toBeUndefined();
    }

    // Amplify fails every call: each replica's breaker opens after three failed reads.
    stack.la.faults.add({ kind: 'status', statusCode: 503, body: 'json' });
    for (const replica of replicas) {
      for (const job of others.slice(0, 3)) {
        expect((await read(replica, job)).errors?.[0]?.extensions?.code).toBe(
          ErrorCode.UPSTREAM_UNAVAILABLE,
        );
      }
      expect(replica.app.breaker.state).toBe('open');
    }

    for (const replica of replicas) {
      // The breaker's change makes /ready probe again at once: the outage is in the body, and
      // the replica stays in the Service.
      expect(await probe(replica)).toEqual({
        status: 200,
        body: expect.objectContaining({
          ready: true,
          status: 'degraded',
          upstream: 'unavailable',
          reason: ErrorCode.UPSTREAM_UNAVAILABLE,
          circuitBreaker: 'open',
        }),
      });
      const cached = await read(replica, finished);
      expect(cached).toEqual({
        data: { job: { jobId: finished.jobId, summary: { status: 'SUCCEED' } } },
      });
    }
  });

  it('shares one probe between concurrent checks', async () => {
    const gateway = await stack.gateway(PRODUCTION_UPSTREAM);
    const answers = await Promise.all([1, 2, 3, 4].map(() => probe(gateway)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(stack.la.stats.calls('ListApps')).toBe(1);
  });

  it('answers 503 while the upstream cannot be reached, naming the reason', async () => {
    // A port that was open a moment ago and is closed now: connection refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const config = testConfig({ READINESS_PROBE: 'upstream', UPSTREAM_MAX_ATTEMPTS: '1' });
    const upstream = createSdkUpstream({
      config: config.upstream,
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      onUnknownValue: () => undefined,
      onWireProblem: () => undefined,
    });
    const gateway = await createGateway({ upstream, env: { READINESS_PROBE: 'upstream' } });
    try {
      expect(await probe(gateway)).toEqual({
        status: 503,
        body: expect.objectContaining({
          ready: false,
          reason: ErrorCode.UPSTREAM_CONNECTION_REFUSED,
        }),
      });
    } finally {
      await gateway.close();
    }
  });

  it('answers 200 once the upstream answers, and 503 while draining', async () => {
    const gateway = await stack.gateway({ READINESS_PROBE: 'upstream' });
    const running = await gateway.listen();
    const ready = await fetch(`${running.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, status: 'ready' });
    expect(stack.la.stats.calls('ListApps')).toBe(1);
    // Probes within the refresh window share the answer instead of calling AWS again.
    await Promise.all([1, 2, 3].map(() => fetch(`${running.url}/ready`).then((r) => r.text())));
    expect(stack.la.stats.calls('ListApps')).toBe(1);
    // Draining (set by close() before the listener stops): a request on a kept-alive connection
    // still gets an answer, and it is 503.
    gateway.app.startDraining();
    const draining = await fetch(`${running.url}/ready`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ status: 'draining' });
  });
});

describe('the readiness state over time', () => {
  let stack: Stack;
  let upstream: AmplifyUpstream;
  let clock = 0;
  const now = () => clock;

  beforeAll(async () => {
    stack = await startStack();
    // Retries would hide the one failure the breaker test needs.
    const config = testConfig({ UPSTREAM_MAX_ATTEMPTS: '1' });
    upstream = createSdkUpstream({
      config: config.upstream,
      ...stack.la.clientConfig(),
      onUnknownValue: () => undefined,
      onWireProblem: () => undefined,
    });
  });
  afterEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
  });
  afterAll(async () => {
    upstream?.destroy();
    await stack?.close();
  });

  it('turns degraded, not unready, in an outage after its first answer; unready when the credentials are refused; ready again after', async () => {
    const readiness = createReadiness({ upstream, timeoutMs: 300, now });
    const next = async () => {
      clock += REFRESH_MS;
      return readiness.check();
    };

    expect(await readiness.check()).toMatchObject({ ready: true, status: 'ready' });

    stack.la.faults.add({ kind: 'hang', operations: 'ListApps' });
    expect(await next()).toMatchObject({
      ready: true,
      status: 'degraded',
      upstream: 'unavailable',
      reason: ErrorCode.UPSTREAM_TIMEOUT,
    });
    stack.la.faults.clear();
    stack.la.faults.add({ kind: 'status', statusCode: 500, body: 'json', operations: 'ListApps' });
    expect(await next()).toMatchObject({
      ready: true,
      status: 'degraded',
      reason: 'UPSTREAM_UNAVAILABLE',
    });
    stack.la.faults.clear();
    stack.la.faults.add({ kind: 'unauthorized', operations: 'ListApps' });
    expect(await next()).toMatchObject({ ready: false, status: 'not_ready', upstream: 'refused' });
    // Refused credentials undo the first answer: an outage right after is not ready either.
    stack.la.faults.clear();
    stack.la.faults.add({ kind: 'status', statusCode: 503, body: 'json', operations: 'ListApps' });
    expect(await next()).toMatchObject({
      ready: false,
      status: 'not_ready',
      upstream: 'unavailable',
    });
    stack.la.faults.clear();
    expect(await next()).toMatchObject({ ready: true, status: 'ready', upstream: 'available' });
    // One probe per refresh window, each of one attempt.
    expect(stack.la.stats.calls('ListApps')).toBe(6);
  });

  it('answers the last known state at once while a probe is in flight', async () => {
    const readiness = createReadiness({ upstream, timeoutMs: 1000, now });
    expect(await readiness.check()).toMatchObject({ status: 'ready' });

    stack.la.faults.add({ kind: 'hang', operations: 'ListApps' });
    clock += REFRESH_MS;
    const order: string[] = [];
    const probing = readiness.check().then((state) => {
      order.push('probe');
      return state;
    });
    // Wait until the probe has reached the local Amplify, then ask again.
    for (let i = 0; i < 200 && stack.la.stats.calls('ListApps') < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const meanwhile = readiness.check().then((state) => {
      order.push('meanwhile');
      return state;
    });

    expect(await meanwhile).toMatchObject({ ready: true, status: 'ready' });
    expect(await probing).toMatchObject({
      ready: true,
      status: 'degraded',
      reason: 'UPSTREAM_TIMEOUT',
    });
    expect(order).toEqual(['meanwhile', 'probe']);
    expect(stack.la.stats.calls('ListApps')).toBe(2);
  });

  it('closes an open circuit breaker by itself once its pause is over, with no traffic at all', async () => {
    const breaker = createCircuitBreaker({
      breaker: { failures: 1, openMs: 100 },
      throttlePauseMs: null,
    });
    const readiness = createReadiness({
      upstream,
      timeoutMs: 1000,
      now,
      breakerState: () => breaker.state,
      onProbeSuccess: () => breaker.reportSuccess(),
    });
    stack.la.faults.add({ kind: 'internal', operations: 'GetJob', count: 1 });
    const [job] = ordinaryJobs(stack.la);
    if (job === undefined) throw new Error('no job');
    await expect(breaker.wrap(upstream).getJob(job)).rejects.toMatchObject({
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
    });
    expect(breaker.state).toBe('open');

    // Within the pause, Amplify answers the probe but the breaker stays open (said in the body).
    expect(await readiness.check()).toMatchObject({
      ready: true,
      upstream: 'available',
      circuitBreaker: 'open',
    });
    // After the pause (100 ms of real time: cockatiel's clock), the next probe closes it.
    await new Promise((resolve) => setTimeout(resolve, 150));
    clock += REFRESH_MS;
    expect(await readiness.check()).toMatchObject({ ready: true, circuitBreaker: 'closed' });
    expect(breaker.state).toBe('closed');
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });

  it('never counts a failed probe against the circuit breaker', async () => {
    const breaker = createCircuitBreaker({
      breaker: { failures: 1, openMs: 60_000 },
      throttlePauseMs: null,
    });
    const readiness = createReadiness({
      upstream,
      timeoutMs: 200,
      now,
      breakerState: () => breaker.state,
      onProbeSuccess: () => breaker.reportSuccess(),
    });
    stack.la.faults.add({ kind: 'hang', operations: 'ListApps' });
    expect(await readiness.check()).toMatchObject({ ready: false, reason: 'UPSTREAM_TIMEOUT' });
    expect(breaker.state).toBe('closed');
  });
});
