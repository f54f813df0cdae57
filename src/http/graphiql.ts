/**
 * GraphiQL for browsers at /graphql: its opening example, its page renderer (loaded only when
 * GraphiQL is on), and the page itself, rendered once and served as bytes by the HTTP edge.
 *
 * The page is self-contained (about 9 MB: GraphiQL, Monaco and their workers inlined) and holds
 * no data, so it is the same for everyone: it is rendered on its first request, kept as one
 * Buffer and one gzip copy, and every request is answered with those same bytes. A request no
 * longer builds a page of its own (Yoga's renderer did, 9 MB of heap per request, held until a
 * slow reader took it: a handful of clients that did not read exhausted a 128 MiB heap).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
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

/** GraphiQL's settings for the page: the title and the opening document. */
export function graphiqlOptions(example: GraphiQLExample): GraphiQLOptions {
  return {
    title: 'Amplify jobs GraphQL',
    defaultQuery: example.query,
    ...(example.variables ? { variables: JSON.stringify(example.variables, null, 2) } : {}),
  };
}

/**
 * How long browsers and caches may keep the page: it holds no data and changes only with a
 * release of the gateway, so an hour, then revalidated by its ETag.
 */
export const GRAPHIQL_CACHE_CONTROL = 'public, max-age=3600';

interface RenderedPage {
  identity: Buffer;
  gzip: Buffer;
  etag: string;
}

/** GraphiQL's page, rendered once: {@link GraphiQLPage.serve} answers a browser's GET with it. */
export interface GraphiQLPage {
  /**
   * Answers a GET for the page: 200 with the shared bytes (gzip when the browser accepts it),
   * `Cache-Control` {@link GRAPHIQL_CACHE_CONTROL} and an `ETag`, or 304 for a matching
   * `If-None-Match`. Never throws; a failed render is logged and answered 500.
   */
  serve(req: IncomingMessage, res: ServerResponse): void;
  /** How many times the page was rendered (once per process). */
  readonly renders: number;
}

const gzipAsync = promisify(gzip);

/** Whether `accept-encoding` accepts gzip (a `q=0` refuses it). */
function acceptsGzip(header: string | string[] | undefined): boolean {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text.split(',').some((part) => {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

export function createGraphiQLPage(
  render: GraphiQLRenderer,
  options: GraphiQLOptions,
  onError: (error: unknown) => void,
): GraphiQLPage {
  let page: Promise<RenderedPage> | null = null;
  let renders = 0;
  const rendered = (): Promise<RenderedPage> => {
    page ??= (async () => {
      renders += 1;
      const identity = Buffer.from(render(options), 'utf8');
      // Compressed off the event loop (the thread pool), once: about 9 MB down to 2.
      const compressed = await gzipAsync(identity, { level: 9 });
      const etag = `"${createHash('sha256').update(identity).digest('base64url').slice(0, 27)}"`;
      return { identity, gzip: compressed, etag };
    })();
    // A failed render is tried again on the next request.
    page.catch(() => {
      page = null;
    });
    return page;
  };
  return {
    get renders() {
      return renders;
    },
    serve(req, res) {
      rendered().then(
        ({ identity, gzip: compressed, etag }) => {
          const headers: Record<string, string | number> = {
            'content-type': 'text/html; charset=utf-8',
            'cache-control': GRAPHIQL_CACHE_CONTROL,
            etag,
            vary: 'Accept-Encoding',
            'x-content-type-options': 'nosniff',
          };
          if (req.headers['if-none-match'] === etag) {
            res.writeHead(304, headers).end();
            return;
          }
          const useGzip = acceptsGzip(req.headers['accept-encoding']);
          const body = useGzip ? compressed : identity;
          res.writeHead(200, {
            ...headers,
            ...(useGzip ? { 'content-encoding': 'gzip' } : {}),
            'content-length': body.length,
          });
          // The same Buffer for every request: a reader that does not read holds no copy.
          res.end(body);
        },
        (error: unknown) => {
          onError(error);
          if (res.headersSent) {
            res.destroy();
            return;
          }
          res.writeHead(500, {
            'content-type': 'text/plain; charset=utf-8',
            'cache-control': 'no-store',
          });
          res.end('GraphiQL could not be rendered; the log says why.');
        },
      );
    },
  };
}
