import { createHash } from 'node:crypto';
import {
  ApolloGateway,
  type GraphQLDataSourceProcessOptions,
  IntrospectAndCompose,
  RemoteGraphQLDataSource,
} from '@apollo/gateway';
import type { Trace } from '@apollo/usage-reporting-protobuf';
import { type GraphQLSchema, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import { jobKeyId } from '../../src/upstream/keys.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { type ReleaseRecord, referencedJobs } from '../support/releases-subgraph.js';
import { type Stack, startStack } from '../support/stack.js';
import { wireJob } from '../support/world.js';

const SECRET = 'gateway-test-secret-0123456789';

const RELEASES = `{
  releases {
    id
    name
    jobs {
      appId
      branchName
      jobId
      summary { status jobType jobArn }
      steps { stepName }
    }
  }
}`;

type GatewayRequestContext = Parameters<ApolloGateway['executor']>[0];

/** What a router sends to one subgraph, as seen by the gateway's data source. */
interface SubgraphFetch {
  subgraph: string;
  query: string;
  representations: number;
  includeTrace: boolean;
}

/**
 * The gateway's HTTP data source, adding the router secret for amplify-jobs (as router.yaml's
 * `headers: subgraphs: amplify-jobs: request: insert` does) and recording each fetch.
 */
class RouterDataSource extends RemoteGraphQLDataSource {
  constructor(
    readonly subgraph: string,
    url: string,
    readonly fetches: SubgraphFetch[],
  ) {
    super({ url });
  }

  override willSendRequest({ request }: GraphQLDataSourceProcessOptions): void {
    if (this.subgraph === 'amplify-jobs') request.http?.headers.set('x-router-secret', SECRET);
    const representations = request.variables?.representations;
    this.fetches.push({
      subgraph: this.subgraph,
      query: request.query ?? '',
      representations: Array.isArray(representations) ? representations.length : 0,
      includeTrace: request.http?.headers.get('apollo-federation-include-trace') === 'ftv1',
    });
  }
}

/** The request context Apollo Server would build: parsed document, hash, metrics. */
function requestContext(
  schema: GraphQLSchema,
  query: string,
  options: { captureTraces?: boolean; warnings?: string[] } = {},
): GatewayRequestContext {
  const document = parse(query);
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION,
  );
  if (operation === undefined) throw new Error('no operation in the query');
  const store = new Map<string, string>();
  const warnings = options.warnings ?? [];
  return {
    request: {
      query,
      http: { method: 'POST', url: 'http://router.test/graphql', headers: new Headers() },
    },
    document,
    source: query,
    operation,
    operationName: null,
    queryHash: createHash('sha256').update(query).digest('hex'),
    schema,
    schemaHash: 'test' as GatewayRequestContext['schemaHash'],
    context: {},
    cache: {
      get: async (key) => store.get(key),
      set: async (key, value) => void store.set(key, value),
      delete: async (key) => store.delete(key),
    },
    logger: {
      debug: () => {},
      info: () => {},
      warn: (message: unknown) => warnings.push(String(message)),
      error: (message: unknown) => warnings.push(String(message)),
    },
    metrics: { captureTraces: options.captureTraces ?? false },
    overallCachePolicy: {},
  };
}

