import {
  AmplifyServiceException,
  DependentServiceFailureException,
  GetJobCommand,
  InternalFailureException,
  LimitExceededException,
  ListAppsCommand,
  NotFoundException,
  UnauthorizedException,
} from '@aws-sdk/client-amplify';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import { clientFor, metadataOf, rejection, startFrozen } from './helpers.js';

let la: LocalAmplify;
let appId: string;
const clients: ReturnType<typeof clientFor>[] = [];

/** A client with the SDK's default retry policy (standard mode, 3 attempts). */
function retryingClient(extra: Parameters<typeof clientFor>[1] = {}) {
  const client = clientFor(la, { maxAttempts: 3, ...extra });
  clients.push(client);
  return client;
}

function getJob(jobId = '7') {
  return new GetJobCommand({ appId, branchName: 'main', jobId });
}

beforeAll(async () => {
  la = await startFrozen({ seed: 'faults' });
  appId = la.world.apps()[0]?.appId ?? '';
});

afterEach(() => {
  la.faults.clear();
  la.stats.reset();
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await la.close();
});

function attemptsSeen(): string[] {
  return la.stats.lastRequests().map((r) => r.headers.amzSdkRequest ?? '');
}

describe('fault kinds and the SDK retry policy', () => {
  it('retries throttling (429 LimitExceededException) up to 3 attempts', async () => {
    la.faults.add({ kind: 'throttle', operations: ['GetJob'] });
    const error = await rejection(retryingClient().send(getJob()));
    expect(error).toBeInstanceOf(LimitExceededException);
    expect(metadataOf(error)).toEqual(
      expect.objectContaining({ httpStatusCode: 429, attempts: 3 }),
    );
    expect(la.stats.calls('GetJob')).toBe(3);
    expect(attemptsSeen()).toEqual(['attempt=1; max=3', 'attempt=2; max=3', 'attempt=3; max=3']);
  });

  it('adds Retry-After to throttling responses when asked', async () => {
    la.faults.add({ kind: 'throttle', count: 1, retryAfterSeconds: 2 });
    const response = await fetch(`${la.url}/apps`);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.headers.get('x-amzn-errortype')).toBe('LimitExceededException');
    expect(await response.json()).toEqual({ message: 'Rate exceeded' });
  });

  it('does not retry a 404', async () => {
    const error = await rejection(retryingClient().send(getJob('424242')));
    expect(error).toBeInstanceOf(NotFoundException);
    expect(metadataOf(error).attempts).toBe(1);
    expect(la.stats.calls('GetJob')).toBe(1);
  });

  it('retries 500 InternalFailureException and succeeds when the fault is spent', async () => {
    la.faults.add({ kind: 'internal', count: 2 });
    const out = await retryingClient().send(getJob());
    expect(out.job?.summary?.jobId).toBe('7');
    expect(out.$metadata.attempts).toBe(3);
    expect(la.stats.calls('GetJob')).toBe(3);
    expect(la.faults.list()[0]).toEqual(expect.objectContaining({ fired: 2, remaining: 0 }));
  });

  it('retries 503 DependentServiceFailureException up to 3 attempts', async () => {
    la.faults.add({ kind: 'unavailable', operations: 'GetJob' });
    const error = await rejection(retryingClient().send(getJob()));
    expect(error).toBeInstanceOf(DependentServiceFailureException);
    expect(metadataOf(error)).toEqual(
      expect.objectContaining({ httpStatusCode: 503, attempts: 3 }),
    );
    expect(la.stats.calls('GetJob')).toBe(3);
  });

  it('does not retry 401 UnauthorizedException', async () => {
    la.faults.add({ kind: 'unauthorized' });
    const error = await rejection(retryingClient().send(getJob()));
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(metadataOf(error).attempts).toBe(1);
  });

  it('sends 403 AccessDeniedException, an unmodeled name the SDK keeps, not retried', async () => {
    la.faults.add({ kind: 'accessDenied' });
    const error = await rejection(retryingClient().send(getJob()));
    expect(error).toBeInstanceOf(AmplifyServiceException);
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toMatch(/is not authorized to perform: amplify:GetJob/);
    expect(metadataOf(error)).toEqual(
      expect.objectContaining({ httpStatusCode: 403, attempts: 1 }),
    );
  });

  it('resets the connection without a response, which the SDK retries', async () => {
    la.faults.add({ kind: 'reset', count: 1 });
    const out = await retryingClient().send(getJob());
    expect(out.$metadata.attempts).toBe(2);
    const records = la.stats.lastRequests();
    expect(records.map((r) => [r.status, r.fault])).toEqual([
      [0, 'reset'],
      [200, undefined],
    ]);
  });

  it('answers 200 with a non-JSON body, which surfaces as a deserialization error', async () => {
    la.faults.add({ kind: 'malformed', count: 1 });
    const error = await rejection(retryingClient().send(getJob()));
    expect(error).toBeInstanceOf(SyntaxError);
    expect(error.message).toMatch(/Deserialization error/);
    expect(la.stats.calls('GetJob')).toBe(1);
  });

  it('hangs until the client times out', async () => {
    la.faults.add({ kind: 'hang', count: 1 });
    const client = retryingClient({
      maxAttempts: 1,
      // In @smithy/node-http-handler 4.14, requestTimeout alone only logs a warning.
      requestHandler: new NodeHttpHandler({ requestTimeout: 200, throwOnRequestTimeout: true }),
    });
    const started = Date.now();
    const error = await rejection(client.send(getJob()));
    expect(error.name).toBe('TimeoutError');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    // The server counts the hung request as in flight until the client gives up.
    for (let i = 0; i < 500 && la.stats.inFlight > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(la.stats.inFlight).toBe(0);
    expect(la.stats.lastRequests(1)[0]).toEqual(
      expect.objectContaining({ status: 0, fault: 'hang' }),
    );
  });

  it('closes while a request hangs, cutting it instead of waiting for it', async () => {
    const other = await startFrozen({ faults: [{ kind: 'hang' }] });
    const pending = fetch(`${other.url}/apps`).then(
      () => 'answered',
      () => 'connection closed',
    );
    for (let i = 0; i < 500 && other.stats.inFlight === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(other.stats.inFlight).toBe(1);
    // The request would hang for ever: close() resolving at all means it cut the connection.
    await other.close();
    expect(await pending).toBe('connection closed');
  });
});

describe('rule matching', () => {
  it('delays by fixed latency plus jitter', async () => {
    la.faults.add({ kind: 'latency', latencyMs: 60, jitterMs: 20 });
    const client = retryingClient();
    const started = performance.now();
    await client.send(getJob());
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(59);
    expect(la.stats.lastRequests(1)[0]?.durationMs).toBeGreaterThanOrEqual(59);
  });

  it('evaluates rules in order and consumes count rules as they fire', async () => {
    la.faults.add({ kind: 'internal', count: 1 });
    la.faults.add({ kind: 'throttle', count: 1 });
    const client = clientFor(la);
    clients.push(client);
    expect(await rejection(client.send(getJob()))).toBeInstanceOf(InternalFailureException);
    expect(await rejection(client.send(getJob()))).toBeInstanceOf(LimitExceededException);
    expect((await client.send(getJob())).job?.summary?.jobId).toBe('7');
  });

  it('matches path labels, so only job 7 fails', async () => {
    la.faults.add({ kind: 'internal', operations: ['GetJob'], labels: { jobId: '7' } });
    const client = clientFor(la);
    clients.push(client);
    expect(await rejection(client.send(getJob('7')))).toBeInstanceOf(InternalFailureException);
    expect((await client.send(getJob('8'))).job?.summary?.jobId).toBe('8');
    expect((await client.send(new ListAppsCommand({}))).apps?.length).toBeGreaterThan(0);
  });

  it('fires ratio rules from a seeded generator, so a run can be replayed', async () => {
    async function pattern(): Promise<string> {
      const fresh = await startFrozen({
        seed: 'replay',
        faults: [{ kind: 'internal', ratio: 0.5 }],
      });
      const client = clientFor(fresh);
      let out = '';
      for (let i = 0; i < 24; i++) {
        out += await client.send(new ListAppsCommand({})).then(
          () => '.',
          () => 'x',
        );
      }
      client.destroy();
      await fresh.close();
      return out;
    }
    const first = await pattern();
    expect(await pattern()).toBe(first);
    const fired = [...first].filter((c) => c === 'x').length;
    expect(fired).toBeGreaterThan(3);
    expect(fired).toBeLessThan(21);
  });

  it('lists, removes and rejects invalid rules', () => {
    const id = la.faults.add({ kind: 'throttle', ratio: 0.25 });
    expect(la.faults.list()).toEqual([{ id, kind: 'throttle', ratio: 0.25, fired: 0 }]);
    expect(la.faults.remove(id)).toBe(true);
    expect(la.faults.remove(id)).toBe(false);
    expect(() => la.faults.add({ kind: 'explode' as 'throttle' })).toThrow(/kind must be one of/);
    expect(() => la.faults.add({ kind: 'latency', ratio: 2 })).toThrow(/ratio/);
    expect(() => la.faults.add({ kind: 'internal', operations: ['GetJobs' as 'GetJob'] })).toThrow(
      /operations/,
    );
  });
});

describe('concurrency observation', () => {
  it('sees 8 requests in flight at once when 8 GetJobs race through 50 ms of latency', async () => {
    la.faults.add({ kind: 'latency', latencyMs: 50 });
    const client = retryingClient();
    await Promise.all(Array.from({ length: 8 }, (_, i) => client.send(getJob(String(i + 1)))));
    expect(la.stats.inFlightHighWater).toBe(8);
    expect(la.stats.calls('GetJob')).toBe(8);
  });

  it('sees 1 in flight when the same calls go one after another', async () => {
    la.faults.add({ kind: 'latency', latencyMs: 5 });
    const client = retryingClient();
    for (let i = 1; i <= 8; i++) await client.send(getJob(String(i)));
    expect(la.stats.inFlightHighWater).toBe(1);
    expect(la.stats.calls()).toBe(8);
  });
});
