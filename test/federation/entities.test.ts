import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { type Gateway, type Stack, startStack } from '../support/stack.js';
import { jobsFromDistinctBranches, wireJob } from '../support/world.js';

const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Job {
      appId
      branchName
      jobId
      summary { jobArn jobId status jobType }
      steps { stepName status }
    }
  }
}`;

const CAP = 3;
/**
 * Upstream latency while measuring concurrency: long enough that calls started together still
 * overlap on a loaded CI machine (the SDK spends about 1 ms of CPU per call), short enough to keep
 * the suite fast (10 calls, 3 at a time: about 4 x 50 ms).
 */
const LATENCY_MS = 50;

type Representation = Record<string, unknown>;

function representation(key: JobKey): Representation {
  return { __typename: 'Job', ...key };
}

interface EntityError {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: string };
}

describe('_entities against the local Amplify', () => {
  let la: LocalAmplify;
  let capped: Stack;
  let wide: Gateway;
  let tenJobs: JobKey[];
  const faultIds: string[] = [];

  beforeAll(async () => {
    capped = await startStack({ env: { UPSTREAM_MAX_CONCURRENCY: String(CAP) } });
    la = capped.la;
    wide = await capped.gateway({ UPSTREAM_MAX_CONCURRENCY: '10' });
    tenJobs = jobsFromDistinctBranches(la, 10);
  });
  afterAll(async () => {
    await capped?.close();
  });
  beforeEach(() => la.stats.reset());
  afterEach(() => {
    for (const id of faultIds.splice(0)) la.faults.remove(id);
  });

  async function entities(target: Gateway, representations: Representation[]) {
    const { status, body } = await target.post({
      query: ENTITIES,
      variables: { representations },
    });
    expect(status).toBe(200);
    const list = body.data?._entities;
    if (!Array.isArray(list)) throw new Error(`no _entities list in ${JSON.stringify(body)}`);
    return {
      entities: list as Array<Record<string, unknown> | null>,
      errors: (body.errors ?? []) as unknown as EntityError[],
    };
  }

  function expectJob(entity: Record<string, unknown> | null | undefined, key: JobKey) {
    const wire = wireJob(la, key);
    expect(entity).toEqual({
      ...key,
      summary: {
        jobArn: wire.summary.jobArn,
        jobId: key.jobId,
        status: wire.summary.status,
        jobType: wire.summary.jobType ?? null,
      },
      steps: wire.steps.map((step) => ({ stepName: step.stepName, status: step.status })),
    });
  }

  it('resolves 100 representations of 10 distinct jobs with exactly 10 GetJob calls, in order', async () => {
    // Each job 10 times, interleaved, so order mistakes and missed deduplication both show.
    const keys = Array.from({ length: 100 }, (_, i) => tenJobs[(i * 3 + Math.floor(i / 10)) % 10]!);
    expect(new Set(keys).size).toBe(10);

    const { entities: result, errors } = await entities(capped, keys.map(representation));

    expect(errors).toEqual([]);
    expect(result).toHaveLength(100);
    for (const [i, key] of keys.entries()) expectJob(result[i], key);
    expect(la.stats.calls('GetJob')).toBe(10);
  });

  it('keeps at most UPSTREAM_MAX_CONCURRENCY GetJob calls in flight, and uses all of them', async () => {
    faultIds.push(la.faults.add({ kind: 'latency', operations: 'GetJob', latencyMs: LATENCY_MS }));
    const keys = Array.from({ length: 100 }, (_, i) => tenJobs[i % 10]!);

    const { errors } = await entities(capped, keys.map(representation));

    expect(errors).toEqual([]);
    expect(la.stats.calls('GetJob')).toBe(10);
    // Equal, not just at most: the cap is reached (calls do overlap) and respected.
    expect(la.stats.inFlightHighWater).toBe(CAP);
  });

  it('shows more calls in flight with a higher cap, so the mark above measures the cap', async () => {
    faultIds.push(la.faults.add({ kind: 'latency', operations: 'GetJob', latencyMs: LATENCY_MS }));

    const { errors } = await entities(wide, tenJobs.map(representation));

    expect(errors).toEqual([]);
    expect(la.stats.inFlightHighWater).toBe(10);
  });

  it('fails only the malformed and unknown representations, each at its own index', async () => {
    const [a, b, c] = tenJobs as [JobKey, JobKey, JobKey];
    const representations = [
      representation(a),
      representation({ ...b, appId: 'NOT-AN-APP' }),
      representation(b),
      representation({ ...c, jobId: '12abc' }),
      // A well-formed key Amplify does not know: the branch exists, the job does not.
      representation({ ...c, jobId: '987654' }),
      representation(c),
    ];

    const { entities: result, errors } = await entities(capped, representations);

    expect(result).toHaveLength(6);
    expectJob(result[0], a);
    expect(result[1]).toBeNull();
    expectJob(result[2], b);
    expect(result[3]).toBeNull();
    expect(result[4]).toBeNull();
    expectJob(result[5], c);
    expect(
      errors
        .map((error) => ({ path: error.path, code: error.extensions?.code }))
        .sort((x, y) => Number(x.path?.[1]) - Number(y.path?.[1])),
    ).toEqual([
      { path: ['_entities', 1], code: 'BAD_USER_INPUT' },
      { path: ['_entities', 3], code: 'BAD_USER_INPUT' },
      { path: ['_entities', 4], code: 'NOT_FOUND' },
    ]);
    expect(errors.find((error) => error.path?.[1] === 1)?.message).toContain('appId');
    expect(errors.find((error) => error.path?.[1] === 3)?.message).toContain('jobId');
    // Three real jobs and the unknown one reach Amplify; the malformed ones do not.
    expect(la.stats.calls('GetJob')).toBe(4);
  });

  it('sends nothing to Amplify for representations that are malformed', async () => {
    const [a] = tenJobs as [JobKey];
    const representations = [
      representation({ ...a, appId: 'NOT-AN-APP' }),
      representation({ ...a, appId: '' }),
      representation({ ...a, jobId: '-1' }),
      representation({ ...a, jobId: '7 ' }),
      representation({ ...a, branchName: '' }),
      representation({ ...a, branchName: 'b'.repeat(256) }),
    ];

    const { entities: result, errors } = await entities(capped, representations);

    expect(result).toEqual(representations.map(() => null));
    expect(errors.map((error) => [error.path, error.extensions?.code])).toEqual(
      expect.arrayContaining(
        representations.map((_, i) => [['_entities', i], 'BAD_USER_INPUT'] as const),
      ),
    );
    expect(errors).toHaveLength(representations.length);
    expect(la.stats.calls()).toBe(0);
  });

  it('fails only its own entry when a representation lacks a key field or has a non-string one', async () => {
    const [a, b] = tenJobs as [JobKey, JobKey];
    const { jobId: _dropped, ...withoutJobId } = a;
    const representations = [
      representation(a),
      { __typename: 'Job', ...withoutJobId },
      { ...representation(a), jobId: Number(a.jobId) },
      { ...representation(a), branchName: null },
      representation(b),
    ];

    const { entities: result, errors } = await entities(capped, representations);

    expectJob(result[0], a);
    expect(result.slice(1, 4)).toEqual([null, null, null]);
    expectJob(result[4], b);
    expect(errors.map((error) => [error.path, error.extensions?.code])).toEqual(
      expect.arrayContaining([
        [['_entities', 1], 'BAD_USER_INPUT'],
        [['_entities', 2], 'BAD_USER_INPUT'],
        [['_entities', 3], 'BAD_USER_INPUT'],
      ]),
    );
    expect(errors).toHaveLength(3);
    expect(la.stats.calls('GetJob')).toBe(2);
  });
});
