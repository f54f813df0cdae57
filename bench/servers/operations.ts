/**
 * The two GraphQL operations the bench sends, and the hand-written projections the raw-SDK floor
 * uses to answer them without GraphQL. They sit side by side so a change to one shows in the
 * other; the runner's sanity check proves the floor's answer equals the gateway's before any
 * measurement.
 */
import type { JobListItem, Page } from '../../src/upstream/page-shapes.js';
import type { JobKey, JobRecord } from '../../src/upstream/shapes.js';

/** W1 and W2: one job with every field a job page shows. */
export const JOB_OPERATION = 'BenchJob';
/** W3: one operation naming {@link DISTINCT_JOBS} jobs through {@link ALIAS_COUNT} aliases. */
export const ALIASES_OPERATION = 'BenchAliases';
export const ALIAS_COUNT = 100;
export const DISTINCT_JOBS = 20;
/** W5: one page of a branch's job history with every job's steps. */
export const JOB_HISTORY_OPERATION = 'BenchJobHistory';
/** Jobs on the W5 page: one ListJobs and this many GetJob calls for the floor. */
export const JOB_HISTORY_PAGE = 20;

export const JOB_QUERY = `query ${JOB_OPERATION}($appId: ID!, $branchName: String!, $jobId: ID!) {
  job(appId: $appId, branchName: $branchName, jobId: $jobId) {
    appId
    branchName
    jobId
    summary { jobArn jobId commitId commitMessage commitTime startTime status endTime jobType sourceUrl sourceUrlType }
    steps { stepName startTime status endTime logUrl artifactsUrl testArtifactsUrl testConfigUrl screenshots { name url } statusReason context }
  }
}`;

/**
 * W5: a branch's latest jobs with their steps, as a "recent builds" page shows them. The summary
 * comes from ListJobs, the steps from one GetJob per job. No cursor is selected: it is signed with
 * the gateway's key, which the floor does not have.
 */
export const JOB_HISTORY_QUERY = `query ${JOB_HISTORY_OPERATION}($appId: ID!, $branchName: String!, $first: Int!) {
  branch(appId: $appId, branchName: $branchName) {
    jobs(first: $first) {
      nodes {
        jobId
        summary { jobId commitId commitMessage startTime status endTime jobType }
        steps { stepName startTime status endTime logUrl statusReason }
      }
      pageInfo { hasNextPage }
    }
  }
}`;

const ALIAS_SELECTION = 'jobId summary { status startTime endTime }';

/** Variables `a<i>`, `b<i>`, `j<i>` name distinct job i; alias `x<n>` reads job n % 20. */
export const ALIASES_QUERY = (() => {
  const definitions: string[] = [];
  for (let i = 0; i < DISTINCT_JOBS; i++)
    definitions.push(`$a${i}: ID!, $b${i}: String!, $j${i}: ID!`);
  const fields: string[] = [];
  for (let n = 0; n < ALIAS_COUNT; n++) {
    const i = n % DISTINCT_JOBS;
    fields.push(
      `  x${n}: job(appId: $a${i}, branchName: $b${i}, jobId: $j${i}) { ${ALIAS_SELECTION} }`,
    );
  }
  return `query ${ALIASES_OPERATION}(${definitions.join(', ')}) {\n${fields.join('\n')}\n}`;
})();

export function aliasesVariables(keys: readonly JobKey[]): Record<string, string> {
  if (keys.length !== DISTINCT_JOBS) throw new Error(`W3 needs ${DISTINCT_JOBS} distinct jobs`);
  const variables: Record<string, string> = {};
  keys.forEach((key, i) => {
    variables[`a${i}`] = key.appId;
    variables[`b${i}`] = key.branchName;
    variables[`j${i}`] = key.jobId;
  });
  return variables;
}

/** The inverse of {@link aliasesVariables}, for the floor. */
export function aliasesKeys(variables: Record<string, unknown>): JobKey[] {
  const keys: JobKey[] = [];
  for (let i = 0; i < DISTINCT_JOBS; i++) {
    keys.push({
      appId: String(variables[`a${i}`]),
      branchName: String(variables[`b${i}`]),
      jobId: String(variables[`j${i}`]),
    });
  }
  return keys;
}

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

/** {@link JOB_QUERY}'s `job` selection, as the gateway serializes it (DateTime as ISO strings). */
export function jobDetail(job: JobRecord) {
  const s = job.summary;
  return {
    appId: job.key.appId,
    branchName: job.key.branchName,
    jobId: job.key.jobId,
    summary: {
      jobArn: s.jobArn,
      jobId: s.jobId,
      commitId: s.commitId,
      commitMessage: s.commitMessage,
      commitTime: iso(s.commitTime),
      startTime: iso(s.startTime),
      status: s.status,
      endTime: iso(s.endTime),
      jobType: s.jobType,
      sourceUrl: s.sourceUrl,
      sourceUrlType: s.sourceUrlType,
    },
    steps: job.steps.map((step) => ({
      stepName: step.stepName,
      startTime: iso(step.startTime),
      status: step.status,
      endTime: iso(step.endTime),
      logUrl: step.logUrl,
      artifactsUrl: step.artifactsUrl,
      testArtifactsUrl: step.testArtifactsUrl,
      testConfigUrl: step.testConfigUrl,
      screenshots: step.screenshots.map(({ name, url }) => ({ name, url })),
      statusReason: step.statusReason,
      context: step.context,
    })),
  };
}

/** {@link ALIAS_SELECTION} of one alias. */
export function aliasDetail(job: JobRecord) {
  return {
    jobId: job.key.jobId,
    summary: {
      status: job.summary.status,
      startTime: iso(job.summary.startTime),
      endTime: iso(job.summary.endTime),
    },
  };
}

/** {@link JOB_HISTORY_QUERY}'s `branch` selection: summaries from the page, steps from GetJob. */
export function jobHistoryDetail(page: Page<JobListItem>, first: number, jobs: JobRecord[]) {
  const shown = page.items.slice(0, first);
  return {
    jobs: {
      nodes: shown.map((item, i) => {
        const s = item.summary;
        return {
          jobId: item.key.jobId,
          summary: {
            jobId: s.jobId,
            commitId: s.commitId,
            commitMessage: s.commitMessage,
            startTime: iso(s.startTime),
            status: s.status,
            endTime: iso(s.endTime),
            jobType: s.jobType,
          },
          steps: (jobs[i]?.steps ?? []).map((step) => ({
            stepName: step.stepName,
            startTime: iso(step.startTime),
            status: step.status,
            endTime: iso(step.endTime),
            logUrl: step.logUrl,
            statusReason: step.statusReason,
          })),
        };
      }),
      pageInfo: { hasNextPage: shown.length < page.items.length || page.nextToken !== null },
    },
  };
}
