/**
 * `Subscription.jobUpdated` (one job) and `Subscription.jobsUpdated` (several jobs in one stream),
 * live over Server-Sent Events. The subscription hub (src/live/) does the work; this file checks
 * arguments, merges several jobs' streams into one, and turns a queued error into a GraphQL error
 * on the field.
 */
import { Repeater } from 'graphql-yoga';
import { ErrorCode, GatewayError } from '../errors.js';
import type { JobStream, JobStreamItem } from '../live/job-stream.js';
import { jobKeyId, jobKeyProblems } from '../upstream/keys.js';
import type { JobKey } from '../upstream/shapes.js';
import { builder } from './builder.js';
import type { GatewayContext } from './context.js';
import { jobKeyArgs, jobKeyOf, toJobKey } from './key-args.js';
import { MAX_JOBS_PER_SUBSCRIPTION } from './list-costs.js';
import { JobRef } from './refs.js';

const JobKeyInput = builder.inputType('JobKeyInput', {
  description: 'Names one job: its app, its branch and its number.',
  fields: (t) => jobKeyArgs(t),
});

/**
 * The same error, saying in `extensions.job` which job it is about: in a stream of several jobs,
 * an error event must say whose it is.
 */
function aboutJob(error: unknown, key: JobKey): unknown {
  return error instanceof GatewayError ? error.withDetails({ job: { ...key } }) : error;
}

/**
 * The stream as GraphQL executes it: before each event, the context is renewed (loaders, budget,
 * `now`), since one subscription's context serves all its events. `return` reaches the source at
 * once (an async generator would wait for its pending `next`), so a client gone frees everything.
 */
function perEvent(
  source: AsyncIterableIterator<JobStreamItem>,
  context: GatewayContext,
): AsyncIterableIterator<JobStreamItem> {
  return {
    async next() {
      const result = await source.next();
      if (result.done !== true) context.renewForEvent();
      return result;
    },
    return() {
      return source.return?.() ?? Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * Returns (closes) a job's stream when the client goes away, also before its first answer: the
 * HTTP layer drops a response it can no longer send, so nothing would ever read or return a
 * stream whose first Amplify read was still in flight when the client left, and its
 * subscription (a slot of the per-client and per-process limits, and a poller) would stay.
 */
function closedOnAbort(stream: JobStream, signal: AbortSignal | null): JobStream {
  if (signal === null) return stream;
  if (signal.aborted) void stream.return();
  else signal.addEventListener('abort', () => void stream.return(), { once: true });
  return stream;
}

/** One queued error, as a stream of its own (a job of several that could not be followed). */
async function* failed(error: GatewayError): AsyncGenerator<JobStreamItem> {
  yield error;
}

/**
 * Follows every job in one stream: each job's snapshots as they come, interleaved, ending when
 * all have ended. A job that cannot be followed (NOT_FOUND, Amplify failing) puts one error in
 * the stream and the others go on; a refusal for the whole request (a limit) closes what was
 * opened and fails the subscription.
 */
async function followAll(keys: JobKey[], context: GatewayContext) {
  const settled = await Promise.allSettled(
    keys.map((key) =>
      context.live.subscribe(key, context.client).then((s) => closedOnAbort(s, context.signal)),
    ),
  );
  const streams = settled.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const refusal = settled.find(
    (result) =>
      result.status === 'rejected' &&
      !(
        result.reason instanceof GatewayError &&
        result.reason.code !== ErrorCode.TOO_MANY_SUBSCRIPTIONS &&
        result.reason.code !== ErrorCode.BAD_USER_INPUT
      ),
  );
  if (refusal !== undefined || streams.length === 0) {
    await Promise.all(streams.map((stream) => stream.return()));
    const first = refusal ?? settled[0];
    throw first?.status === 'rejected' ? first.reason : new Error('no job to follow');
  }
  const failures = settled.flatMap((result, index) =>
    result.status === 'rejected'
      ? [failed(aboutJob(result.reason, keys[index] as JobKey) as GatewayError)]
      : [],
  );
  return perEvent(Repeater.merge([...streams, ...failures]), context);
}

builder.subscriptionType({
  description:
    'Live updates over Server-Sent Events (GraphQL over SSE: send the operation with `Accept: text/event-stream`).',
});

builder.subscriptionField('jobUpdated', (t) =>
  t.field({
    type: JobRef,
    description:
      'One job, live: sent at once, then again whenever its status or steps change; the subscription completes after a final status (SUCCEED, FAILED, CANCELLED). However many clients watch a job, the gateway reads it from Amplify once per poll interval for the whole cluster, and at once when Amplify pushes an event about it. Errors: BAD_USER_INPUT, NOT_FOUND, TOO_MANY_SUBSCRIPTIONS, UPSTREAM_*; an error about the job names it in `extensions.job`.',
    args: jobKeyArgs(t.arg),
    subscribe: (_root, args, context) => {
      const key = toJobKey(args);
      return context.live.subscribe(key, context.client).then(
        (stream) => perEvent(closedOnAbort(stream, context.signal), context),
        (error: unknown) => {
          throw aboutJob(error, key);
        },
      );
    },
    resolve: (item) => {
      if (item instanceof GatewayError) throw item;
      return item;
    },
  }),
);

builder.subscriptionField('jobsUpdated', (t) =>
  t.field({
    type: JobRef,
    description: `Several jobs, live, in one stream (one connection: a browser allows only 6 per origin over HTTP/1.1, so a dashboard follows its jobs here rather than with one \`jobUpdated\` each). Each job is sent at once, then again whenever its status or steps change; each event is one job (read \`appId\`, \`branchName\`, \`jobId\`). Completes once every job has a final status. A job that cannot be followed (NOT_FOUND, UPSTREAM_*), or that disappears while followed, sends one error event, whose \`extensions.job\` (\`appId\`, \`branchName\`, \`jobId\`) names it, and the others go on. Each job counts as one subscription against the limits (TOO_MANY_SUBSCRIPTIONS). At most ${MAX_JOBS_PER_SUBSCRIPTION} jobs; repeats are followed once.`,
    args: {
      jobs: t.arg({
        type: [JobKeyInput],
        required: true,
        description: `The jobs to follow: 1 to ${MAX_JOBS_PER_SUBSCRIPTION}.`,
      }),
    },
    subscribe: (_root, args, context) => {
      const keys = new Map<string, JobKey>();
      const problems: string[] = [];
      for (const [index, input] of args.jobs.entries()) {
        const key = jobKeyOf(input);
        for (const problem of jobKeyProblems(key)) problems.push(`jobs[${index}]: ${problem}`);
        keys.set(jobKeyId(key), key);
      }
      if (args.jobs.length === 0 || args.jobs.length > MAX_JOBS_PER_SUBSCRIPTION) {
        problems.unshift(
          `jobs must name 1 to ${MAX_JOBS_PER_SUBSCRIPTION} jobs (got ${args.jobs.length})`,
        );
      }
      if (problems.length > 0) {
        throw new GatewayError(ErrorCode.BAD_USER_INPUT, problems.join('; '));
      }
      return followAll([...keys.values()], context);
    },
    resolve: (item) => {
      if (item instanceof GatewayError) throw item;
      return item;
    },
  }),
);
