/**
 * The `corrupt` fault: the operation runs for real and answers HTTP 200, but its JSON body is
 * damaged in one named way before it is sent. These are the payload hazards a client's upstream
 * boundary has to survive (spec §4.2: what the SDK accepts, passes through or rejects). Each
 * variant applies only to the operations whose body has the member it damages; a rule never fires
 * for the others.
 */
import type { OperationName } from './router.js';

export const CORRUPT_VARIANTS = [
  'nullStep',
  'msTimestamps',
  'isoTimestamps',
  'farFuture',
  'wrongTypes',
  'noJob',
  'stepsNotList',
  'badEntries',
  'logUrl',
] as const;
export type CorruptVariant = (typeof CORRUPT_VARIANTS)[number];

/** The member that carries each operation's result. */
const RESULT_MEMBER: Readonly<Record<OperationName, string>> = {
  GetJob: 'job',
  ListJobs: 'jobSummaries',
  StartJob: 'jobSummary',
  StopJob: 'jobSummary',
  DeleteJob: 'jobSummary',
  GetApp: 'app',
  ListApps: 'apps',
  GetBranch: 'branch',
  ListBranches: 'branches',
  ListArtifacts: 'artifacts',
  GetArtifactUrl: 'artifactUrl',
  StartDeployment: 'jobSummary',
};

const JOB_SUMMARY_OPERATIONS: readonly OperationName[] = [
  'GetJob',
  'ListJobs',
  'StartJob',
  'StopJob',
  'DeleteJob',
  'StartDeployment',
];
const TIMESTAMP_OPERATIONS: readonly OperationName[] = [
  ...JOB_SUMMARY_OPERATIONS,
  'GetApp',
  'ListApps',
  'GetBranch',
  'ListBranches',
];

/** The operations each variant can damage. */
export const CORRUPT_OPERATIONS: Readonly<Record<CorruptVariant, readonly OperationName[]>> = {
  nullStep: ['GetJob'],
  msTimestamps: TIMESTAMP_OPERATIONS,
  isoTimestamps: TIMESTAMP_OPERATIONS,
  farFuture: JOB_SUMMARY_OPERATIONS,
  wrongTypes: TIMESTAMP_OPERATIONS,
  noJob: Object.keys(RESULT_MEMBER) as OperationName[],
  stepsNotList: ['GetJob'],
  badEntries: ['ListJobs', 'ListApps', 'ListBranches', 'ListArtifacts'],
  logUrl: ['GetJob'],
};

export function corrupts(variant: CorruptVariant, operation: OperationName): boolean {
  return CORRUPT_OPERATIONS[variant].includes(operation);
}

/** 10000-01-01T00:00:00Z in epoch milliseconds: adding it moves any 21st-century time past 9999. */
export const FAR_FUTURE_SHIFT_MS = 253_402_300_800_000;

const TIMESTAMP_MEMBERS: ReadonlySet<string> = new Set([
  'commitTime',
  'startTime',
  'endTime',
  'createTime',
  'updateTime',
  'webhookCreateTime',
  'lastDeployTime',
]);

/** A parsed JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Rewrites every timestamp member (a number of epoch seconds) anywhere below `value`. */
function mapTimestamps(value: Json, convert: (ms: number) => Json): Json {
  if (Array.isArray(value)) return value.map((item) => mapTimestamps(item, convert));
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, member] of Object.entries(value)) {
    out[key] =
      TIMESTAMP_MEMBERS.has(key) && typeof member === 'number'
        ? convert(Math.round(member * 1000))
        : mapTimestamps(member, convert);
  }
  return out;
}

/** The job summaries in a body: `job.summary`, each of `jobSummaries`, or `jobSummary`. */
function summariesOf(body: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  const job = body.job;
  if (isObject(job) && isObject(job.summary)) out.push(job.summary);
  if (isObject(body.jobSummary)) out.push(body.jobSummary);
  if (Array.isArray(body.jobSummaries)) out.push(...body.jobSummaries.filter(isObject));
  return out;
}

