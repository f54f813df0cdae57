/**
 * startJob / stopJob against the local Amplify: refused unless enabled and allowed, sent exactly
 * once (never retried), the concurrent-jobs quota, and a stop seen by subscribers as CANCELLING
 * then CANCELLED.
 */
import { describe, expect, it } from 'vitest';
import type { CallerIdentity } from '../../src/schema/identity.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import {
  liveTests,
  releasableBranches,
  subscribeWithClient,
  until,
  within,
} from '../support/live.js';
import { type GraphQLBody, type Stack, silentLog } from '../support/stack.js';

const START = `mutation Start($appId: ID!, $branchName: String!, $jobType: StartJobType!, $jobId: ID, $reason: String) {
  startJob(appId: $appId, branchName: $branchName, jobType: $jobType, jobId: $jobId, reason: $reason) {
    appId branchName jobId summary { status jobType }
  }
}`;
const STOP = `mutation Stop($appId: ID!, $branchName: String!, $jobId: ID!) {
  stopJob(appId: $appId, branchName: $branchName, jobId: $jobId) { jobId summary { status } steps { stepName status } }
}`;

const READ_ONLY: CallerIdentity = {
  kind: 'apiKey',
  principal: 'key:dashboard',
  scopes: new Set(['read']),
};

const live = liveTests();
let stack: Stack | null = null;

function branchOf(s: Stack, index = 0) {
  const branch = releasableBranches(s.la)[index];
  if (branch === undefined) throw new Error('not enough branches in the demo world');
  return branch;
}

function codeOf(body: GraphQLBody): string | undefined {
  return body.errors?.[0]?.extensions?.code;
}

