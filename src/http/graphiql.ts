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
 * branch), so it is cheap on a real account too. The README's first query is this one.
 */
const EXPLORE_APPS = `  apps(first: 3) {
    nodes {
      appId
      name
      branches(first: 3) {
        nodes {
          branchName
          url
          jobs(first: 3) {
            nodes { jobId isTerminal durationSeconds summary { status jobType commitMessage } }
            pageInfo { hasNextPage endCursor }
          }
        }
      }
    }
  }`;

/** GraphiQL's opening document without a demo world: {@link EXPLORE_APPS}, no variables. */
export const DEFAULT_EXAMPLE: GraphiQLExample = {
  query: `# Your apps, their branches and each branch's latest jobs: no id needed.
# Run it with the ▶ button (or Ctrl+Enter), then copy an appId, branchName and jobId
# into app(...), branch(...) or job(...). Continue a list with after: its pageInfo.endCursor.
query Explore {
${EXPLORE_APPS}
}
`,
};

/**
 * The demo's opening document: one job of its world in full with the end of each step's log (the
 * README's second query; first, so that GraphiQL's answer pane opens on it), then the same start
 * as {@link DEFAULT_EXAMPLE}, for the job `variables` name.
 */
export function demoExample(variables: {
  appId: string;
  branchName: string;
  jobId: string;
}): GraphiQLExample {
  return {
    query: `# One job of the demo's world in full, with the end of each step's log; then your apps, their
# branches and each branch's latest jobs (no id needed). Run it with ▶ (or Ctrl+Enter). Copy any
# appId, branchName and jobId into app(...), branch(...) or job(...); continue a list with
# after: its pageInfo.endCursor.
query Explore($appId: ID!, $branchName: String!, $jobId: ID!) {
  job(appId: $appId, branchName: $branchName, jobId: $jobId) {
    summary { jobArn status jobType commitMessage startTime endTime }
    durationSeconds
    failedStep { stepName statusReason }
    steps { stepName status durationSeconds logUrl log(tailLines: 3) { text truncated bytes } }
  }

${EXPLORE_APPS}
}
`,
    variables,
  };
}

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