function stepsOf(body: JsonObject): JsonObject[] {
  const job = body.job;
  return isObject(job) && Array.isArray(job.steps) ? job.steps.filter(isObject) : [];
}

/** Applies `edit` to a copy of `job` (GetJob only); bodies without a job pass unchanged. */
function editJob(body: JsonObject, edit: (job: JsonObject) => void): JsonObject {
  if (!isObject(body.job)) return body;
  const job: JsonObject = { ...body.job };
  edit(job);
  return { ...body, job };
}

/**
 * Damages a parsed success body of `operation` as `variant` says. The input is not changed (it
 * may be a cached body); the result is what goes on the wire instead. `url` is the logUrl variant's
 * replacement URL.
 */
export function corruptBody(
  variant: CorruptVariant,
  operation: OperationName,
  input: Json,
  url = '',
): Json {
  if (!isObject(input)) return input;
  const body: JsonObject = structuredClone(input);
  switch (variant) {
    case 'nullStep':
      return editJob(body, (job) => {
        const steps = Array.isArray(job.steps) ? job.steps : [];
        job.steps = [...steps.slice(0, 1), null, ...steps.slice(1)];
      });
    case 'stepsNotList':
      return editJob(body, (job) => {
        const steps = Array.isArray(job.steps) ? job.steps : [];
        job.steps = Object.fromEntries(steps.map((step, index) => [String(index), step]));
      });
    case 'logUrl':
      for (const step of stepsOf(body)) step.logUrl = url;
      return body;
    case 'msTimestamps':
      return mapTimestamps(body, (ms) => ms);
    case 'isoTimestamps':
      return mapTimestamps(body, (ms) => new Date(ms).toISOString());
    case 'farFuture': {
      const shift = (value: Json | undefined): Json | undefined =>
        typeof value === 'number' ? (Math.round(value * 1000) + FAR_FUTURE_SHIFT_MS) / 1000 : value;
      for (const summary of summariesOf(body)) {
        const moved = shift(summary.startTime);
        if (moved !== undefined) summary.startTime = moved;
      }
      for (const step of stepsOf(body)) {
        const moved = shift(step.startTime);
        if (moved !== undefined) step.startTime = moved;
      }
      return body;
    }
    case 'wrongTypes':
      return wrongTypes(body);
    case 'noJob': {
      const { [RESULT_MEMBER[operation]]: _dropped, ...rest } = body;
      return rest;
    }
    case 'badEntries': {
      const member = RESULT_MEMBER[operation];
      const list = body[member];
      if (!Array.isArray(list)) return body;
      body[member] = [...list.slice(0, 1), null, ...list.slice(1, 2), 42, ...list.slice(2)];
      return body;
    }
  }
}

/** Members of the wrong JSON type, one or a few per entity, the rest left as they were. */
function wrongTypes(body: JsonObject): JsonObject {
  for (const summary of summariesOf(body)) {
    summary.status = 42;
    summary.commitMessage = {};
  }
  const steps = stepsOf(body);
  const first = steps[0];
  if (first !== undefined) {
    first.stepName = [];
    const withScreenshots = steps.find((step) => step.screenshots !== undefined) ?? first;
    withScreenshots.screenshots = 'x';
  }
  const apps = [body.app, ...(Array.isArray(body.apps) ? body.apps : [])].filter(isObject);
  for (const app of apps) {
    app.name = 42;
    app.tags = 'x';
  }
  const branches = [body.branch, ...(Array.isArray(body.branches) ? body.branches : [])].filter(
    isObject,
  );
  for (const branch of branches) {
    if (typeof branch.totalNumberOfJobs === 'string') {
      branch.totalNumberOfJobs = Number(branch.totalNumberOfJobs);
    }
    branch.customDomains = 'x';
  }
  return body;
}
