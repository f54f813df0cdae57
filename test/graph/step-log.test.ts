/**
 * `Step.log` end to end: the gateway reads the local Amplify's log files through the URL GetJob
 * gives, honours its byte cap and `tailLines`, and refuses a log URL on another host.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countingUpstream } from '../support/counting.js';
import { createGateway, type Gateway, type Stack, startStack } from '../support/stack.js';
import { ordinaryJobs, wireJob } from '../support/world.js';

const LOGS = `query($a: ID!, $b: String!, $j: ID!, $tail: Int) {
  job(appId: $a, branchName: $b, jobId: $j) {
    steps { stepName logUrl log(tailLines: $tail) { text truncated bytes } }
  }
}`;

interface StepLogs {
  stepName: string;
  logUrl: string | null;
  log: { text: string; truncated: boolean; bytes: number } | null;
}

function stepsIn(data: Record<string, unknown> | null | undefined): StepLogs[] {
  const job = data?.job as { steps: StepLogs[] } | null | undefined;
  if (!job) throw new Error(`no job in ${JSON.stringify(data)}`);
  return job.steps;
}

describe('Step.log', () => {
  let stack: Stack;
  let key: { appId: string; branchName: string; jobId: string };
  const counting = countingUpstream();
  let counted: Gateway;

  beforeAll(async () => {
    stack = await startStack();
    const found = ordinaryJobs(stack.la).find((job) => {
      const wire = wireJob(stack.la, job);
      return wire.summary.status === 'SUCCEED' && wire.steps.length >= 3;
    });
    if (!found) throw new Error('no finished job with three steps in the demo world');
    key = found;
    // Two aliases of each step's log are estimated at STEP_LOG_MAX_BYTES each before execution;
    // the default MAX_RESPONSE_BYTES (8 MiB) would refuse the hugeLog job's steps asked twice.
    counted = await createGateway({
      upstream: stack.la,
      wrap: counting.wrap,
      env: { MAX_RESPONSE_BYTES: String(64 * 1024 * 1024) },
    });
  });
  beforeEach(() => counting.reset());
  afterAll(async () => {
    await counted?.close();
    await stack?.close();
  });

  const vars = (tail?: number) => ({
    a: key.appId,
    b: key.branchName,
    j: key.jobId,
    ...(tail === undefined ? {} : { tail }),
  });

  async function steps(target: Gateway, tail?: number): Promise<StepLogs[]> {
    const body = await target.graphql(LOGS, vars(tail));
    expect(body.errors).toBeUndefined();
    return stepsIn(body.data);
  }

  async function file(url: string): Promise<string> {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    return response.text();
  }

  it("returns the local Amplify's log text for every step, whole when it fits", async () => {
    const found = await steps(counted);
    expect(found.length).toBeGreaterThanOrEqual(3);
    for (const step of found) {
      const text = await file(step.logUrl!);
      expect(text.length).toBeGreaterThan(0);
      expect(step.log, step.stepName).toEqual({
        text,
        truncated: false,
        bytes: Buffer.byteLength(text),
      });
    }
    // One log read per step, one GetJob for the job.
    expect(counting.calls('getStepLog')).toBe(found.length);
    expect(counting.calls('getJob')).toBe(1);
  });

  it('returns only the last tailLines lines, and says it cut them', async () => {
    const found = await steps(counted, 2);
    for (const step of found) {
      const text = await file(step.logUrl!);
      const lines = text.split('\n').slice(0, -1);
      expect(lines.length).toBeGreaterThan(2);
      expect(step.log?.text).toBe(`${lines.slice(-2).join('\n')}\n`);
      expect(step.log?.truncated).toBe(true);
      expect(step.log?.bytes).toBe(Buffer.byteLength(text));
    }
  });

  it('refuses a tailLines below 1 or above the maximum, without reading any log', async () => {
    for (const tail of [0, -5, 100_001]) {
      const body = await counted.graphql(LOGS, vars(tail));
      expect(body.errors?.[0]?.extensions?.code, String(tail)).toBe('BAD_USER_INPUT');
    }
    expect(counting.calls('getStepLog')).toBe(0);
  });

  it('honours the byte cap: the end of the log, whole lines, at most STEP_LOG_MAX_BYTES', async () => {
    const capped = await stack.gateway({ STEP_LOG_MAX_BYTES: '256' });
    const found = await steps(capped);
    let cut = 0;
    for (const step of found) {
      const text = await file(step.logUrl!);
      const log = step.log!;
      expect(Buffer.byteLength(log.text)).toBeLessThanOrEqual(256);
      expect(text.endsWith(log.text)).toBe(true);
      expect(log.bytes).toBe(Buffer.byteLength(text));
      if (Buffer.byteLength(text) > 256) {
        cut += 1;
        expect(log.truncated).toBe(true);
        // Starts at a whole line of the original log.
        expect(text.includes(`\n${log.text}`)).toBe(true);
      } else {
        expect(log).toEqual({ text, truncated: false, bytes: Buffer.byteLength(text) });
      }
    }
    expect(cut).toBeGreaterThan(0);
  });

  it('is null, without an error, for a step that has no log URL', async () => {
    const quirk = stack.la.world.quirkJobs().find((q) => q.kind === 'emptyUrls');
    if (!quirk) throw new Error('no emptyUrls quirk job');
    const body = await counted.graphql(LOGS, {
      a: quirk.appId,
      b: quirk.branchName,
      j: quirk.jobId,
    });
    expect(body.errors).toBeUndefined();
    const found = stepsIn(body.data);
    expect(found.length).toBeGreaterThan(0);
    for (const step of found) expect(step.log).toBeNull();
    expect(counting.calls('getStepLog')).toBe(0);
  });

  it('reads the end of a 5 MiB log within the byte cap, in whole lines, one read for both aliases', async () => {
    const huge = stack.la.world.quirkJobs().find((q) => q.kind === 'hugeLog');
    if (!huge) throw new Error('no hugeLog quirk job in the local Amplify');
    const body = await counted.graphql(
      `query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) {
        steps { stepName logUrl whole: log { text truncated bytes } tail: log(tailLines: 3) { text truncated bytes } }
      } }`,
      { a: huge.appId, b: huge.branchName, j: huge.jobId },
    );
    expect(body.errors).toBeUndefined();
    const build = (
      stepsIn(body.data) as unknown as Array<
        StepLogs & { whole: StepLogs['log']; tail: StepLogs['log'] }
      >
    ).find((step) => step.stepName === 'BUILD');
    if (!build?.whole || !build.tail) throw new Error(`no BUILD log in ${JSON.stringify(body)}`);
    const full = Buffer.from(await (await fetch(build.logUrl!)).arrayBuffer());
    expect(full.length).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    // The default cap (STEP_LOG_MAX_BYTES, 1 MiB): the end of the log, in whole lines.
    expect(build.whole.bytes).toBe(full.length);
    expect(build.whole.truncated).toBe(true);
    const kept = Buffer.byteLength(build.whole.text);
    expect(kept).toBeLessThanOrEqual(1024 * 1024);
    expect(kept).toBeGreaterThan(1024 * 1024 - 1000);
    expect(full.toString('utf8').endsWith(build.whole.text)).toBe(true);
    expect(full[full.length - kept - 1]).toBe(0x0a);
    const lastLines = full.toString('utf8').split('\n').slice(-4);
    expect(build.tail).toEqual({ text: lastLines.join('\n'), truncated: true, bytes: full.length });
    // Aliases of one step's log share one read.
    expect(counting.calls('getStepLog')).toBe(
      (stepsIn(body.data) as StepLogs[]).filter((step) => step.logUrl !== null).length,
    );
  });

  describe('when Amplify names a log URL on another host', () => {
    let foreign: Server;
    let foreignOrigin: string;
    let foreignRequests = 0;

    beforeAll(async () => {
      foreign = createServer((_req, res) => {
        foreignRequests += 1;
        res.end('secret internal data\n');
      });
      await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
      foreignOrigin = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`;
    });
    afterEach(() => stack.la.faults.clear());
    afterAll(async () => {
      await new Promise<void>((resolve) => foreign.close(() => resolve()));
    });

    it('answers null with UPSTREAM_URL_REFUSED for each step, and never contacts that host', async () => {
      const targets = [
        `${foreignOrigin}/_files/logs/x.log`,
        'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
        `${stack.la.url}/_local/faults`,
        'https://bucket.s3.eu-west-1.amazonaws.com/logs/BUILD.log',
      ];
      for (const url of targets) {
        // The local Amplify's GetJob sends this logUrl on every step (a fault made for SSRF tests).
        const id = stack.la.faults.add({
          operations: 'GetJob',
          kind: 'corrupt',
          variant: 'logUrl',
          url,
        });
        const body = await counted.graphql(LOGS, vars());
        stack.la.faults.remove(id);
        const found = stepsIn(body.data);
        expect(found.length).toBeGreaterThan(0);
        for (const step of found) {
          expect(step.logUrl).toBe(url);
          expect(step.log).toBeNull();
        }
        expect(body.errors?.length, url).toBe(found.length);
        for (const error of body.errors ?? []) {
          expect(error.extensions?.code, url).toBe('UPSTREAM_URL_REFUSED');
          expect(error.extensions?.retryable).toBe(false);
          expect(error.message).not.toContain(new URL(url).hostname);
          expect(error.path?.slice(-1)).toEqual(['log']);
        }
      }
      expect(foreignRequests).toBe(0);
      expect(counting.calls('getStepLog')).toBeGreaterThan(0);
    });
  });
});
