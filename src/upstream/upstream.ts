/**
 * The seam between the gateway and Amplify. Everything above it (loaders, schema) sees only
 * {@link AmplifyUpstream} and plain shapes. Each wrapper (single-flight today; cache and breaker
 * next) implements the same interface it wraps, so each can be tested alone and the order of the
 * layers is visible where the app is composed.
 */
import type { JobKey, JobRecord } from './shapes.js';

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

/** What was asked, for messages: e.g. `job 12 of branch "main" in app d1abc`. */
export function describeJob(key: JobKey): string {
  return `job ${key.jobId} of branch ${JSON.stringify(key.branchName)} in app ${key.appId}`;
}
