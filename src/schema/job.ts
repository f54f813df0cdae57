import { isFinishedJob } from '../upstream/shapes.js';
import { builder } from './builder.js';
import type { GatewayContext } from './context.js';
import { durationSeconds, firstFailedStep } from './derived.js';
import { JobSummaryRef } from './job-summary.js';
import { checkJobKey, jobKeyArgs, toJobKey } from './key-args.js';
import { AppRef, BranchRef, type JobParent, JobRef } from './refs.js';
import { type StepParent, StepRef } from './step.js';

/** The job's steps, each with the job's key: from the parent, or one GetJob (shared per request). */
async function stepsOf(job: JobParent, context: GatewayContext): Promise<StepParent[]> {
  const steps = job.steps ?? (await context.loaders.job.load(job.key)).steps;
  return steps.map((step) => ({ ...step, job: job.key }));
}

JobRef.implement({
  description:
    'One build-and-deploy run of an Amplify Hosting branch. Identified by app, branch and job number; other subgraphs reference it by that key.',
  fields: (t) => ({
    appId: t.id({
      description: 'The Amplify app the job belongs to, e.g. `d1a2b3c4d5e6f7`.',
      resolve: (job) => job.key.appId,
    }),
    branchName: t.string({
      description: 'The branch the job ran for, exactly as in the repository (may contain `/`).',
      resolve: (job) => job.key.branchName,
    }),
    jobId: t.id({
      description: 'The job number within its branch, as a string of digits.',
      resolve: (job) => job.key.jobId,
    }),
    summary: t.field({
      type: JobSummaryRef,
      description: 'The job as a whole: commit, status, type, times.',
      resolve: (job) => job.summary,
    }),
    steps: t.field({
      type: [StepRef],
      description:
        "The job's steps in the order they ran; steps appear as they start. For a job from a list (`Branch.jobs`) this costs one GetJob, shared with every other use of the job in the request.",
      resolve: (job, _args, context) => stepsOf(job, context),
    }),
    app: t.field({
      type: AppRef,
      description:
        'The app the job belongs to. Batched: any number of jobs of one app cost one GetApp per request.',
      resolve: (job, _args, context) => context.loaders.app.load({ appId: job.key.appId }),
    }),
    branch: t.field({
      type: BranchRef,
      description:
        'The branch the job ran for. Batched: any number of jobs of one branch cost one GetBranch per request.',
      resolve: (job, _args, context) =>
        context.loaders.branch.load({ appId: job.key.appId, branchName: job.key.branchName }),
    }),
    durationSeconds: t.float({
      nullable: true,
      description:
        'How long the job took: `endTime` minus `startTime` once it has ended; while it runs, the seconds elapsed since `startTime` (measured when this request started). Null without a start time, or when it ended without an end time.',
      resolve: (job, _args, context) => {
        const { startTime, endTime, status } = job.summary;
        const seconds = durationSeconds(startTime, endTime, status, context.now);
        // Counted up to "now": the answer changes with every request, so it is never cached.
        if (seconds !== null && endTime === null) context.reads.changing();
        return seconds;
      },
    }),
    isTerminal: t.boolean({
      description:
        'The job is over and will not change again: its status is SUCCEED, FAILED or CANCELLED.',
      resolve: (job) => isFinishedJob(job),
    }),
    failedStep: t.field({
      type: StepRef,
      nullable: true,
      description:
        'The first step whose status is FAILED (its `statusReason` says why), or null. Reads the steps (see `steps`).',
      resolve: async (job, _args, context) => firstFailedStep(await stepsOf(job, context)),
    }),
  }),
});

builder.asEntity(JobRef, {
  key: builder.selection<{ appId: string; branchName: string; jobId: string }>(
    'appId branchName jobId',
  ),
  // Same per-request loader as Query.job: representations of one job cost one GetJob in total.
  resolveReference: async (ref, context) => {
    // Representations are `_Any`: GraphQL checks nothing. A malformed key is refused in its own
    // entry only (async, so the rejection stays in that entry), never inside the loader's batch.
    const key = { appId: ref.appId, branchName: ref.branchName, jobId: ref.jobId };
    return context.loaders.job.load(checkJobKey(key, 'Job representation'));
  },
});

builder.queryField('job', (t) =>
  t.field({
    type: JobRef,
    nullable: true,
    description:
      'One job of one branch. Null, with a NOT_FOUND error, when Amplify has no such job (or app, or branch).',
    args: jobKeyArgs(t.arg),
    resolve: (_root, args, context) => context.loaders.job.load(toJobKey(args)),
  }),
);
