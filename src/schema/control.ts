/**
 * `Mutation.startJob` and `Mutation.stopJob`: the console's redeploy and cancel buttons. Always in
 * the schema; they answer FORBIDDEN unless CONTROL_MUTATIONS is on and the caller holds the
 * `write` scope, checked before anything is sent. Each is sent to Amplify exactly once.
 */
import { ErrorCode, GatewayError } from '../errors.js';
import { branchKeyProblems, jobIdProblems } from '../upstream/keys.js';
import type { JobRecord } from '../upstream/shapes.js';
import type { StartJobType } from '../upstream/upstream.js';
import { builder } from './builder.js';
import type { GatewayContext } from './context.js';
import { requireScope } from './identity.js';
import { branchKeyArgs, jobKeyArgs, toJobKey } from './key-args.js';
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

builder.mutationType({
  description:
    "Start and stop Amplify jobs, as the Amplify console's redeploy and cancel buttons do. Off unless the gateway's operator has turned them on, and then only for callers whose credentials carry the `write` scope; otherwise FORBIDDEN, and nothing is sent. Each is sent to Amplify once, never retried automatically.",
});

builder.mutationField('startJob', (t) =>
  t.field({
    type: JobRef,
    description:
      "Starts a job on a branch (Amplify StartJob) and returns it (PENDING, no steps yet); follow it with `jobUpdated`. Sent exactly once. Errors: UPSTREAM_OUTCOME_UNKNOWN when Amplify failed, timed out or answered unreadably after receiving it (the job may have started: look at the branch's jobs before trying again); QUOTA_EXCEEDED when the account's concurrent-jobs quota is used up (nothing started); UPSTREAM_UNAVAILABLE or UPSTREAM_THROTTLED (retryable; nothing was sent) while the gateway pauses its calls to Amplify after repeated failures or throttling; FORBIDDEN, BAD_USER_INPUT, NOT_FOUND, UPSTREAM_UNAUTHORIZED.",
    args: {
      ...branchKeyArgs(t.arg),
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
      const branch = { appId: String(args.appId), branchName: args.branchName };
      problems.push(...branchKeyProblems(branch));
      if (jobId !== null) problems.push(...jobIdProblems(jobId));
      if (problems.length > 0) {
        throw new GatewayError(ErrorCode.BAD_USER_INPUT, problems.join('; '));
      }
      return context.control.startJob({
        ...branch,
        // GraphQL has already checked it is one of StartJobType's values.
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
      'Stops a job that has not finished (Amplify StopJob) and returns it, now CANCELLING; it becomes CANCELLED shortly after, and `jobUpdated` subscribers see both. Safe to repeat. Errors: BAD_USER_INPUT when the job has already finished; FORBIDDEN, NOT_FOUND, and UPSTREAM_* codes (UPSTREAM_UNAVAILABLE or UPSTREAM_THROTTLED, retryable, while the gateway pauses its calls to Amplify).',
    args: jobKeyArgs(t.arg),
    resolve: async (_root, args, context): Promise<JobParent> => {
      allowControl(context, 'stopJob');
      const key = toJobKey(args);
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
