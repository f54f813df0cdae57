/**
 * Maps method + raw path to an Amplify operation. The raw path is split on `/` BEFORE each
 * segment is percent-decoded: the SDK sends `feature/login` as `feature%2Flogin`, so decoding
 * first would break the label apart. Empty segments are kept (an empty label is a validation
 * error, not a different route), exactly as the SDK sends them.
 */

export const OPERATION_NAMES = [
  'GetJob',
  'ListJobs',
  'StartJob',
  'StopJob',
  'DeleteJob',
  'GetApp',
  'ListApps',
  'GetBranch',
  'ListBranches',
  'ListArtifacts',
  'GetArtifactUrl',
  'StartDeployment',
] as const;
export type OperationName = (typeof OPERATION_NAMES)[number];

export interface Labels {
  appId?: string;
  branchName?: string;
  jobId?: string;
  artifactId?: string;
}

export type RouteResult =
  | { readonly kind: 'operation'; readonly operation: OperationName; readonly labels: Labels }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'bad-encoding' }
  | { readonly kind: 'unknown' };

const UNKNOWN: RouteResult = { kind: 'unknown' };
const BAD_ENCODING: RouteResult = { kind: 'bad-encoding' };

class BadEncoding extends Error {}

function decode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadEncoding(segment);
  }
}

type MethodTable = Readonly<Partial<Record<string, OperationName>>>;

function pick(method: string, table: MethodTable, labels: Labels): RouteResult {
  const operation = table[method];
  if (operation !== undefined) return { kind: 'operation', operation, labels };
  return { kind: 'method-not-allowed', allow: Object.keys(table) };
}

const APPS: MethodTable = { GET: 'ListApps' };
const APP: MethodTable = { GET: 'GetApp' };
const BRANCHES: MethodTable = { GET: 'ListBranches' };
const BRANCH: MethodTable = { GET: 'GetBranch' };
const JOBS: MethodTable = { GET: 'ListJobs', POST: 'StartJob' };
const JOB: MethodTable = { GET: 'GetJob', DELETE: 'DeleteJob' };
const STOP: MethodTable = { DELETE: 'StopJob' };
const ARTIFACTS: MethodTable = { GET: 'ListArtifacts' };
const DEPLOYMENT_START: MethodTable = { POST: 'StartDeployment' };
const ARTIFACT: MethodTable = { GET: 'GetArtifactUrl' };

/** `path` is the raw request path without the query string. */
export function matchRoute(method: string, path: string): RouteResult {
  const s = path.split('/');
  // s[0] is the empty string before the leading slash.
  if (s[0] !== '' || s.length < 2) return UNKNOWN;
  try {
    if (s[1] === 'apps') return matchApps(method, s);
    if (s[1] === 'artifacts' && s.length === 3) {
      return pick(method, ARTIFACT, { artifactId: decode(s[2]!) });
    }
    return UNKNOWN;
  } catch (error) {
    if (error instanceof BadEncoding) return BAD_ENCODING;
    throw error;
  }
}

function matchApps(method: string, s: readonly string[]): RouteResult {
  const n = s.length;
  if (n === 2) return pick(method, APPS, {});
  const appId = decode(s[2]!);
  if (n === 3) return pick(method, APP, { appId });
  if (s[3] !== 'branches') return UNKNOWN;
  if (n === 4) return pick(method, BRANCHES, { appId });
  const branchName = decode(s[4]!);
  if (n === 5) return pick(method, BRANCH, { appId, branchName });
  if (s[5] === 'jobs') {
    if (n === 6) return pick(method, JOBS, { appId, branchName });
    const jobId = decode(s[6]!);
    if (n === 7) return pick(method, JOB, { appId, branchName, jobId });
    if (n === 8 && s[7] === 'stop') return pick(method, STOP, { appId, branchName, jobId });
    if (n === 8 && s[7] === 'artifacts')
      return pick(method, ARTIFACTS, { appId, branchName, jobId });
    return UNKNOWN;
  }
  if (s[5] === 'deployments' && n === 7 && s[6] === 'start') {
    return pick(method, DEPLOYMENT_START, { appId, branchName });
  }
  return UNKNOWN;
}

/** Query parameters, decoded per key and value (the SDK encodes spaces as %20, never `+`). */
export function parseQuery(raw: string): Map<string, string> | undefined {
  const query = new Map<string, string>();
  if (raw === '') return query;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    try {
      const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
      if (!query.has(key)) query.set(key, value);
    } catch {
      return undefined;
    }
  }
  return query;
}
