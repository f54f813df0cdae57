import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobKeyInfo } from '../../src/local-amplify/index.js';
import { type Stack, startStack } from '../support/stack.js';

const QUERY =
  'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId summary { status } } }';

describe('sharing in-flight GetJob calls across requests', () => {
  let stack: Stack;
  let running: JobKeyInfo;

  beforeAll(async () => {
    stack = await startStack();
    const found = stack.la.world.listJobKeys({ status: 'RUNNING' })[0];
    if (!found) throw new Error('no RUNNING job in the demo world');
    running = found;
  });
  afterEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
  });
  afterAll(() => stack.close());

  const vars = () => ({ a: running.appId, b: running.branchName, j: running.jobId });

  it('answers 10 concurrent requests for one job with a single GetJob', async () => {
    stack.la.faults.add({ operations: 'GetJob', kind: 'latency', latencyMs: 100 });
    const bodies = await Promise.all(
      Array.from({ length: 10 }, () => stack.graphql(QUERY, vars())),
    );
    for (const body of bodies) {
      expect(body).toEqual({
        data: { job: { jobId: running.jobId, summary: { status: 'RUNNING' } } },
      });
    }
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });

  it('keeps nothing once the call settles: requests one after another each ask Amplify', async () => {
    await stack.graphql(QUERY, vars());
    await stack.graphql(QUERY, vars());
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });

  it('shares a failure with the requests that joined it, and the next request tries again', async () => {
    stack.la.faults.add({ operations: 'GetJob', kind: 'latency', latencyMs: 100 });
    stack.la.faults.add({ operations: 'GetJob', kind: 'accessDenied', count: 1 });
    const bodies = await Promise.all([1, 2, 3].map(() => stack.graphql(QUERY, vars())));
    for (const body of bodies) {
      expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAUTHORIZED');
    }
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    const after = await stack.graphql(QUERY, vars());
    expect(after.errors).toBeUndefined();
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });

  it('shares in-flight pages of a list, apps and branches too, and nothing once they settle', async () => {
    stack.la.faults.add({ operations: '*', kind: 'latency', latencyMs: 100 });
    const page =
      'query($a: ID!, $b: String!) { branch(appId: $a, branchName: $b) { displayName app { name } jobs(first: 5) { nodes { jobId } } } }';
    const bodies = await Promise.all(
      Array.from({ length: 6 }, () =>
        stack.graphql(page, { a: running.appId, b: running.branchName }),
      ),
    );
    for (const body of bodies) expect(body.errors).toBeUndefined();
    expect(bodies.map((b) => JSON.stringify(b.data))).toEqual(
      Array.from({ length: 6 }, () => JSON.stringify(bodies[0]?.data)),
    );
    expect(stack.la.stats.calls('GetBranch')).toBe(1);
    expect(stack.la.stats.calls('GetApp')).toBe(1);
    expect(stack.la.stats.calls('ListJobs')).toBe(1);
    // A page of another size is another call.
    await Promise.all([
      stack.graphql(page, { a: running.appId, b: running.branchName }),
      stack.graphql(page.replace('first: 5', 'first: 6'), {
        a: running.appId,
        b: running.branchName,
      }),
    ]);
    expect(stack.la.stats.calls('ListJobs')).toBe(3);
  });
});
