import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { maskError } from '../../src/http/graphql-errors.js';
import type { JobKeyInfo } from '../../src/local-amplify/index.js';
import { type Stack, startStack } from '../support/stack.js';

const QUERY =
  'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId summary { status } } }';

function vars(job: Pick<JobKeyInfo, 'appId' | 'branchName' | 'jobId'>) {
  return { a: job.appId, b: job.branchName, j: job.jobId };
}

/** Nothing a caller sees may reveal stack frames, local paths or the upstream's address. */
function expectSafeMessage(message: string, upstreamUrl: string) {
  expect(message).not.toMatch(/\n\s+at |node_modules|\/work\/|\.ts:\d+/);
  expect(message).not.toContain(new URL(upstreamUrl).host);
  expect(message).not.toMatch(/AKID|secret/i);
}

describe('upstream errors become specific codes', () => {
  let stack: Stack;
  let job: JobKeyInfo;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        UPSTREAM_MAX_ATTEMPTS: '3',
        UPSTREAM_REQUEST_TIMEOUT_MS: '300',
        // Each test here shows what one failing call becomes; five of them in a row would open
        // the circuit breaker, and a throttled one would pause the next. Both have their own
        // tests (fault-storms.test.ts).
        CIRCUIT_BREAKER_FAILURES: '0',
        THROTTLE_PAUSE_MS: '0',
      },
    });
    const found = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0];
    if (!found) throw new Error('demo world has no SUCCEED job');
    job = found;
  });
  afterEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
  });
  afterAll(() => stack.close());

  it('answers NOT_FOUND and job: null for a job that does not exist, without retrying', async () => {
    const body = await stack.graphql(QUERY, { ...vars(job), j: '999999' });
    expect(body.data).toEqual({ job: null });
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'NOT_FOUND',
      retryable: false,
      upstream: { errorName: 'NotFoundException', httpStatus: 404 },
    });
    expect(body.errors?.[0]?.path).toEqual(['job']);
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });

  it('answers NOT_FOUND for an unknown app or branch too', async () => {
    const app = await stack.graphql(QUERY, { ...vars(job), a: 'dzzzzzzzzzzzzz' });
    expect(app.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const branch = await stack.graphql(QUERY, { ...vars(job), b: 'no/such branch' });
    expect(branch.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it.each([
    ['an appId that is not d + lowercase alphanumerics', { a: 'App-1' }, /appId/],
    ['an appId longer than 20 characters', { a: `d${'a'.repeat(20)}` }, /appId/],
    ['a jobId that is not digits', { j: '12a' }, /jobId/],
    ['an empty jobId', { j: '' }, /jobId/],
    ['an empty branch name', { b: '' }, /branchName/],
    ['a branch name longer than 255 characters', { b: 'b'.repeat(256) }, /branchName/],
  ])(
    'rejects %s with BAD_USER_INPUT before any upstream call',
    async (_name, override, message) => {
      const body = await stack.graphql(QUERY, { ...vars(job), ...override });
      expect(body.data).toEqual({ job: null });
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toMatch(message);
      expect(stack.la.stats.calls()).toBe(0);
    },
  );

  it('retries throttling, then surfaces UPSTREAM_THROTTLED once attempts run out', async () => {
    stack.la.faults.add({ operations: 'GetJob', kind: 'throttle', count: 3 });
    const body = await stack.graphql(QUERY, vars(job));
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_THROTTLED',
      retryable: true,
      upstream: { errorName: 'LimitExceededException', httpStatus: 429, attempts: 3 },
    });
    expect(stack.la.stats.calls('GetJob')).toBe(3);
  });

  it('recovers when throttling stops before attempts run out', async () => {
    stack.la.faults.add({ operations: 'GetJob', kind: 'throttle', count: 1 });
    const body = await stack.graphql(QUERY, vars(job));
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ job: { jobId: job.jobId, summary: { status: 'SUCCEED' } } });
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });

  it.each([
    ['a 500 InternalFailureException', 'internal', 'InternalFailureException'],
    ['a 503 DependentServiceFailureException', 'unavailable', 'DependentServiceFailureException'],
  ] as const)(
    'answers UPSTREAM_UNAVAILABLE for %s, after retrying',
    async (_name, kind, errorName) => {
      stack.la.faults.add({ operations: 'GetJob', kind, count: 3 });
      const body = await stack.graphql(QUERY, vars(job));
      expect(body.data).toEqual({ job: null });
      expect(body.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: true,
        upstream: { errorName, attempts: 3 },
      });
      expectSafeMessage(body.errors?.[0]?.message ?? '', stack.la.url);
      expect(stack.la.stats.calls('GetJob')).toBe(3);
    },
  );

  it('says the connection was reset when Amplify resets it three times in a row', async () => {
    stack.la.faults.add({ operations: 'GetJob', kind: 'reset', count: 3 });
    const body = await stack.graphql(QUERY, vars(job));
    expect(body.data).toEqual({ job: null });
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_CONNECTION_RESET',
      retryable: true,
      upstream: { errorName: 'ECONNRESET', attempts: 3 },
    });
    expect(body.errors?.[0]?.message).toMatch(/connection to Amplify was reset/);
    expect(body.errors?.[0]?.message).not.toMatch(/timed out/);
    expectSafeMessage(body.errors?.[0]?.message ?? '', stack.la.url);
    expect(stack.la.stats.calls('GetJob')).toBe(3);
  });

  it('answers UPSTREAM_UNREADABLE_RESPONSE, not retryable, for a 200 whose body is not JSON (the SDK does not retry it)', async () => {
    stack.la.faults.add({ operations: 'GetJob', kind: 'malformed', count: 1 });
    const body = await stack.graphql(QUERY, vars(job));
    expect(body.data).toEqual({ job: null });
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_UNREADABLE_RESPONSE',
      retryable: false,
      upstream: { httpStatus: 200 },
    });
    expect(body.errors?.[0]?.message).toMatch(/HTTP 200 with a non-JSON body/);
    expectSafeMessage(body.errors?.[0]?.message ?? '', stack.la.url);
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });

  it('answers UPSTREAM_TIMEOUT when Amplify does not answer within the request timeout', async () => {
    stack.la.faults.add({ operations: 'GetJob', kind: 'hang', count: 3 });
    const body = await stack.graphql(QUERY, vars(job));
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_TIMEOUT',
      retryable: true,
      upstream: { errorName: 'TimeoutError', attempts: 3 },
    });
    expect(body.errors?.[0]?.message).toMatch(/did not answer in time/);
  });

  it.each([
    ['a 401 UnauthorizedException', 'unauthorized', 'UnauthorizedException'],
    ['a 403 AccessDeniedException', 'accessDenied', 'AccessDeniedException'],
  ] as const)(
    'answers UPSTREAM_UNAUTHORIZED for %s, without retrying',
    async (_name, kind, errorName) => {
      stack.la.faults.add({ operations: 'GetJob', kind, count: 1 });
      const body = await stack.graphql(QUERY, vars(job));
      expect(body.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_UNAUTHORIZED',
        retryable: false,
        upstream: { errorName },
      });
      expect(stack.la.stats.calls('GetJob')).toBe(1);
    },
  );

  it('keeps serving after every kind of failure', async () => {
    const body = await stack.graphql(QUERY, vars(job));
    expect(body).toEqual({ data: { job: { jobId: job.jobId, summary: { status: 'SUCCEED' } } } });
  });
});

