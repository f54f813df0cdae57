/**
 * The innermost upstream: the one AmplifyClient of the process (kept-alive sockets, explicit
 * timeouts, standard retries), with SDK answers turned into plain shapes and SDK exceptions into
 * catalog errors right here. Every Amplify call goes through one private path, `call`, which sends
 * and maps errors; step logs are read by the step-log fetcher (plain HTTPS, not the SDK).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  AmplifyClient,
  GetAppCommand,
  GetBranchCommand,
  GetJobCommand,
  ListAppsCommand,
  ListBranchesCommand,
  ListJobsCommand,
} from '@aws-sdk/client-amplify';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../config.js';
import { toAppRecord } from './app-shapes.js';
import { toBranchRecord } from './branch-shapes.js';
import { toGatewayError } from './errors.js';
import { type SkippedEntryListener, toAppPage, toBranchPage, toJobPage } from './page-shapes.js';
import { toJobRecord, type UnknownValueListener } from './shapes.js';
import { createStepLogFetcher, type LogSourcePolicy, type Resolver } from './step-log.js';
import { type AmplifyUpstream, describeApp, describeBranch, describeJob } from './upstream.js';

export interface AmplifyClientOptions {
  config: Config['upstream'];
  /** Overrides AWS_ENDPOINT_URL_AMPLIFY and the standard chain (the demo and tests use these). */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface SdkUpstreamOptions extends AmplifyClientOptions {
  onUnknownValue: UnknownValueListener;
  /** Told about list entries skipped because they cannot be keyed; nothing by default. */
  onSkippedEntry?: SkippedEntryListener;
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
  | 'ListJobs';

export function createAmplifyClient(options: AmplifyClientOptions): AmplifyClient {
  const { config } = options;
  const agentOptions = { keepAlive: true, maxSockets: config.maxSockets };
  return new AmplifyClient({
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    retryMode: 'standard',
    maxAttempts: config.maxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: config.connectTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    }),
  });
}

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

export function createSdkUpstream(options: SdkUpstreamOptions): AmplifyUpstream {
  const client = createAmplifyClient(options);
  const { onUnknownValue } = options;
  const onSkipped = options.onSkippedEntry ?? (() => {});

  /** The one path of every Amplify call: send, and map any failure onto the error catalog. */
  async function call<T>(
    _operation: AmplifyOperation,
    subject: string,
    send: () => Promise<T>,
  ): Promise<T> {
    try {
      return await send();
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

  return {
    async getJob(key) {
      const output = await call('GetJob', describeJob(key), () =>
        client.send(new GetJobCommand(key)),
      );
      return toJobRecord(key, output.job, onUnknownValue);
    },
    async getApp(key) {
      const output = await call('GetApp', describeApp(key), () =>
        client.send(new GetAppCommand({ appId: key.appId })),
      );
      return toAppRecord(key.appId, output.app);
    },
    async getBranch(key) {
      const output = await call('GetBranch', describeBranch(key), () =>
        client.send(new GetBranchCommand({ appId: key.appId, branchName: key.branchName })),
      );
      return toBranchRecord(key, output.branch);
    },
    async listApps(request) {
      const output = await call('ListApps', 'the list of apps', () =>
        client.send(
          new ListAppsCommand({
            maxResults: request.maxResults,
            ...(request.nextToken !== null ? { nextToken: request.nextToken } : {}),
          }),
        ),
      );
      return toAppPage(output.apps, output.nextToken, onSkipped);
    },
    async listBranches(request) {
      const output = await call('ListBranches', `the branches of app ${request.appId}`, () =>
        client.send(
          new ListBranchesCommand({
            appId: request.appId,
            maxResults: request.maxResults,
            ...(request.nextToken !== null ? { nextToken: request.nextToken } : {}),
          }),
        ),
      );
      return toBranchPage(request.appId, output.branches, output.nextToken, onSkipped);
    },
    async listJobs(request) {
      const branch = { appId: request.appId, branchName: request.branchName };
      const output = await call('ListJobs', `the jobs of ${describeBranch(branch)}`, () =>
        client.send(
          new ListJobsCommand({
            ...branch,
            maxResults: request.maxResults,
            ...(request.nextToken !== null ? { nextToken: request.nextToken } : {}),
          }),
        ),
      );
      return toJobPage(branch, output.jobSummaries, output.nextToken, onUnknownValue, onSkipped);
    },
    getStepLog(request) {
      return logs.fetch(request);
    },
    async checkReady() {
      await call('ListApps', 'the list of apps', () =>
        client.send(new ListAppsCommand({ maxResults: 1 })),
      );
    },
    async region() {
      return client.config.region();
    },
    destroy() {
      logs.destroy();
      client.destroy();
    },
  };
}