describe('control mutations', () => {
  it('answer FORBIDDEN when CONTROL_MUTATIONS is off, and send nothing', async () => {
    stack = await live.start();
    const branch = branchOf(stack);
    const start = await stack.graphql(START, { ...branch, jobType: 'RELEASE' });
    const stop = await stack.graphql(STOP, { ...branch, jobId: '1' });
    for (const body of [start, stop]) {
      expect(body.data).toBeNull();
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', retryable: false });
      expect(body.errors?.[0]?.message).toContain('CONTROL_MUTATIONS');
    }
    expect(stack.la.stats.calls('StartJob')).toBe(0);
    expect(stack.la.stats.calls('StopJob')).toBe(0);
  });

  it('answer FORBIDDEN to a caller without the write scope, even when enabled', async () => {
    stack = await live.start({ env: { CONTROL_MUTATIONS: 'true' } });
    const s = stack;
    const branch = branchOf(s);
    const asReader = async (query: string, variables: Record<string, unknown>) => {
      const response = await s.app.yoga.fetch(
        'http://gateway.test/graphql',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query, variables }),
        },
        { requestId: 'read-only', log: silentLog, caller: READ_ONLY },
      );
      return (await response.json()) as GraphQLBody;
    };
    const start = await asReader(START, { ...branch, jobType: 'RELEASE' });
    const stop = await asReader(STOP, { ...branch, jobId: '1' });
    for (const body of [start, stop]) {
      expect(codeOf(body)).toBe('FORBIDDEN');
      expect(body.errors?.[0]?.message).toContain('"write" scope');
    }
    // The same caller may still read.
    const read = await asReader(
      'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId } }',
      { a: branch.appId, b: branch.branchName, j: '1' },
    );
    expect(read.errors).toBeUndefined();
    expect(s.la.stats.calls('StartJob')).toBe(0);
    expect(s.la.stats.calls('StopJob')).toBe(0);
  });

  it('start a job when enabled, checking arguments before anything is sent', async () => {
    stack = await live.start({ env: { CONTROL_MUTATIONS: 'true' } });
    const branch = branchOf(stack);
    const started = await stack.graphql(START, {
      ...branch,
      jobType: 'RELEASE',
      reason: 'redeploy from the dashboard',
    });
    expect(started.errors).toBeUndefined();
    const job = started.data?.startJob as JobKey & { summary: { status: string; jobType: string } };
    expect(job).toMatchObject({ ...branch, summary: { status: 'PENDING', jobType: 'RELEASE' } });
    const wire = stack.la.world.getJobWire(branch.appId, branch.branchName, job.jobId)?.job;
    expect(wire?.summary.status).toBe('PENDING');
    expect(stack.la.stats.calls('StartJob')).toBe(1);

    const retryWithoutJob = await stack.graphql(START, { ...branch, jobType: 'RETRY' });
    const jobWithRelease = await stack.graphql(START, {
      ...branch,
      jobType: 'RELEASE',
      jobId: '1',
    });
    const longReason = await stack.graphql(START, {
      ...branch,
      jobType: 'RELEASE',
      reason: 'x'.repeat(256),
    });
    const badApp = await stack.graphql(START, { ...branch, appId: 'Nope', jobType: 'RELEASE' });
    for (const body of [retryWithoutJob, jobWithRelease, longReason, badApp]) {
      expect(codeOf(body)).toBe('BAD_USER_INPUT');
    }
    expect(stack.la.stats.calls('StartJob')).toBe(1);

    // MANUAL reaches Amplify, which refuses it in its own words.
    const manual = await stack.graphql(START, { ...branch, jobType: 'MANUAL' });
    expect(codeOf(manual)).toBe('BAD_USER_INPUT');
    expect(manual.errors?.[0]?.message).toContain('MANUAL does not support');
    expect(stack.la.stats.calls('StartJob')).toBe(2);

    const retried = await stack.graphql(START, { ...branch, jobType: 'RETRY', jobId: job.jobId });
    expect(retried.errors).toBeUndefined();
    expect(retried.data?.startJob).toMatchObject({ summary: { jobType: 'RETRY' } });
  });

  it('never retries StartJob: a 5xx is UPSTREAM_OUTCOME_UNKNOWN after one call, though reads retry', async () => {
    stack = await live.start({ env: { CONTROL_MUTATIONS: 'true', UPSTREAM_MAX_ATTEMPTS: '3' } });
    const branch = branchOf(stack);
    stack.la.faults.add({ kind: 'internal', operations: 'StartJob', count: 1 });
    const failed = await stack.graphql(START, { ...branch, jobType: 'RELEASE' });
    expect(failed.data).toBeNull();
    expect(failed.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_OUTCOME_UNKNOWN',
      retryable: false,
      upstream: { errorName: 'InternalFailureException', httpStatus: 500, attempts: 1 },
    });
    expect(stack.la.stats.calls('StartJob')).toBe(1);

    // A 503 storm and a reset: still one call each.
    stack.la.faults.add({ kind: 'unavailable', operations: 'StartJob', count: 1 });
    stack.la.faults.add({ kind: 'reset', operations: 'StartJob', count: 1 });
    for (let i = 0; i < 2; i += 1) {
      const body = await stack.graphql(START, { ...branch, jobType: 'RELEASE' });
      expect(codeOf(body)).toBe('UPSTREAM_OUTCOME_UNKNOWN');
    }
    expect(stack.la.stats.calls('StartJob')).toBe(3);

    // The same fault on a read is retried by the SDK (3 attempts here), so the read succeeds.
    const key = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0]!;
    stack.la.faults.add({ kind: 'internal', operations: 'GetJob', count: 1 });
    const getJobs = stack.la.stats.calls('GetJob');
    const read = await stack.graphql(
      'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId } }',
      { a: key.appId, b: key.branchName, j: key.jobId },
    );
    expect(read.errors).toBeUndefined();
    expect(stack.la.stats.calls('GetJob')).toBe(getJobs + 2);
  });

  it('answers UPSTREAM_OUTCOME_UNKNOWN when Amplify accepts StartJob with a body it cannot read', async () => {
    stack = await live.start({ env: { CONTROL_MUTATIONS: 'true', UPSTREAM_MAX_ATTEMPTS: '3' } });
    const branch = branchOf(stack);
    // A 200 whose body is an HTML page: Amplify accepted the job, but the answer says nothing.
    stack.la.faults.add({ kind: 'malformed', operations: 'StartJob', count: 1 });
    const body = await stack.graphql(START, { ...branch, jobType: 'RELEASE' });
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_OUTCOME_UNKNOWN',
      retryable: false,
      upstream: { httpStatus: 200, attempts: 1 },
    });
    expect(body.errors?.[0]?.message).toContain('may have started');
    expect(stack.la.stats.calls('StartJob')).toBe(1);
  });

  it('answers QUOTA_EXCEEDED at once when the concurrent-jobs quota is used up', async () => {
    stack = await live.start({
      env: { CONTROL_MUTATIONS: 'true', UPSTREAM_MAX_ATTEMPTS: '3' },
      amplify: { concurrentJobsLimit: 1 },
    });
    const first = await stack.graphql(START, { ...branchOf(stack, 0), jobType: 'RELEASE' });
    expect(first.errors).toBeUndefined();
    const second = await stack.graphql(START, { ...branchOf(stack, 1), jobType: 'RELEASE' });
    expect(second.data).toBeNull();
    expect(second.errors?.[0]?.extensions).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      retryable: true,
      upstream: { errorName: 'LimitExceededException', httpStatus: 429, attempts: 1 },
    });
    expect(second.errors?.[0]?.message).toContain('concurrent-jobs quota');
    expect(stack.la.stats.calls('StartJob')).toBe(2);
  });

  it('stop a job: subscribers see CANCELLING, then CANCELLED, then the end', async () => {
    stack = await live.start({ env: { CONTROL_MUTATIONS: 'true', LIVE_POLL_INTERVAL_MS: '100' } });
    const s = stack;
    const server = await s.listen();
    const started = await s.graphql(START, { ...branchOf(s), jobType: 'RELEASE' });
    const key = started.data?.startJob as JobKey;
    s.la.clock.advance(60_000);
    const subscription = subscribeWithClient(`${server.url}/graphql`, {
      appId: key.appId,
      branchName: key.branchName,
      jobId: key.jobId,
    });
    live.keep(subscription);
    await until(() => subscription.results.length === 1, 'the first answer');
    expect(subscription.statuses()).toEqual(['RUNNING']);

    const stopped = await s.graphql(STOP, key as unknown as Record<string, unknown>);
    expect(stopped.errors).toBeUndefined();
    expect(stopped.data?.stopJob).toMatchObject({
      jobId: key.jobId,
      summary: { status: 'CANCELLING' },
    });
    expect(s.la.stats.calls('StopJob')).toBe(1);
    await until(() => subscription.statuses().includes('CANCELLING'), 'CANCELLING');

    s.la.clock.advance(5_000);
    await within(subscription.done, 'the subscription to end');
    expect(subscription.ended).toBe('complete');
    expect(subscription.statuses()).toEqual(['RUNNING', 'CANCELLING', 'CANCELLED']);

    // Stopping a finished job is the caller's mistake, in Amplify's words; still one call.
    const again = await s.graphql(STOP, key as unknown as Record<string, unknown>);
    expect(codeOf(again)).toBe('BAD_USER_INPUT');
    expect(again.errors?.[0]?.message).toContain('has already finished');
    expect(s.la.stats.calls('StopJob')).toBe(2);
  });
});
