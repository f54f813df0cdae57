/**
 * GraphiQL, served by Yoga to browsers at /graphql: its opening example, and its page renderer,
 * loaded only when GraphiQL is on.
 */
import type { GraphiQLOptions } from 'graphql-yoga';
import type { Config } from '../config.js';

/** Renders GraphiQL's HTML page. */
export type GraphiQLRenderer = (options?: GraphiQLOptions) => string;

/** GraphiQL's opening document and variables. */
export interface GraphiQLExample {
  query: string;
  variables?: Record<string, unknown>;
}

/**
 * Where a newcomer starts: their apps, each app's branches and each branch's latest jobs, with no
 * id to know. About a dozen Amplify calls (one ListApps, a ListBranches per app, a ListJobs per
 * branch), so it is cheap on a real account too.
 */
export const DEFAULT_EXAMPLE: GraphiQLExample = {
  query: `# Your apps, their branches and each branch's latest jobs: no id needed.
# Run it with the ▶ button (or Ctrl+Enter), then copy an appId, branchName and jobId
# into app(...), branch(...) or job(...). Continue a list with after: its pageInfo.endCursor.
query Explore {
  apps(first: 3) {
    nodes {
      appId
      name
      repository
      branches(first: 3) {
        nodes {
          branchName
          stage
          url
          jobs(first: 3) {
            nodes {
              jobId
              isTerminal
              durationSeconds
              summary { status jobType commitMessage startTime endTime }
            }
            pageInfo { hasNextPage endCursor }
          }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`,
};

/**
 * GraphiQL's page with its scripts inlined from the npm package instead of loaded from a CDN, so it
 * works offline, in air-gapped clusters and under a strict Content-Security-Policy. Loaded only
 * when GraphiQL is on.
 */
export async function loadGraphiQLRenderer(config: Config): Promise<GraphiQLRenderer | undefined> {
  if (!config.graphiql) return undefined;
  const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
  return renderGraphiQL;
}
