/**
 * The innermost upstream: the one AmplifyClient of the process (kept-alive sockets, explicit
 * timeouts, standard retries), with SDK answers turned into plain shapes and SDK exceptions into
 * catalog errors right here.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  AmplifyClient,
  GetJobCommand,
  ListAppsCommand,
  StartJobCommand,
  type StartJobCommandOutput,
  StopJobCommand,
} from '@aws-sdk/client-amplify';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../config.js';
import { ErrorCode, GatewayError } from '../errors.js';
import { toControlError, toGatewayError } from './errors.js';
import { toJobRecord, toJobSummaryRecord, type UnknownValueListener } from './shapes.js';
import {
  type AmplifyUpstream,
  describeJob,
  type StartJobRequest,
  type StartJobType,
} from './upstream.js';

export interface SdkUpstreamOptions {
  config: Config['upstream'];
  /** Overrides AWS_ENDPOINT_URL_AMPLIFY and the standard chain (the demo and tests use these). */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  onUnknownValue: UnknownValueListener;
}

/** What differs between the read client and the one-attempt control client. */
interface ClientOverrides {
  maxAttempts?: number;
  /** Share another client's handler (its sockets) instead of opening a pool of its own. */
  requestHandler?: AmplifyClient['config']['requestHandler'];
}

export function createAmplifyClient(
  options: SdkUpstreamOptions,
  overrides: ClientOverrides = {},
): AmplifyClient {
  const { config } = options;
  const agentOptions = { keepAlive: true, maxSockets: config.maxSockets };
  return new AmplifyClient({
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
        httpAgent: new HttpAgent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
      }),
  });
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
  return {
    async startJob(request) {
      const subject = describeStart(request);
      let output: StartJobCommandOutput;
      try {
        output = await control.send(
          new StartJobCommand({
            appId: request.appId,
            branchName: request.branchName,
            jobType: request.jobType,
            ...(request.jobId !== null ? { jobId: request.jobId } : {}),
            ...(request.reason !== null ? { jobReason: request.reason } : {}),
          }),
        );
      } catch (error) {
        throw toControlError(error, 'StartJob', subject);
      }
      const summary = toJobSummaryRecord(output.jobSummary, options.onUnknownValue);
      if (summary.jobId === null) {
        throw new GatewayError(
          ErrorCode.UPSTREAM_OUTCOME_UNKNOWN,
          `Amplify accepted ${subject} but did not say which job it started; look at the branch's jobs before starting it again.`,
        );
      }
      // A job that has just been started has no steps yet: they appear as they start.
      const key = { appId: request.appId, branchName: request.branchName, jobId: summary.jobId };
      return { key, summary, steps: [] };
    },
    async stopJob(key) {
      try {
        const output = await control.send(new StopJobCommand(key));
        return toJobSummaryRecord(output.jobSummary, options.onUnknownValue);
      } catch (error) {
        throw toControlError(error, 'StopJob', `stopping ${describeJob(key)}`);
      }
    },
    async getJob(key) {
      try {
        const output = await client.send(new GetJobCommand(key));
        return toJobRecord(key, output.job, options.onUnknownValue);
      } catch (error) {
        throw toGatewayError(error, describeJob(key));
      }
    },
    async checkReady() {
      try {
        await client.send(new ListAppsCommand({ maxResults: 1 }));
      } catch (error) {
        throw toGatewayError(error, 'the list of apps');
      }
    },
    async region() {
      return client.config.region();
    },
    destroy() {
      control.destroy();
      client.destroy();
    },
  };
}
