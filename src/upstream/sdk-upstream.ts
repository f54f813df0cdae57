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
import { outcomeOf, type UpstreamCallObserver } from './observer.js';
import { toJobRecord, type UnknownValueListener } from './shapes.js';
import { type AmplifyUpstream, describeJob } from './upstream.js';

export interface SdkUpstreamOptions {
  config: Config['upstream'];
  /** Overrides AWS_ENDPOINT_URL_AMPLIFY and the standard chain (the demo and tests use these). */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  onUnknownValue: UnknownValueListener;
  /** Told about every Amplify operation the client sends (metrics, traces). */
  observers?: readonly UpstreamCallObserver[];
}

interface SdkMetadata {
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
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
      try {
        const result = await next(args);
        const metadata = (result.output as SdkMetadata | undefined)?.$metadata;
        for (const end of ends) {
          end({
            outcome: 'success',
            attempts: metadata?.attempts ?? 1,
            httpStatus: metadata?.httpStatusCode ?? null,
            requestId: metadata?.requestId ?? null,
          });
        }
        return result;
      } catch (error) {
        const mapped = toGatewayError(error, operation);
        for (const end of ends) {
          end({
            outcome: outcomeOf(mapped.code),
            attempts: mapped.upstream?.attempts ?? 1,
            httpStatus: mapped.upstream?.httpStatus ?? null,
            requestId: mapped.upstream?.requestId ?? null,
          });
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'gatewayObserveCommand', priority: 'high' },
  );
}

export function createAmplifyClient(options: SdkUpstreamOptions): AmplifyClient {
  const { config } = options;
  const agentOptions = { keepAlive: true, maxSockets: config.maxSockets };
  const client = new AmplifyClient({
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
  if (options.observers !== undefined && options.observers.length > 0) {
    observeEveryCommand(client, options.observers);
  }
  return client;
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