describe('a real gateway in front of amplify-jobs and a releases subgraph', () => {
  let stack: Stack;
  let la: LocalAmplify;
  let gateway: ApolloGateway;
  let schema: GraphQLSchema;
  let releases: ReleaseRecord[];
  const fetches: SubgraphFetch[] = [];
  const gatewayLog: string[] = [];
  const faultIds: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ env: { ROUTER_SECRET: SECRET }, releases: 4 });
    la = stack.la;
    const amplifyJobsServer = await stack.listen();
    const releasesSubgraph = stack.releases!;
    releases = releasesSubgraph.records;
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (message: unknown) => gatewayLog.push(String(message)),
      error: (message: unknown) => gatewayLog.push(String(message)),
    };
    gateway = new ApolloGateway({
      logger,
      // Fetches each subgraph's SDL with `_service { sdl }` over HTTP (through the secret) and
      // composes them, as `rover supergraph compose` does with `subgraph_url`.
      supergraphSdl: new IntrospectAndCompose({
        subgraphs: [
          { name: 'amplify-jobs', url: `${amplifyJobsServer.url}/graphql` },
          { name: 'releases', url: releasesSubgraph.url },
        ],
        logger,
      }),
      buildService: ({ name, url }) => new RouterDataSource(name, url ?? '', fetches),
    });
    ({ schema } = await gateway.load());
  });
  afterAll(async () => {
    await gateway?.stop();
    await stack?.close();
  });
  beforeEach(() => {
    la.stats.reset();
    fetches.length = 0;
  });
  afterEach(() => {
    for (const id of faultIds.splice(0)) la.faults.remove(id);
    expect(gatewayLog).toEqual([]);
  });

  function expectedJob(key: JobKey) {
    const wire = wireJob(la, key);
    return {
      ...key,
      summary: {
        status: wire.summary.status,
        jobType: wire.summary.jobType ?? null,
        jobArn: wire.summary.jobArn,
      },
      steps: wire.steps.map((step) => ({ stepName: step.stepName })),
    };
  }

  it('composes the supergraph from both subgraphs over HTTP, through the router secret', () => {
    const job = schema.getType('Job');
    expect(job?.toString()).toBe('Job');
    expect(Object.keys(schema.getQueryType()?.getFields() ?? {}).sort()).toEqual([
      'app',
      'apps',
      'branch',
      'job',
      'release',
      'releases',
    ]);
  });

  it('answers a query spanning both subgraphs with one GetJob per distinct job', async () => {
    const references = referencedJobs(releases);
    const distinct = new Set(references.map(jobKeyId));
    // The plan must exercise deduplication: some jobs are referenced more than once.
    expect(references.length).toBeGreaterThan(distinct.size);

    const result = await gateway.executor(requestContext(schema, RELEASES));

    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      releases: releases.map((release) => ({
        id: release.id,
        name: release.name,
        jobs: release.jobs.map(expectedJob),
      })),
    });
    // One _entities fetch carrying every reference, repeats included...
    const toJobs = fetches.filter((fetch) => fetch.subgraph === 'amplify-jobs');
    expect(toJobs).toHaveLength(1);
    expect(toJobs[0]?.query).toContain('_entities');
    expect(toJobs[0]?.representations).toBe(references.length);
    // ...and one GetJob per distinct job behind it.
    expect(la.stats.calls('GetJob')).toBe(distinct.size);
  });

  it("walks from another subgraph's jobs to their branch and app, one call per distinct entity", async () => {
    const references = referencedJobs(releases);
    const branches = new Set(references.map((key) => `${key.appId}/${key.branchName}`));
    const apps = new Set(references.map((key) => key.appId));
    const result = await gateway.executor(
      requestContext(
        schema,
        '{ releases { id jobs { jobId isTerminal branch { branchName displayName app { appId name } } } } }',
      ),
    );
    expect(result.errors).toBeUndefined();
    const data = result.data as {
      releases: Array<{
        jobs: Array<{ branch: { branchName: string; app: { appId: string; name: string } } }>;
      }>;
    };
    const names = new Map(la.world.apps().map((app) => [app.appId, app.name]));
    for (const [i, release] of data.releases.entries()) {
      for (const [j, job] of release.jobs.entries()) {
        const key = releases[i]!.jobs[j]!;
        expect(job.branch.branchName).toBe(key.branchName);
        expect(job.branch.app).toEqual({ appId: key.appId, name: names.get(key.appId) });
      }
    }
    expect(fetches.filter((fetch) => fetch.subgraph === 'amplify-jobs')).toHaveLength(1);
    // isTerminal comes from the summary: one GetJob per distinct job; branch and app batched.
    expect(la.stats.calls('GetBranch')).toBe(branches.size);
    expect(la.stats.calls('GetApp')).toBe(apps.size);
  });

  it('nulls only the release whose job failed upstream, with the subgraph error code', async () => {
    const [r1, r2] = releases as [ReleaseRecord, ReleaseRecord];
    const failing = r2.jobs.find(
      (key) => !r1.jobs.some((other) => jobKeyId(other) === jobKeyId(key)),
    );
    if (failing === undefined) throw new Error('release r2 needs a job that r1 does not have');
    faultIds.push(
      la.faults.add({
        kind: 'internal',
        operations: 'GetJob',
        labels: { appId: failing.appId, branchName: failing.branchName, jobId: failing.jobId },
      }),
    );
    const query = `{
      r1: release(id: "${r1.id}") { id jobs { jobId summary { status } } }
      r2: release(id: "${r2.id}") { id jobs { jobId summary { status } } }
    }`;

    const result = await gateway.executor(requestContext(schema, query));

    expect(result.data?.r1).toEqual({
      id: r1.id,
      jobs: r1.jobs.map((key) => ({
        jobId: key.jobId,
        summary: { status: wireJob(la, key).summary.status },
      })),
    });
    // `jobs: [Job!]!` in the releases subgraph: one missing job nulls its whole release.
    expect(result.data?.r2).toBeNull();
    // The router maps the subgraph's `["_entities", i]` back onto the client's path.
    expect(
      (result.errors ?? []).map((error) => ({
        path: error.path,
        code: error.extensions?.code,
        retryable: error.extensions?.retryable,
      })),
    ).toEqual([
      {
        path: ['r2', 'jobs', r2.jobs.indexOf(failing)],
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: true,
      },
    ]);
  });

  it('gets an inline trace of the _entities fetch when the gateway captures traces', async () => {
    const context = requestContext(schema, RELEASES, { captureTraces: true });

    const result = await gateway.executor(context);

    expect(result.errors).toBeUndefined();
    expect(fetches.every((fetch) => fetch.includeTrace)).toBe(true);
    const fetchNodes: Trace.QueryPlanNode.IFetchNode[] = [];
    const walk = (node: Trace.IQueryPlanNode | null | undefined): void => {
      if (node == null) return;
      if (node.fetch) fetchNodes.push(node.fetch);
      for (const child of [
        ...(node.sequence?.nodes ?? []),
        ...(node.parallel?.nodes ?? []),
        node.flatten?.node,
      ]) {
        walk(child);
      }
    };
    walk(context.metrics.queryPlanTrace);
    const jobsFetch = fetchNodes.find((node) => node.serviceName === 'amplify-jobs');
    expect(jobsFetch?.traceParsingFailed ?? false).toBe(false);
    const rootFields = jobsFetch?.trace?.root?.child?.map((child) => child.responseName);
    expect(rootFields).toEqual(['_entities']);
  });
});
