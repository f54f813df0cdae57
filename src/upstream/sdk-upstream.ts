/**
 * The innermost upstream: the one AmplifyClient of the process (kept-alive sockets, explicit
 * timeouts, standard retries), with SDK answers turned into plain shapes through the shape check
 * (wire-check.ts) and SDK exceptions into catalog errors right here.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { AmplifyClient, GetJobCommand, ListAppsCommand } from '@aws-sdk/client-amplify';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../config.js';
import { toGatewayError } from './errors.js';
import { toJobRecord, type UnknownValueListener } from './shapes.js';
import { type AmplifyUpstream, describeJob } from './upstream.js';
import {
  type AnswerContext,
  type AnswerMetadata,
  preview,
  type WireListeners,
  type WireProblemListener,
} from './wire-check.js';

export interface AmplifyClientOptions {
  config: Config['upstream'];
  /** Overrides AWS_ENDPOINT_URL_AMPLIFY and the standard chain (the demo and tests use these). */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface SdkUpstreamOptions extends AmplifyClientOptions {
  onUnknownValue: UnknownValueListener;
  /** Told about each malformed member or entry the shape check worked around (log it once). */
  onWireProblem: WireProblemListener;
}

export function createAmplifyClient(options: AmplifyClientOptions): AmplifyClient {
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
      // requestTimeout ends once the headers arrive: a body that stalls after them would hang the
      // call for ever. The same time of silence on the socket ends the attempt.
      socketTimeout: config.requestTimeoutMs,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    }),
  });
  keepAnswerBytes(client);
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

export function createSdkUpstream(options: SdkUpstreamOptions): AmplifyUpstream {
  const client = createAmplifyClient(options);
  const listeners: WireListeners = {
    onUnknownValue: options.onUnknownValue,
    onProblem: options.onWireProblem,
  };

  /**
   * The one path of every Amplify read: send, pass the answer through the shape check with
   * `map`, and turn any failure into a catalog error naming `subject`.
   */
  async function read<R>(
    operation: string,
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

  return {
    getJob(key) {
      return read(
        'GetJob',
        describeJob(key),
        () => client.send(new GetJobCommand(key)),
        (answer, context) => toJobRecord(key, answer, context),
      );
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
