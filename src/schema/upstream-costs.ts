/**
 * What each field of this schema costs in Amplify calls, for the upstream-call budget
 * (upstream-budget.ts). A field that calls Amplify must be listed here; a list field sized by an
 * argument lists its page size as `fanOut` (and its own calls, one per page).
 *
 * Call identities are shared between fields that use the same loader: `job(...)` and a federation
 * representation of the same job are one GetJob.
 */
import { jobKeyId, jobKeyProblems } from '../upstream/keys.js';
import type { FieldUpstreamCost, UpstreamCostTable } from './upstream-budget.js';

/** How a list field is sized: its argument, default and largest page. */
export interface ListSizing {
  sizeArgument: string;
  defaultSize: number;
  maxSize: number;
}

/**
 * The cost of a list field sized by an argument (`first`): one list call per page of up to
 * `maxSize` entries, and everything selected below it once per entry. A size above the maximum is
 * counted as the maximum (the field refuses it anyway).
 */
export function listFieldCost(list: ListSizing): FieldUpstreamCost {
  const size = (args: Record<string, unknown>) => {
    const asked = args[list.sizeArgument];
    return typeof asked === 'number' && asked >= 0
      ? Math.min(asked, list.maxSize)
      : list.defaultSize;
  };
  return { calls: (args) => Math.max(1, Math.ceil(size(args) / list.maxSize)), fanOut: size };
}

/** The GetJob a job key costs; none when the key is malformed (refused before any call). */
function getJob(key: { appId: unknown; branchName: unknown; jobId: unknown }): string[] {
  const { appId, branchName, jobId } = key;
  if (typeof appId !== 'string' || typeof branchName !== 'string' || typeof jobId !== 'string') {
    return [];
  }
  const jobKey = { appId, branchName, jobId };
  return jobKeyProblems(jobKey).length > 0 ? [] : [`GetJob ${jobKeyId(jobKey)}`];
}

export const UPSTREAM_COSTS: UpstreamCostTable = {
  // One GetJob per distinct job, however many aliases name it.
  'Query.job': { keys: (args) => getJob(args as Parameters<typeof getJob>[0]) },
  // One call per distinct representation: Job ones through the job loader (shared with
  // Query.job), any other type counted once each.
  'Query._entities': {
    keys: (args) => {
      const representations = Array.isArray(args.representations) ? args.representations : [];
      return representations.flatMap((representation: unknown) => {
        if (typeof representation !== 'object' || representation === null) return [];
        const fields = representation as Record<string, unknown>;
        return fields.__typename === 'Job'
          ? getJob(fields as Parameters<typeof getJob>[0])
          : [`_entities ${JSON.stringify(representation)}`];
      });
    },
  },
};
