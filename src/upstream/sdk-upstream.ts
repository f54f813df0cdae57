/**
 * The innermost upstream: the one AmplifyClient of the process (kept-alive sockets, explicit
 * timeouts, standard retries), with SDK answers turned into plain shapes through the shape check
 * (wire-check.ts) and SDK exceptions into catalog errors right here. Every Amplify read goes
 * through one private path, `read`, which sends, checks and maps; step logs are read by the
 * step-log fetcher (plain HTTPS, not the SDK).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  AmplifyClient,
  GetAppCommand,
  GetBranchCommand,
  GetJobCommand,
  ListAppsCommand,
  ListBranchesCommand,
  ListJobsCommand,
  StartJobCommand,
  type StartJobCommandOutput,
  StopJobCommand,
  type StopJobCommandOutput,
} from '@aws-sdk/client-amplify';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../config.js';
import { ErrorCode, GatewayError } from '../errors.js';
import { toAppRecord } from './app-shapes.js';
import { toBranchRecord } from './branch-shapes.js';
import { toControlError, toGatewayError } from './errors.js';
import { outcomeOf, type UpstreamCallObserver, type UpstreamCallResult } from './observer.js';
import { toAppPage, toBranchPage, toJobPage } from './page-shapes.js';
import { toJobRecord, toJobSummaryRecord, type UnknownValueListener } from './shapes.js';
import { createStepLogFetcher, type LogSourcePolicy, type Resolver } from './step-log.js';
import {
  type AmplifyUpstream,
  describeApp,
  describeBranch,
  describeJob,
  type StartJobRequest,
  type StartJobType,
} from './upstream.js';
import {
  type AnswerContext,
  type AnswerMetadata,
  preview,
  readAnswer,
  type WireListeners,
  type WireProblemListener,
} from './wire-check.js';

export interface AmplifyClientOptions {
  config: Config['upstream'];
  /** Overrides AWS_ENDPOINT_URL_AMPLIFY and the standard chain (the demo and tests use these). */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Told about every Amplify operation the client sends (metrics, traces). */
  observers?: readonly UpstreamCallObserver[];
}

interface SdkMetadata {
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
}

/** What is known of a settled operation; absent members read as 1 attempt, no status, no id. */
interface CallFacts {
  attempts?: number | null | undefined;
  httpStatus?: number | null | undefined;
  requestId?: string | null | undefined;
}

function factsOf(metadata: SdkMetadata['$metadata']): CallFacts {
  return {
    attempts: metadata?.attempts,
    httpStatus: metadata?.httpStatusCode,
    requestId: metadata?.requestId,
  };
}

/**
 * The one observed call path: a middleware at the client's `initialize` step, outside the retry
 * middleware, so each observer sees one operation per command sent, whichever upstream method
 * sent it, with all its attempts. Operation names come from the SDK's command names (a fixed set).
 */
function observeEveryCommand(client: AmplifyClient, observers: readonly UpstreamCallObserver[]) {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const ends = observers.map((observer) => observer.start(operation));
      /** Tells every observer how the operation settled (once). */
      const end = (outcome: UpstreamCallResult['outcome'], facts: CallFacts | null | undefined) => {
        const result: UpstreamCallResult = {
          outcome,
          attempts: facts?.attempts ?? 1,
          httpStatus: facts?.httpStatus ?? null,
          requestId: facts?.requestId ?? null,
        };
        for (const report of ends) report(result);
      };
      try {
        const result = await next(args);
        end('success', factsOf((result.output as SdkMetadata | undefined)?.$metadata));
        return result;
      } catch (error) {
        if (isUndecodableAnswer(error)) {
          // Amplify answered; sendForAnswer reads the raw JSON and the shape check judges it.
          end('success', factsOf((error as SdkMetadata).$metadata));
          throw error;
        }
        const mapped = toGatewayError(error, operation);
        end(outcomeOf(mapped.code), mapped.upstream);
        throw error;
      }
    },
    { step: 'initialize', name: 'gatewayObserveCommand', priority: 'high' },
  );
}

