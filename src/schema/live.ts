/**
 * `Subscription.jobUpdated`: one job's changes, live, over Server-Sent Events. The subscription
 * hub (src/live/) does the work; this file only checks arguments and turns a queued error into a
 * GraphQL error on the field.
 */
import { ErrorCode, GatewayError } from '../errors.js';
import { jobKeyProblems } from '../upstream/keys.js';
import { builder } from './builder.js';
import { JobRef } from './job.js';

builder.subscriptionType({
  description:
    'Live updates over Server-Sent Events (GraphQL over SSE: send the operation with `Accept: text/event-stream`).',
});

builder.subscriptionField('jobUpdated', (t) =>
  t.field({
    type: JobRef,
    description:
      'One job, live: sent at once, then again whenever its status or steps change; the subscription completes after a final status (SUCCEED, FAILED, CANCELLED). However many clients watch a job, the gateway reads it from Amplify once per poll interval for the whole cluster, and at once when Amplify pushes an event about it. Errors: BAD_USER_INPUT, NOT_FOUND, TOO_MANY_SUBSCRIPTIONS, UPSTREAM_*.',
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
    subscribe: (_root, args, context) => {
      const key = {
        appId: String(args.appId),
        branchName: args.branchName,
        jobId: String(args.jobId),
      };
      const problems = jobKeyProblems(key);
      if (problems.length > 0) {
        throw new GatewayError(ErrorCode.BAD_USER_INPUT, problems.join('; '));
      }
      return context.live.subscribe(key, context.client);
    },
    resolve: (item) => {
      if (item instanceof GatewayError) throw item;
      return item;
    },
  }),
);
