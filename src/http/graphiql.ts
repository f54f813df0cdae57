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

export const DEFAULT_EXAMPLE: GraphiQLExample = {
  query: `# Fill in a job of yours, then run with the ▶ button (or Ctrl+Enter).
query Job($appId: ID!, $branchName: String!, $jobId: ID!) {
  job(appId: $appId, branchName: $branchName, jobId: $jobId) {
    summary { jobArn status jobType commitId commitMessage startTime endTime }
    steps { stepName status startTime endTime logUrl statusReason screenshots { name url } }
  }
}
`,
  variables: { appId: 'd1a2b3c4d5e6f7', branchName: 'main', jobId: '1' },
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