export interface SdkUpstreamOptions extends AmplifyClientOptions {
  onUnknownValue: UnknownValueListener;
  /** Told about each malformed member or entry the shape check worked around (log it once). */
  onWireProblem: WireProblemListener;
  /** DNS resolution for step-log hosts; tests replace it to prove the address check. */
  resolveLogHost?: Resolver;
}

/** The Amplify operations the gateway calls, as named in the API (metrics, traces, logs). */
export type AmplifyOperation =
  | 'GetJob'
  | 'GetApp'
  | 'GetBranch'
  | 'ListApps'
  | 'ListBranches'
  | 'ListJobs'
  | 'StartJob'
  | 'StopJob';

/** Origin of an Amplify endpoint set on purpose (option or AWS_ENDPOINT_URL_AMPLIFY), or null. */
async function configuredOrigin(
  client: AmplifyClient,
  endpoint: string | undefined,
): Promise<string | null> {
  const configured = endpoint ?? (await client.config.serviceConfiguredEndpoint?.());
  return typeof configured === 'string' && URL.canParse(configured)
    ? new URL(configured).origin
    : null;
}

/** What differs between the read client and the one-attempt control client. */
interface ClientOverrides {
  maxAttempts?: number;
  /** Share another client's handler (its sockets) instead of opening a pool of its own. */
  requestHandler?: AmplifyClient['config']['requestHandler'];
}

export function createAmplifyClient(
  options: AmplifyClientOptions,
  overrides: ClientOverrides = {},
): AmplifyClient {
  const { config } = options;
  const agentOptions = { keepAlive: true, maxSockets: config.maxSockets };
  const client = new AmplifyClient({
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    retryMode: 'standard',
    maxAttempts: overrides.maxAttempts ?? config.maxAttempts,
    requestHandler:
      overrides.requestHandler ??
      new NodeHttpHandler({
        connectionTimeout: config.connectTimeoutMs,
        requestTimeout: config.requestTimeoutMs,
        // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
        throwOnRequestTimeout: true,
        // requestTimeout ends once the headers arrive: a body that stalls after them would hang
        // the call for ever. The same time of silence on the socket ends the attempt.
        socketTimeout: config.requestTimeoutMs,
        httpAgent: new HttpAgent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
      }),
  });
  keepAnswerBytes(client);
  if (options.observers !== undefined && options.observers.length > 0) {
    observeEveryCommand(client, options.observers);
  }
  return client;
}

/**
 * Keeps the bytes of every 2xx body on the response, so that an answer the SDK's deserializer
 * throws on can still be read from its raw JSON ({@link sendForAnswer}). Amplify answers are small
 * JSON documents the SDK reads whole anyway; error answers (non-2xx) are left to the SDK.
 */
function keepAnswerBytes(client: AmplifyClient): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const response = result.response as { statusCode?: unknown; body?: unknown };
      const status = response.statusCode;
      const body = response.body;
      if (typeof status === 'number' && status >= 200 && status < 300 && body instanceof Readable) {
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
        response.body = new Uint8Array(Buffer.concat(chunks));
      }
      return result;
    },
    // Same step as the SDK's deserializer, lower priority: nested inside it, so it sees the
    // response before the deserializer reads it.
    { step: 'deserialize', priority: 'low', name: 'keepAnswerBytes' },
  );
}

