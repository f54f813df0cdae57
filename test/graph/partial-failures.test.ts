/**
 * Where an error stops: one entry of a page whose own Amplify call fails becomes null with its
 * error, and the rest of the page and of the answer stands (nullable entries of `nodes` and
 * `edges`, and a nullable `Edge.node`, as Relay's and GitHub's schemas have them).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.js';

describe('a failed entry of a page', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterEach(() => stack.la.faults.clear());
  afterAll(() => stack.close());

  it('nulls only its app when ListBranches is denied for one app (IAM narrowed to some apps)', async () => {
    const apps = stack.la.world.apps();
    expect(apps.length).toBeGreaterThanOrEqual(3);
    const denied = apps[1]!.appId;
    stack.la.faults.add({
      kind: 'accessDenied',
      operations: 'ListBranches',
      labels: { appId: denied },
    });
    const body = await stack.graphql(
      `query($n: Int!) { apps(first: $n) {
          nodes { appId branches(first: 2) { nodes { branchName } } }
          edges { cursor node { appId branches(first: 2) { nodes { branchName } } } }
          pageInfo { hasNextPage }
      } }`,
      { n: apps.length },
    );
    type Entry = { appId: string; branches: { nodes: Array<{ branchName: string }> } } | null;
    const page = body.data?.apps as {
      nodes: Entry[];
      edges: Array<{ cursor: string; node: Entry }>;
    };
    // The answer stands; the denied app's entry is null in both lists, the others are whole.
    expect(page.nodes).toHaveLength(apps.length);
    expect(page.nodes[1]).toBeNull();
    expect(page.edges[1]?.node).toBeNull();
    expect(page.edges[1]?.cursor).toEqual(expect.any(String));
    for (const index of [0, 2]) {
      expect(page.nodes[index]?.appId).toBe(apps[index]!.appId);
      expect(page.nodes[index]?.branches.nodes.length).toBeGreaterThan(0);
      expect(page.edges[index]?.node).toEqual(page.nodes[index]);
    }
    // One error per place the failure stopped, each naming the denied app's entry.
    expect(body.errors?.map((error) => error.path)).toEqual(
      expect.arrayContaining([
        ['apps', 'nodes', 1, 'branches'],
        ['apps', 'edges', 1, 'node', 'branches'],
      ]),
    );
    for (const error of body.errors ?? []) {
      expect(error.extensions?.code).toBe('UPSTREAM_UNAUTHORIZED');
    }
  });

  it("nulls only its job when one job's GetJob fails in a page of a branch's jobs", async () => {
    const [first] = stack.la.world.listJobKeys({ status: 'SUCCEED' });
    const { appId, branchName } = first!;
    const query = `query($a: ID!, $b: String!) { branch(appId: $a, branchName: $b) {
      branchName jobs(first: 5) { nodes { jobId steps { stepName } } }
    } }`;
    const whole = await stack.graphql(query, { a: appId, b: branchName });
    type Jobs = { branchName: string; jobs: { nodes: Array<{ jobId: string } | null> } };
    const all = (whole.data?.branch as Jobs | undefined)?.jobs.nodes ?? [];
    expect(all.length).toBeGreaterThanOrEqual(3);
    const failing = all[1]!.jobId;
    stack.la.faults.add({
      kind: 'status',
      operations: 'GetJob',
      statusCode: 500,
      body: 'json',
      errorType: 'InternalFailureException',
      labels: { appId, branchName, jobId: failing },
    });
    const body = await stack.graphql(query, { a: appId, b: branchName });
    const branch = body.data?.branch as Jobs;
    expect(branch.branchName).toBe(branchName);
    expect(branch.jobs.nodes[1]).toBeNull();
    expect(branch.jobs.nodes.filter((job) => job !== null)).toEqual(
      all.filter((job) => job?.jobId !== failing),
    );
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]).toMatchObject({
      path: ['branch', 'jobs', 'nodes', 1, 'steps'],
      extensions: { code: 'UPSTREAM_UNAVAILABLE' },
    });
  });
});
