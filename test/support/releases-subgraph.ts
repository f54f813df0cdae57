/**
 * A second, tiny but real subgraph for the federation tests: releases that group Amplify jobs.
 * It owns `Release` and only references `Job` by its key (`resolvable: false`), so every job field
 * beyond the key must come from the amplify-jobs subgraph through `_entities`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import type { JobKey } from '../../src/upstream/shapes.js';

export const RELEASES_SDL = `extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])

"""A named set of Amplify jobs shipped together."""
type Release @key(fields: "id") {
  id: ID!
  name: String!
  """The jobs of the release, in release order; one job may belong to several releases."""
  jobs: [Job!]!
}

# Owned by amplify-jobs, referenced here by its key only. No description: a second, different one
# would make composition hint INCONSISTENT_DESCRIPTION.
type Job @key(fields: "appId branchName jobId", resolvable: false) {
  appId: ID!
  branchName: String!
  jobId: ID!
}

type Query {
  releases: [Release!]!
  release(id: ID!): Release
}
`;

export interface ReleaseRecord {
  id: string;
  name: string;
  jobs: JobKey[];
}

/**
 * Groups jobs into releases so that some jobs appear in more than one release and one job appears
 * twice in the same release: the gateway then sends repeated representations, which the
 * amplify-jobs subgraph must still answer with one GetJob per distinct job.
 */
export function planReleases(jobs: readonly JobKey[]): ReleaseRecord[] {
  if (jobs.length < 4) throw new Error(`planReleases needs at least 4 jobs (got ${jobs.length})`);
  const [a, b, c, d] = jobs as [JobKey, JobKey, JobKey, JobKey];
  return [
    { id: 'r1', name: 'Spring launch', jobs: [a, b] },
    { id: 'r2', name: 'Hotfix', jobs: [b, c, b] },
    { id: 'r3', name: 'Summer launch', jobs: [d, a, c] },
  ];
}

/** Every job key a set of releases references, repeats included. */
export function referencedJobs(releases: readonly ReleaseRecord[]): JobKey[] {
  return releases.flatMap((release) => release.jobs);
}

export function buildReleasesSchema(releases: readonly ReleaseRecord[]) {
  const byId = new Map(releases.map((release) => [release.id, release]));
  return buildSubgraphSchema({
    typeDefs: parse(RELEASES_SDL),
    resolvers: {
      Query: {
        releases: () => releases,
        release: (_root: unknown, args: { id: string }) => byId.get(args.id) ?? null,
      },
      Release: {
        __resolveReference: (ref: { id: string }) => byId.get(ref.id) ?? null,
        // Only the key: the gateway turns these into `_entities` representations.
        jobs: (release: ReleaseRecord) =>
          release.jobs.map(({ appId, branchName, jobId }) => ({ appId, branchName, jobId })),
      },
    },
  });
}

export interface RunningReleasesSubgraph {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:43210/graphql */
  url: string;
  close(): Promise<void>;
}

/** Serves the releases subgraph with Yoga on 127.0.0.1, on a free port. */
export async function startReleasesSubgraph(
  releases: readonly ReleaseRecord[],
): Promise<RunningReleasesSubgraph> {
  const yoga = createYoga({
    schema: buildReleasesSchema(releases),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: false,
    logging: false,
  });
  const server = createServer(yoga);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
