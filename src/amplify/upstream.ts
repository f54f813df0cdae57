/**
 * The seam between the gateway and Amplify. Everything above it (loaders, schema) sees only
 * {@link AmplifyUpstream} and plain shapes, so a cache or single-flight layer can wrap it later
 * without touching the schema. The SDK implementation owns the one AmplifyClient of the process.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { AmplifyClient, GetJobCommand, ListAppsCommand } from '@aws-sdk/client-amplify';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { UpstreamConfig } from '../config.js';
import { toGatewayError } from './errors.js';
import { type JobKey, type JobRecord, toJobRecord, type UnknownValueListener } from './shapes.js';

export interface AmplifyUpstream {
  /** One GetJob. Rejects with a GatewayError (NOT_FOUND, UPSTREAM_*). */
  getJob(key: JobKey): Promise<JobRecord>;
  /** Resolves when Amplify answers with the gateway's credentials; rejects with a GatewayError. */
  checkReady(): Promise<void>;
  /** The AWS Region the client signs for (resolved through the SDK's standard chain). */
  region(): Promise<string>;
  /** Closes kept-alive sockets. */
  destroy(): void;
}

export interface SdkUpstreamOptions {
  config: UpstreamConfig;
  /** Overrides AWS_ENDPOINT_URL_AMPLIFY and the standard chain (the demo and tests use these). */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  onUnknownValue: UnknownValueListener;
}

export function describeJob(key: JobKey): string {
  return `job ${key.jobId} of branch ${JSON.stringify(key.branchName)} in app ${key.appId}`;
}

export function createAmplifyClient(options: SdkUpstreamOptions): AmplifyClient {
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

export function createSdkUpstream(options: SdkUpstreamOptions): AmplifyUpstream {
  const client = createAmplifyClient(options);
  return {
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
      client.destroy();
    },
  };
}
