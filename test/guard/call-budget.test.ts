/**
 * The upstream-call budget's second line: the per-request loaders count every Amplify call and
 * refuse the ones past MAX_UPSTREAM_CALLS_PER_OPERATION, whatever the estimate before execution
 * missed, and whichever upstream method makes them (methods added later included).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { createCallBudget } from '../../src/loaders/call-budget.js';
import { createLoaders } from '../../src/loaders/index.js';
import { createSdkUpstream } from '../../src/upstream/sdk-upstream.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import type { AmplifyUpstream } from '../../src/upstream/upstream.js';
import { type Stack, startStack, testConfig } from '../support/stack.js';
import { jobsFromDistinctBranches } from '../support/world.js';

describe('the upstream-call budget in the loaders', () => {
  let stack: Stack;
  let upstream: AmplifyUpstream;
  let jobs: JobKey[];

  beforeAll(async () => {
    stack = await startStack();
    upstream = createSdkUpstream({
      config: testConfig({ UPSTREAM_MAX_ATTEMPTS: '1' }).upstream,
      ...stack.la.clientConfig(),
      onUnknownValue: () => undefined,
      onWireProblem: () => undefined,
    });
    jobs = jobsFromDistinctBranches(stack.la, 3);
  });
  afterAll(async () => {
    upstream?.destroy();
    await stack?.close();
  });
  beforeEach(() => stack.la.stats.reset());

  it('makes exactly the budgeted number of calls and refuses the rest in their own slots', async () => {
    const loaders = createLoaders(upstream, { maxConcurrency: 10, maxUpstreamCalls: 2 });

    const results = await Promise.allSettled(jobs.map((key) => loaders.job.load(key)));

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    const refused = (results[2] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).toExtensions()).toMatchObject({
      code: 'OPERATION_LIMIT_EXCEEDED',
      retryable: false,
      limit: 'upstream_calls',
      max: 2,
    });
    expect((refused as GatewayError).message).toMatch(/budget of 2 Amplify calls/);
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });

  it('counts a repeated job once (the loader shares it) and starts afresh for each request', async () => {
    const first = createLoaders(upstream, { maxConcurrency: 10, maxUpstreamCalls: 1 });
    const key = jobs[0] as JobKey;
    await Promise.all([first.job.load(key), first.job.load({ ...key })]);
    const second = createLoaders(upstream, { maxConcurrency: 10, maxUpstreamCalls: 1 });
    await second.job.load(jobs[1] as JobKey);

    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });

  it('counts every call method of the upstream, including ones it gains later, but not its lifecycle', async () => {
    let started = 0;
    // A method this interface does not have (a DeleteJob, say).
    const grown = {
      ...upstream,
      deleteJob: async (key: JobKey) => {
        started += 1;
        return { ...key, jobId: '100' };
      },
    };
    const budget = createCallBudget(grown, 2);
    const wrapped = budget.upstream as unknown as typeof grown;

    await wrapped.deleteJob(jobs[0] as JobKey);
    await wrapped.getJob(jobs[0] as JobKey);
    await expect(wrapped.deleteJob(jobs[1] as JobKey)).rejects.toMatchObject({
      code: 'OPERATION_LIMIT_EXCEEDED',
    });
    expect(await wrapped.region()).toBe('us-east-1');
    expect(budget.spent).toBe(2);
    expect(started).toBe(1);
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });
});
