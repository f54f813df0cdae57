/**
 * What each list field of the schema costs upstream, for operation limits and the upstream budget
 * (issue #12): one page of a list field is one Amplify list call, sized by its `first` argument.
 * Keys are `Type.field` as in the schema; the connection fields read their default and maximum
 * page sizes from here, so this table cannot drift from what they do.
 *
 * Beyond the list call itself, entries can cost more depending on the selection:
 * - `Branch.jobs`: each job whose `steps` or `failedStep` is selected costs one GetJob (shared per
 *   request with `job(...)` and `Branch.activeJob` through the job loader); each step whose `log`
 *   is selected costs one log read.
 * - Navigating to `app` / `branch` costs one GetApp / GetBranch per distinct app or branch in the
 *   request (batched), nothing for entries a list of apps or branches already returned.
 */

export interface ListFieldCost {
  /** The argument that says how many entries one page holds. */
  sizeArgument: 'first';
  /** Page size when the argument is absent (or null). */
  defaultSize: number;
  /** Largest page size accepted (the Amplify operation's own maximum); above it: BAD_USER_INPUT. */
  maxSize: number;
  /** The Amplify operation one page costs, once. */
  operation: 'ListApps' | 'ListBranches' | 'ListJobs';
}

export const LIST_FIELD_COSTS = {
  'Query.apps': { sizeArgument: 'first', defaultSize: 20, maxSize: 100, operation: 'ListApps' },
  'App.branches': {
    sizeArgument: 'first',
    defaultSize: 20,
    maxSize: 50,
    operation: 'ListBranches',
  },
  'Branch.jobs': { sizeArgument: 'first', defaultSize: 20, maxSize: 50, operation: 'ListJobs' },
} as const satisfies Record<string, ListFieldCost>;

export type ListField = keyof typeof LIST_FIELD_COSTS;

/**
 * Most jobs one `jobsUpdated` subscription follows: a board's worth, far below the per-client
 * limit. More are refused (BAD_USER_INPUT) before anything is read.
 */
export const MAX_JOBS_PER_SUBSCRIPTION = 50;
