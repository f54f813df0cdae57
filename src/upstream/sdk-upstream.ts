/**
 * The innermost upstream: the one AmplifyClient of the process (kept-alive sockets, explicit
 * timeouts, standard retries), with SDK answers turned into plain shapes and SDK exceptions into
 * catalog errors right here.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { AmplifyClient, GetJobCommand, ListAppsCommand } from '@aws-sdk/client-amplify';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../config.js';
import { toGatewayError } from './errors.js';
import { toJobRecord, type UnknownValueListener } from './shapes.js';
import { type AmplifyUpstream, describeJob } from './upstream.js';

export interface SdkUpstreamOptions {
  config: Config['upstream'];
  /** Overrides AWS_ENDPOINT_URL_AMPLIFY and the standard chain (the demo and tests use these). */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  onUnknownValue: UnknownValueListener;
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