/** A 2xx JSON answer the SDK's deserializer threw on (what {@link sendForAnswer} recovers). */
function isUndecodableAnswer(error: unknown): boolean {
  const failed = (typeof error === 'object' && error !== null ? error : {}) as FailedCall;
  const status = failed.$response?.statusCode;
  const body = failed.$response?.body;
  const isAnswer = typeof status === 'number' && status >= 200 && status < 300;
  if (!isAnswer || failed.$fault !== undefined || !(body instanceof Uint8Array)) return false;
  try {
    JSON.parse(Buffer.from(body).toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

interface FailedCall {
  message?: unknown;
  $fault?: unknown;
  $metadata?: AnswerMetadata;
  $response?: { statusCode?: unknown; body?: unknown };
}

/**
 * Sends one command and resolves with what Amplify answered, for the shape check: the SDK's
 * output, or, when the SDK's deserializer threw on a 2xx answer whose body is JSON (an ISO-8601
 * string where the model wants epoch seconds makes it throw), that raw JSON, reported as
 * `undecodable`. Rejects with the SDK's error for anything else (error statuses, network
 * failures, a body that is not JSON).
 */
export async function sendForAnswer(
  send: () => Promise<{ $metadata?: AnswerMetadata }>,
  context: { operation: string; subject: string; onProblem: WireProblemListener },
): Promise<{ answer: unknown; metadata: AnswerMetadata | undefined }> {
  try {
    const output = await send();
    return { answer: output, metadata: output.$metadata };
  } catch (error) {
    const failed = (typeof error === 'object' && error !== null ? error : {}) as FailedCall;
    const status = failed.$response?.statusCode;
    const body = failed.$response?.body;
    const isAnswer = typeof status === 'number' && status >= 200 && status < 300;
    if (!isAnswer || failed.$fault !== undefined || !(body instanceof Uint8Array)) throw error;
    let answer: unknown;
    try {
      answer = JSON.parse(Buffer.from(body).toString('utf8'));
    } catch {
      throw error; // not JSON at all: an unreadable answer (errors.ts)
    }
    const reason = typeof failed.message === 'string' ? failed.message.split('\n', 1)[0] : '';
    context.onProblem({
      kind: 'undecodable',
      operation: context.operation,
      subject: context.subject,
      path: '',
      problem: `the AWS SDK could not read the answer (${reason}): read from its raw JSON`,
      value: preview(answer),
    });
    return { answer, metadata: failed.$metadata };
  }
}

/** For messages: `a RETRY of job 7 of branch "main" in app d1abc`. */
function describeStart(request: StartJobRequest): string {
  const what: Record<StartJobType, string> = {
    RELEASE: 'a RELEASE job',
    RETRY: `a RETRY of job ${request.jobId ?? '?'}`,
    MANUAL: 'a MANUAL job',
  };
  return `${what[request.jobType]} of branch ${JSON.stringify(request.branchName)} in app ${request.appId}`;
}

export function createSdkUpstream(options: SdkUpstreamOptions): AmplifyUpstream {
  const client = createAmplifyClient(options);
  // The calls that change something go through a client of their own with ONE attempt: the SDK's
  // standard retries would resend a StartJob after a 5xx or a timeout, and StartJob has no
  // idempotency token (two builds). Same handler, so same sockets and timeouts.
  const control = createAmplifyClient(options, {
    maxAttempts: 1,
    requestHandler: client.config.requestHandler,
  });
  const listeners: WireListeners = {
    onUnknownValue: options.onUnknownValue,
    onProblem: options.onWireProblem,
  };

  /**
   * The one path of every Amplify read: send, pass the answer through the shape check with
   * `map`, and turn any failure into a catalog error naming `subject`.
   */
  async function read<R>(
    operation: AmplifyOperation,
    subject: string,
    send: () => Promise<{ $metadata?: AnswerMetadata }>,
    map: (answer: unknown, context: AnswerContext) => R,
  ): Promise<R> {
    try {
      const { answer, metadata } = await sendForAnswer(send, {
        operation,
        subject,
        onProblem: listeners.onProblem,
      });
      return map(answer, { operation, subject, metadata, ...listeners });
    } catch (error) {
      throw toGatewayError(error, subject);
    }
  }

  const logs = createStepLogFetcher({
    maxBytes: options.config.stepLogMaxBytes,
    timeoutMs: options.config.stepLogTimeoutMs,
    policy: async (): Promise<LogSourcePolicy> => ({
      region: await client.config.region(),
      localOrigin: await configuredOrigin(client, options.endpoint),
    }),
    ...(options.resolveLogHost ? { resolve: options.resolveLogHost } : {}),
  });
  const page = (request: { nextToken: string | null; maxResults: number }) => ({
    maxResults: request.maxResults,
    ...(request.nextToken !== null ? { nextToken: request.nextToken } : {}),
  });

  return {
    async startJob(request) {
      const subject = describeStart(request);
      const operation = 'StartJob';
      let sent: Awaited<ReturnType<typeof sendForAnswer>>;
      try {
        sent = await sendForAnswer(
          () =>
            control.send(
              new StartJobCommand({
                appId: request.appId,
                branchName: request.branchName,
                jobType: request.jobType,
                ...(request.jobId !== null ? { jobId: request.jobId } : {}),
                ...(request.reason !== null ? { jobReason: request.reason } : {}),
              }),
            ),
          { operation, subject, onProblem: listeners.onProblem },
        );
      } catch (error) {
        throw toControlError(error, operation, subject);
      }
      const context = { operation, subject, metadata: sent.metadata, ...listeners };
      let jobId: string | null = null;
      let summary: ReturnType<typeof toJobSummaryRecord> | null = null;
      try {
        summary = toJobSummaryRecord(
          readAnswer<StartJobCommandOutput>(sent.answer, context).entity(
            'jobSummary',
            'job summary',
          ),
        );
        jobId = summary.jobId;
      } catch {
        // Amplify said yes but not to what: handled below as for a missing job id.
      }
      if (summary === null || jobId === null || !/^[0-9]+$/.test(jobId)) {
        throw new GatewayError(
          ErrorCode.UPSTREAM_OUTCOME_UNKNOWN,
          `Amplify accepted ${subject} but did not say which job it started; look at the branch's jobs before starting it again.`,
        );
      }
      // A job that has just been started has no steps yet: they appear as they start.
      const key = { appId: request.appId, branchName: request.branchName, jobId };
      return { key, summary, steps: [] };
    },
    stopJob(key) {
      return read(
        'StopJob',
        describeJob(key),
        () => control.send(new StopJobCommand(key)),
        (answer, context) =>
          toJobSummaryRecord(
            readAnswer<StopJobCommandOutput>(answer, context).entity('jobSummary', 'job summary'),
          ),
      );
    },
    getJob(key) {
      return read(
        'GetJob',
        describeJob(key),
        () => client.send(new GetJobCommand(key)),
        (answer, context) => toJobRecord(key, answer, context),
      );
    },
    getApp(key) {
      return read(
        'GetApp',
        describeApp(key),
        () => client.send(new GetAppCommand({ appId: key.appId })),
        (answer, context) => toAppRecord(key, answer, context),
      );
    },
    getBranch(key) {
      return read(
        'GetBranch',
        describeBranch(key),
        () => client.send(new GetBranchCommand({ appId: key.appId, branchName: key.branchName })),
        (answer, context) => toBranchRecord(key, answer, context),
      );
    },
    listApps(request) {
      return read(
        'ListApps',
        'the list of apps',
        () => client.send(new ListAppsCommand(page(request))),
        (answer, context) => toAppPage(answer, context),
      );
    },
    listBranches(request) {
      return read(
        'ListBranches',
        `the branches of app ${request.appId}`,
        () => client.send(new ListBranchesCommand({ appId: request.appId, ...page(request) })),
        (answer, context) => toBranchPage(request.appId, answer, context),
      );
    },
    listJobs(request) {
      const branch = { appId: request.appId, branchName: request.branchName };
      return read(
        'ListJobs',
        `the jobs of ${describeBranch(branch)}`,
        () => client.send(new ListJobsCommand({ ...branch, ...page(request) })),
        (answer, context) => toJobPage(branch, answer, context),
      );
    },
    getStepLog(request) {
      return logs.fetch(request);
    },
    async checkReady(options = {}) {
      const { timeoutMs } = options;
      if (timeoutMs === undefined) {
        try {
          await client.send(new ListAppsCommand({ maxResults: 1 }));
        } catch (error) {
          throw toGatewayError(error, 'the list of apps');
        }
        return;
      }
      // The readiness probe: one attempt (the control client), cut at timeoutMs whatever the
      // phase (connect, headers, body), so /ready answers within the orchestrator's timeout.
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        await control.send(new ListAppsCommand({ maxResults: 1 }), { abortSignal: signal });
      } catch (error) {
        if (signal.aborted) {
          throw new GatewayError(
            ErrorCode.UPSTREAM_TIMEOUT,
            `Amplify did not answer the readiness probe (the list of apps) within ${timeoutMs} ms.`,
            { cause: error },
          );
        }
        throw toGatewayError(error, 'the list of apps');
      }
    },
    async region() {
      return client.config.region();
    },
    destroy() {
      control.destroy();
      logs.destroy();
      client.destroy();
    },
  };
}
