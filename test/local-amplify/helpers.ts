/**
 * Shared setup for the local Amplify suites: an emulator on 127.0.0.1 (ephemeral port) and real
 * AWS SDK clients pointed at it over HTTP.
 */
import { AmplifyClient, type AmplifyClientConfig } from '@aws-sdk/client-amplify';
import {
  type LocalAmplify,
  type LocalAmplifyOptions,
  startLocalAmplify,
} from '../../src/local-amplify/index.js';

/** A frozen clock by default, so statuses only move when a test advances time. */
export function startFrozen(options: LocalAmplifyOptions = {}): Promise<LocalAmplify> {
  return startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 1, speed: 0, ...options });
}

/** An SDK client for `la`; one attempt unless the test is about retries. */
export function clientFor(
  la: LocalAmplify,
  config: Partial<AmplifyClientConfig> = {},
): AmplifyClient {
  return new AmplifyClient({ ...la.clientConfig(), maxAttempts: 1, ...config });
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(
  promise: Promise<unknown>,
): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error as Error & Record<string, unknown>;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** `$metadata` of an SDK error. */
export function metadataOf(error: Error & Record<string, unknown>): {
  httpStatusCode?: number;
  attempts?: number;
  requestId?: string;
} {
  return (error.$metadata ?? {}) as {
    httpStatusCode?: number;
    attempts?: number;
    requestId?: string;
  };
}

/** Encodes a path label the way the SDK does (RFC 3986, `/` included). */
export function label(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