describe('signed requests', () => {
  it('answers UPSTREAM_UNAUTHORIZED when Amplify rejects the signature, and passes with the right keys', async () => {
    const stack = await startStack({
      amplify: {
        credentials: [{ accessKeyId: 'AKIDGATEWAYTEST', secretAccessKey: 'right-secret' }],
        requireSignature: true,
      },
    });
    try {
      const [job] = stack.la.world.listJobKeys({ status: 'SUCCEED' });
      if (!job) throw new Error('no job');
      // startStack signs with the local Amplify's own configured credentials.
      const good = await stack.graphql(QUERY, vars(job));
      expect(good.errors).toBeUndefined();

      const { createSdkUpstream } = await import('../../src/upstream/sdk-upstream.js');
      const wrong = createSdkUpstream({
        config: stack.config.upstream,
        ...stack.la.clientConfig(),
        credentials: { accessKeyId: 'AKIDGATEWAYTEST', secretAccessKey: 'wrong-secret' },
        onUnknownValue: () => undefined,
        onWireProblem: () => undefined,
      });
      await expect(wrong.getJob(job)).rejects.toMatchObject({
        code: 'UPSTREAM_UNAUTHORIZED',
        upstream: { httpStatus: 403 },
      });
      wrong.destroy();
    } finally {
      await stack.close();
    }
  });
});

describe('masking an internal error', () => {
  // Yoga passes a third argument, isDev (NODE_ENV=development), which its own masking honours by
  // copying the original message and stack into the answer; the gateway's never does.
  it.each([false, true])('keeps its message out of the answer (isDev: %s)', (isDev) => {
    const yogaCalls = maskError as (error: unknown, message: string, isDev: boolean) => Error;
    const masked = yogaCalls(
      new Error('connect ECONNREFUSED 10.0.0.7:6379'),
      'Unexpected error.',
      isDev,
    );
    const answer = JSON.stringify(masked);
    expect(masked.message).toBe('Unexpected error.');
    expect(answer).not.toContain('ECONNREFUSED');
    expect(answer).toContain('INTERNAL_SERVER_ERROR');
  });
});
