/**
 * `Mutation.startJob` and `Mutation.stopJob`: the console's redeploy and cancel buttons. Always in
 * the schema; they answer FORBIDDEN unless CONTROL_MUTATIONS is on and the caller holds the
 * `write` scope, checked before anything is sent. Each is sent to Amplify exactly once.
 */
import { ErrorCode, GatewayError } from '../errors.js';
import { jobKeyProblems } from '../upstream/keys.js';
import type { JobRecord } from '../upstream/shapes.js';
import { START_JOB_TYPES, type StartJobType } from '../upstream/upstream.js';
import { builder } from './builder.js';
import type { GatewayContext } from './context.js';
import { requireScope } from './identity.js';
import { type JobParent, JobRef } from './refs.js';

const REASON_MAX = 255;

const StartJobTypeEnum = builder.enumType('StartJobType', {
  description: 'What kind of job `startJob` starts.',
  values: {
    RELEASE: {
      description:
        "Build the branch's latest commit again (apps connected to a repository). A commit of your choice is not supported here.",
    },
    RETRY: { description: 'Retry an earlier job of the branch: pass its `jobId`.' },
    MANUAL: {
      description:
        'A manual deployment. Amplify refuses it for StartJob (its own wording: "The requested jobType MANUAL does not support."): the answer is BAD_USER_INPUT.',
    },
  } as const satisfies Record<StartJobType, unknown>,
});

function allowControl(context: GatewayContext, what: string): void {
  if (!context.controlMutations) {
    throw new GatewayError(
      ErrorCode.FORBIDDEN,
      `${what} is turned off on this gateway (its operator can set CONTROL_MUTATIONS=true).`,
    );
  }
  requireScope(context.caller, 'write', what);
}

function checkKey(key: { appId: string; branchName: string; jobId: string }): void {
  const problems = jobKeyProblems(key);
  if (problems.length > 0) throw new GatewayError(ErrorCode.BAD_USER_INPUT, problems.join('; '));
}

builder.mutationType({
  description:
    'Start and stop Amplify jobs. Off unless the gateway runs with CONTROL_MUTATIONS=true, and then only for callers with the `write` scope (FORBIDDEN otherwise). Never retried automatically.',
});

builder.mutationField('startJob', (t) =>
  t.field({
    type: JobRef,
    description:
      "Starts a job on a branch (Amplify StartJob) and returns it (PENDING, no steps yet); follow it with `jobUpdated`. Sent exactly once: when Amplify fails or times out the answer is UPSTREAM_OUTCOME_UNKNOWN (the job may have started: look at the branch's jobs before trying again). QUOTA_EXCEEDED when the account's concurrent-jobs quota is used up. Also FORBIDDEN, BAD_USER_INPUT, NOT_FOUND.",
    args: {
      appId: t.arg.id({
        required: true,
        description: 'The Amplify app id, e.g. `d1a2b3c4d5e6f7`.',
      }),
      branchName: t.arg.string({
        required: true,
        description: 'The branch name exactly as in the repository, e.g. `main`.',
      }),
      jobType: t.arg({ type: StartJobTypeEnum, required: true, description: 'What to start.' }),
      jobId: t.arg.id({
        required: false,
        description: 'For RETRY: the job number to retry. Not allowed otherwise.',
      }),
      reason: t.arg.string({
        required: false,
        description: `Why the job is started, shown in the Amplify console (at most ${REASON_MAX} characters).`,
      }),
    },
    resolve: async (_root, args, context): Promise<JobRecord> => {
      allowControl(context, 'startJob');
      const jobId = args.jobId === null || args.jobId === undefined ? null : String(args.jobId);
      const problems: string[] = [];
      if (args.jobType === 'RETRY' && jobId === null)
        problems.push('RETRY needs the jobId to retry');
      if (args.jobType !== 'RETRY' && jobId !== null) problems.push('jobId is only for RETRY');
      const reason = args.reason ?? null;
      if (reason !== null && [...reason].length > REASON_MAX) {
        problems.push(`reason must be at most ${REASON_MAX} characters`);
      }
      problems.push(
        ...jobKeyProblems({
          appId: String(args.appId),
          branchName: args.branchName,
          jobId: jobId ?? '1',
        }),
      );
      if (problems.length > 0) {
        throw new GatewayError(ErrorCode.BAD_USER_INPUT, problems.join('; '));
      }
      if (!START_JOB_TYPES.includes(args.jobType)) {
        throw new GatewayError(ErrorCode.BAD_USER_INPUT, `unknown jobType ${args.jobType}`);
      }
      return context.control.startJob({
        appId: String(args.appId),
        branchName: args.branchName,
        jobType: args.jobType,
        jobId,
        reason,
      });
    },
  }),
);

builder.mutationField('stopJob', (t) =>
  t.field({
    type: JobRef,
    description:
      'Stops a job that has not finished (Amplify StopJob) and returns it, now CANCELLING; it becomes CANCELLED shortly after, and `jobUpdated` subscribers see both. BAD_USER_INPUT when the job has already finished. Also FORBIDDEN, NOT_FOUND, UPSTREAM_*.',
    args: {
      appId: t.arg.id({
        required: true,
        description: 'The Amplify app id, e.g. `d1a2b3c4d5e6f7`.',
      }),
      branchName: t.arg.string({
        required: true,
        description: 'The branch name exactly as in the repository, e.g. `main`.',
      }),
      jobId: t.arg.id({ required: true, description: 'The job number, e.g. `42`.' }),
    },
    resolve: async (_root, args, context): Promise<JobParent> => {
      allowControl(context, 'stopJob');
      const key = {
        appId: String(args.appId),
        branchName: args.branchName,
        jobId: String(args.jobId),
      };
      checkKey(key);
      const summary = await context.control.stopJob(key);
      // One fresh read shows the steps as stopped and tells every subscriber (CANCELLING now;
      // CANCELLED reaches them through polling or a pushed event). It goes around the loaders,
      // so it is counted against the budget here.
      try {
        context.budget.charge('getJob');
        return await context.live.refresh(key);
      } catch (error) {
        // The stop happened: answer with Amplify's summary; `steps`, if asked for, is read again
        // through the request's loader.
        context.log.warn({ err: error, job: key }, 'stopJob: reading the stopped job failed');
        return { key, summary };
      }
    },
  }),
);
