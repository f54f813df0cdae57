import { ErrorCode, GatewayError } from '../errors.js';
import { jobKeyProblems } from '../upstream/keys.js';
import type { JobRecord } from '../upstream/shapes.js';
import { builder } from './builder.js';
import { JobSummaryRef } from './job-summary.js';
import { StepRef } from './step.js';

const JOB_KEY_FIELDS = ['appId', 'branchName', 'jobId'] as const;

export const JobRef = builder.objectRef<JobRecord>('Job').implement({
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
      description: "The job's steps in the order they ran; steps appear as they start.",
      resolve: (job) => job.steps,
    }),
  }),
});

builder.asEntity(JobRef, {
  key: builder.selection<{ appId: string; branchName: string; jobId: string }>(
    'appId branchName jobId',
  ),
  // Same per-request loader as Query.job: representations of one job cost one GetJob in total.
  resolveReference: async (ref, context) => {
    // Representations are `_Any`: GraphQL checks nothing. A key field that is missing or not a
    // string would throw inside the loader's batch and fail every entity of the request; reject
    // it here, in its own entry only (async, so the rejection stays in that entry).
    const notStrings = JOB_KEY_FIELDS.filter((field) => typeof ref[field] !== 'string');
    if (notStrings.length > 0) {
      throw new GatewayError(
        ErrorCode.BAD_USER_INPUT,
        `Job representation fields must be strings: ${notStrings.join(', ')}`,
      );
    }
    return context.loaders.job.load({
      appId: ref.appId,
      branchName: ref.branchName,
      jobId: ref.jobId,
    });
  },
});

builder.queryType({
  description: 'Read Amplify Hosting jobs.',
});

builder.queryField('job', (t) =>
  t.field({
    type: JobRef,
    nullable: true,
    description:
      'One job of one branch. Null, with a NOT_FOUND error, when Amplify has no such job (or app, or branch).',
    args: {
      appId: t.arg.id({
        required: true,
        description: 'The Amplify app id, e.g. `d1a2b3c4d5e6f7`.',
      }),
      branchName: t.arg.string({
        required: true,
        description:
          'The branch name exactly as in the repository, e.g. `main` or `feature/login`.',
      }),
      jobId: t.arg.id({ required: true, description: 'The job number, e.g. `42`.' }),
    },
    resolve: (_root, args, context) => {
      const key = {
        appId: String(args.appId),
        branchName: args.branchName,
        jobId: String(args.jobId),
      };
      const problems = jobKeyProblems(key);
      if (problems.length > 0) {
        throw new GatewayError(ErrorCode.BAD_USER_INPUT, problems.join('; '));
      }
      return context.loaders.job.load(key);
    },
  }),
);
