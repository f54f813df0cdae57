/**
 * /metrics over real HTTP: the exposition passes `promtool check metrics` (Debian's prometheus
 * package; under CI=true this test must run), and the counters move exactly as the traffic says.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { createMetrics, MAX_OPERATION_NAMES } from '../../src/observability/metrics.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { promtoolTestsRun } from '../ship/tools.js';
import { metricValue } from '../support/metrics.js';
import { type Stack, startStack } from '../support/stack.js';
import { jobsFromDistinctBranches } from '../support/world.js';

const runPromtool = promtoolTestsRun();

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

describe('Prometheus metrics', () => {
  let stack: Stack;
  let server: RunningServer;
  let jobs: JobKey[];

  beforeAll(async () => {
    stack = await startStack({ env: { THROTTLE_PAUSE_MS: '0' } });
    server = await stack.listen();
    jobs = jobsFromDistinctBranches(stack.la, 3);
  });
  afterAll(() => stack?.close());
  beforeEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
  });

  const jobQuery = (key: JobKey, name = 'Job') =>
    `query ${name} { job(appId: "${key.appId}", branchName: ${JSON.stringify(key.branchName)}, jobId: "${key.jobId}") { jobId } }`;

  async function scrape(target: RunningServer = server, headers: Record<string, string> = {}) {
    const response = await fetch(`${target.url}/metrics`, { headers });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      text: await response.text(),
    };
  }

  it.skipIf(!runPromtool)(
    'exposes metrics that pass promtool check metrics, after traffic of every kind',
    async () => {
      const [a, b] = jobs as [JobKey, JobKey];
      await stack.graphql(jobQuery(a));
      await stack.graphql(jobQuery({ ...b, jobId: '999999' }, 'Missing'));
      stack.la.faults.add({ kind: 'unavailable', operations: 'GetJob', count: 1 });
      await stack.graphql(jobQuery(b, 'Failing'));
      await stack.graphql(`{ ${'__typename '.repeat(9000)}}`);
      stack.app.metrics.cache('job');

      const { status, type, text } = await scrape();
      expect(status).toBe(200);
      expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
      for (const name of [
        'amplify_upstream_calls_total',
        'amplify_upstream_call_duration_seconds_bucket',
        'amplify_upstream_calls_in_flight',
        'amplify_circuit_breaker_state',
        'graphql_operations_total',
        'graphql_operation_duration_seconds_bucket',
        'graphql_errors_total',
        'graphql_operations_rejected_total',
        'gateway_cache_hits_total',
        'gateway_cache_misses_total',
      ]) {
        expect(text, name).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
      }

      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(
        check.error,
        'promtool must be installed (apt-get install -y prometheus)',
      ).toBeUndefined();
      expect(`${check.stdout}${check.stderr}`).toBe('');
      expect(check.status).toBe(0);
    },
  );

  it('counts Amplify calls by operation and outcome, one per operation whatever its retries', async () => {
    const m = stack.app.metrics;
    const before = {
      success: await metricValue(m, 'amplify_upstream_calls_total', {
        operation: 'GetJob',
        outcome: 'success',
      }),
      notFound: await metricValue(m, 'amplify_upstream_calls_total', {
        operation: 'GetJob',
        outcome: 'not_found',
      }),
      unavailable: await metricValue(m, 'amplify_upstream_calls_total', {
        operation: 'GetJob',
        outcome: 'unavailable',
      }),
      throttled: await metricValue(m, 'amplify_upstream_calls_total', {
        operation: 'GetJob',
        outcome: 'throttled',
      }),
      retries: await metricValue(m, 'amplify_upstream_retries_total', { operation: 'GetJob' }),
    };
    const [a, b, c] = jobs as [JobKey, JobKey, JobKey];

    await stack.graphql(`{ a: ${jobQuery(a).slice(11, -2)} b: ${jobQuery(b).slice(11, -2)} }`);
    await stack.graphql(jobQuery({ ...c, jobId: '999999' }));
    stack.la.faults.add({ kind: 'internal', operations: 'GetJob', count: 1 });
    await stack.graphql(jobQuery(c));
    const retrying = await stack.gateway({ UPSTREAM_MAX_ATTEMPTS: '3', THROTTLE_PAUSE_MS: '0' });
    stack.la.faults.add({ kind: 'throttle', operations: 'GetJob', count: 3 });
    await retrying.graphql(jobQuery(c));
    const r = retrying.app.metrics;

    expect(
      await metricValue(m, 'amplify_upstream_calls_total', {
        operation: 'GetJob',
        outcome: 'success',
      }),
    ).toBe(before.success + 2);
    expect(
      await metricValue(m, 'amplify_upstream_calls_total', {
        operation: 'GetJob',
        outcome: 'not_found',
      }),
    ).toBe(before.notFound + 1);
    expect(
      await metricValue(m, 'amplify_upstream_calls_total', {
        operation: 'GetJob',
        outcome: 'unavailable',
      }),
    ).toBe(before.unavailable + 1);
    expect(
      await metricValue(m, 'amplify_upstream_calls_total', {
        operation: 'GetJob',
        outcome: 'throttled',
      }),
    ).toBe(before.throttled);
    // The other gateway: one operation, three attempts (two retries), throttled in the end.
    expect(
      await metricValue(r, 'amplify_upstream_calls_total', {
        operation: 'GetJob',
        outcome: 'throttled',
      }),
    ).toBe(1);
    expect(await metricValue(r, 'amplify_upstream_retries_total', { operation: 'GetJob' })).toBe(2);
    expect(stack.la.stats.calls('GetJob')).toBe(4 + 3);
    expect(await metricValue(m, 'amplify_upstream_calls_in_flight')).toBe(0);
  });

  it('counts GraphQL operations by name, and errors and refusals by code and limit', async () => {
    const m = stack.app.metrics;
    const [a] = jobs as [JobKey];
    const ops = () =>
      metricValue(m, 'graphql_operations_total', {
        operation_name: 'Dash',
        operation_type: 'query',
      });
    const notFound = () =>
      metricValue(m, 'graphql_errors_total', { operation_name: 'Dash', code: 'NOT_FOUND' });
    const tokens = () => metricValue(m, 'graphql_operations_rejected_total', { limit: 'tokens' });
    const budget = () =>
      metricValue(m, 'graphql_operations_rejected_total', { limit: 'upstream_calls' });
    const [ops0, notFound0, tokens0, budget0] = [
      await ops(),
      await notFound(),
      await tokens(),
      await budget(),
    ];

    await stack.graphql(jobQuery(a, 'Dash'));
    await stack.graphql(jobQuery({ ...a, jobId: '999999' }, 'Dash'));
    // The same hostile document twice: counted twice, although Yoga caches its parse.
    await stack.graphql(`{ ${'__typename '.repeat(9000)}}`);
    await stack.graphql(`{ ${'__typename '.repeat(9000)}}`);
    const many = Array.from(
      { length: 51 },
      (_, i) => `j${i}: job(appId: "${a.appId}", branchName: "main", jobId: "${i + 1}") { jobId }`,
    );
    await stack.graphql(`query Many { ${many.join(' ')} }`);

    expect(await ops()).toBe(ops0 + 2);
    expect(await notFound()).toBe(notFound0 + 1);
    expect(await tokens()).toBe(tokens0 + 2);
    expect(await budget()).toBe(budget0 + 1);
    expect(
      await metricValue(m, 'graphql_errors_total', {
        operation_name: 'Many',
        code: 'OPERATION_LIMIT_EXCEEDED',
      }),
    ).toBe(1);
  });

  it(`keeps operation names bounded: past ${MAX_OPERATION_NAMES} distinct names they read __other__`, async () => {
    const gateway = await stack.gateway();
    for (let i = 0; i < MAX_OPERATION_NAMES + 5; i++)
      await gateway.graphql(`query Op${i} { __typename }`);
    const names = new Set(
      (
        await gateway.app.metrics.registry.getSingleMetric('graphql_operations_total')?.get()
      )?.values.map((v) => String(v.labels.operation_name)),
    );
    expect(names.size).toBe(MAX_OPERATION_NAMES + 1);
    expect(names.has('__other__')).toBe(true);
    expect(names.has(`Op${MAX_OPERATION_NAMES + 4}`)).toBe(false);
    expect(
      await metricValue(gateway.app.metrics, 'graphql_operations_total', {
        operation_name: '__other__',
      }),
    ).toBe(5);
  });

  it('counts refused credentials by reason, and HTTP responses by route and status', async () => {
    const gateway = await stack.gateway({ API_KEYS: `k:read:${'0'.repeat(64)}` });
    const target = await gateway.listen();
    const attempts: Array<Record<string, string>> = [
      {},
      { 'x-api-key': 'wrong' },
      { 'x-api-key': 'wrong' },
    ];
    for (const headers of attempts) {
      await fetch(`${target.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{"query":"{ __typename }"}',
      });
    }
    await fetch(`${target.url}/health`);
    const m = gateway.app.metrics;

    expect(await metricValue(m, 'gateway_auth_failures_total', { reason: 'missing' })).toBe(1);
    expect(await metricValue(m, 'gateway_auth_failures_total', { reason: 'unknown_key' })).toBe(2);
    expect(
      await metricValue(m, 'gateway_http_responses_total', { route: 'graphql', status: '401' }),
    ).toBe(3);
    expect(
      await metricValue(m, 'gateway_http_responses_total', { route: 'health', status: '200' }),
    ).toBe(1);
  });

  it("counts the caches' reports, and shows Redis availability only once Redis has reported", async () => {
    const metrics = createMetrics();
    expect(await metrics.registry.metrics()).not.toMatch(/gateway_redis_available/);
    metrics.cacheEvent({ cache: 'upstream', outcome: 'hit' });
    metrics.cacheEvent({ cache: 'upstream', outcome: 'miss' });
    metrics.cacheEvent({ cache: 'upstream', outcome: 'hit' });
    metrics.cacheEvent({ cache: 'response', outcome: 'store' });
    metrics.cacheEvent({ cache: 'redis', outcome: 'unavailable' });

    expect(await metricValue(metrics, 'gateway_cache_hits_total', { cache: 'upstream' })).toBe(2);
    expect(await metricValue(metrics, 'gateway_cache_misses_total', { cache: 'upstream' })).toBe(1);
    expect(await metricValue(metrics, 'gateway_redis_available')).toBe(0);
    metrics.cacheEvent({ cache: 'redis', outcome: 'available' });
    expect(await metricValue(metrics, 'gateway_redis_available')).toBe(1);
  });

  it('asks for METRICS_TOKEN when one is set, and has no /metrics with METRICS=false', async () => {
    const guarded = await (await stack.gateway({ METRICS_TOKEN })).listen();
    expect((await scrape(guarded)).status).toBe(401);
    expect((await scrape(guarded, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(
      401,
    );
    const allowed = await scrape(guarded, { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(allowed.status).toBe(200);
    expect(allowed.text).toMatch(/^amplify_circuit_breaker_state\{state="closed"\} 1$/m);

    const off = await (await stack.gateway({ METRICS: 'false' })).listen();
    expect((await scrape(off)).status).toBe(404);
  });
});
