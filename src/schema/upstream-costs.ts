/**
 * What each field of this schema costs in upstream calls, for the upstream-call budget
 * (upstream-budget.ts): Amplify calls, and reads of step logs. A field that calls upstream must be
 * listed here; list fields take their sizing from list-costs.ts, so the estimate follows the
 * connections' own page sizes.
 *
 * Call identities are shared between fields that use the same loader: `job(...)`, `activeJob` and
 * a federation representation of the same job are one GetJob. What the estimate cannot know before
 * running (which app a job of a page belongs to, a branch's active job) is counted the most it can
 * be, and the loaders enforce the budget again while the operation runs.
 */
import { appIdProblems, branchKeyProblems, jobKeyId, jobKeyProblems } from '../upstream/keys.js';
import { LIST_FIELD_COSTS, type ListField, type ListFieldCost } from './list-costs.js';
import type { Ancestor, FieldUpstreamCost, UpstreamCostTable } from './upstream-budget.js';

/**
 * The cost of a list field sized by an argument (`first`): one list call per page of up to
 * `maxSize` entries, and everything selected below it once per entry. A size above the maximum is
 * counted as the maximum (the field refuses it anyway).
 */
export function listFieldCost(
  list: Pick<ListFieldCost, 'sizeArgument' | 'defaultSize' | 'maxSize'>,
): FieldUpstreamCost {
  const size = (args: Record<string, unknown>) => {
    const asked = args[list.sizeArgument];
    return typeof asked === 'number' && asked >= 0
      ? Math.min(asked, list.maxSize)
      : list.defaultSize;
  };
  return { calls: (args) => Math.max(1, Math.ceil(size(args) / list.maxSize)), fanOut: size };
}

/**
 * Most steps one job has, for what is selected under `steps` (a step's `log`): Amplify's jobs run
 * BUILD, DEPLOY, VERIFY and, with tests, TEST. A job with more is caught by the loaders' count.
 */
export const STEPS_PER_JOB = 5;

const text = (value: unknown): value is string => typeof value === 'string';

/** The GetJob a job key costs; none when the key is malformed (refused before any call). */
function getJob(key: Record<string, unknown>): string[] {
  const { appId, branchName, jobId } = key;
  if (!text(appId) || !text(branchName) || !text(jobId)) return [];
  const jobKey = { appId, branchName, jobId };
  return jobKeyProblems(jobKey).length > 0 ? [] : [`GetJob ${jobKeyId(jobKey)}`];
}

function getApp(appId: unknown): string[] {
  return text(appId) && appIdProblems(appId).length === 0 ? [`GetApp ${appId}`] : [];
}

function getBranch(key: Record<string, unknown>): string[] {
  const { appId, branchName } = key;
  if (!text(appId) || !text(branchName)) return [];
  return branchKeyProblems({ appId, branchName }).length > 0
    ? []
    : [`GetBranch ${JSON.stringify([appId, branchName])}`];
}

/** The app everything below the nearest field naming one belongs to (`job`, `branch`, `app`). */
function knownApp(ancestors: readonly Ancestor[]): unknown {
  return ancestors.findLast((a) => text(a.args.appId))?.args.appId;
}

/** The branch everything below the nearest field naming one belongs to (`job`, `branch`). */
function knownBranch(ancestors: readonly Ancestor[]): Record<string, unknown> | undefined {
  return ancestors.findLast((a) => text(a.args.appId) && text(a.args.branchName))?.args;
}

const under = (ancestors: readonly Ancestor[], field: string) =>
  ancestors.some((a) => a.field === field);

/** `app` of a job or branch: known from an enclosing `app`/`branch`/`job`, or primed by `apps`. */
const appOf: FieldUpstreamCost = {
  keys: (_args, ancestors) => getApp(knownApp(ancestors)),
  // Apps that `apps` returned are in the loader already; else one GetApp per page of jobs or
  // branches (they all share their app) or per entity.
  calls: (_args, ancestors) => (under(ancestors, 'Query.apps') ? 0 : 1),
  sharedWithin: ['Branch.jobs', 'App.branches'],
};

/** Jobs that come from a page of `Branch.jobs` carry no steps: reading them is one GetJob. */
const JOB_FROM_A_PAGE = ['JobConnection.nodes', 'JobEdge.node'];

const list = (field: ListField) => listFieldCost(LIST_FIELD_COSTS[field]);

export const UPSTREAM_COSTS: UpstreamCostTable = {
  // One call per distinct key, however many aliases name it.
  'Query.job': { keys: (args) => getJob(args) },
  'Query.app': { keys: (args) => getApp(args.appId) },
  'Query.branch': { keys: (args) => getBranch(args) },
  // One call per distinct representation, through the same loaders as the fields above.
  'Query._entities': {
    keys: (args) => {
      const representations = Array.isArray(args.representations) ? args.representations : [];
      return representations.flatMap((representation: unknown) => {
        if (typeof representation !== 'object' || representation === null) return [];
        const fields = representation as Record<string, unknown>;
        if (fields.__typename === 'Job') return getJob(fields);
        if (fields.__typename === 'Branch') return getBranch(fields);
        if (fields.__typename === 'App') return getApp(fields.appId);
        return [`_entities ${JSON.stringify(representation)}`];
      });
    },
  },
  // Lists: one call per page; everything below once per entry.
  'Query.apps': list('Query.apps'),
  'App.branches': list('App.branches'),
  'Branch.jobs': list('Branch.jobs'),
  // Navigation.
  'Branch.app': appOf,
  'Branch.url': appOf,
  'Job.app': appOf,
  'Job.branch': {
    keys: (_args, ancestors) => {
      const branch = knownBranch(ancestors);
      return branch === undefined ? [] : getBranch(branch);
    },
    // Branches that `branches` returned are in the loader already; else one GetBranch per page
    // of jobs (they share their branch) or per entity.
    calls: (_args, ancestors) => (under(ancestors, 'App.branches') ? 0 : 1),
    sharedWithin: ['Branch.jobs'],
  },
  // The active job's id is known only once the branch is read: one GetJob per branch.
  'Branch.activeJob': { calls: () => 1 },
  // A job from a page is a summary: its steps are one GetJob (failedStep reads the same steps).
  'Job.steps': { calls: () => 1, onlyFrom: JOB_FROM_A_PAGE, fanOut: () => STEPS_PER_JOB },
  'Job.failedStep': { calls: () => 1, onlyFrom: JOB_FROM_A_PAGE },
  // One read of the log per step.
  'Step.log': { calls: () => 1 },
};
