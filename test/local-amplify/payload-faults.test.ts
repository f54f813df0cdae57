import {
  AmplifyServiceException,
  GetAppCommand,
  GetJobCommand,
  ListAppsCommand,
  ListBranchesCommand,
  ListJobsCommand,
} from '@aws-sdk/client-amplify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultEngine, parseFaultSpec } from '../../src/local-amplify/faults.js';
import type { JobWire, LocalAmplify, StepWire } from '../../src/local-amplify/index.js';
import { clientFor, label, metadataOf, rejection, startFrozen } from './helpers.js';

let la: LocalAmplify;
let client: ReturnType<typeof clientFor>;
let key: { appId: string; branchName: string; jobId: string };
let wire: JobWire;

beforeAll(async () => {
  la = await startFrozen({ seed: 'payload' });
  client = clientFor(la);
  const appId = la.world.apps().find((a) => a.name === 'storefront-web')?.appId ?? '';
  // A finished storefront job has BUILD, TEST, DEPLOY and VERIFY, screenshots included.
  const found = la.world
    .listJobKeys({ appId, branchName: 'main', status: 'SUCCEED' })
    .find((k) => la.world.getJobWire(k.appId, k.branchName, k.jobId)?.job.steps.length === 4);
  if (found === undefined) throw new Error('no finished four-step job');
  key = { appId: found.appId, branchName: found.branchName, jobId: found.jobId };
  wire = la.world.getJobWire(key.appId, key.branchName, key.jobId)?.job as JobWire;
});

afterEach(() => {
  la.faults.clear();
  la.stats.reset();
});

afterAll(async () => {
  client.destroy();
  await la.close();
});

/** The raw GetJob body, fetched without the SDK. */
async function rawJob(): Promise<{ job?: Record<string, unknown> } & Record<string, unknown>> {
  const path = `/apps/${key.appId}/branches/${label(key.branchName)}/jobs/${key.jobId}`;
  const response = await fetch(`${la.url}${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as { job?: Record<string, unknown> };
}

function rawSteps(body: { job?: Record<string, unknown> }): unknown {
  return body.job?.steps;
}

/** A JSON value read from an SDK output whose declared type says otherwise. */
function loose(value: unknown): unknown {
  return value;
}

describe('corrupt: the real 200 answer, damaged in one named way', () => {
  it('nullStep inserts a null among the steps and keeps the others', async () => {
    la.faults.add({ kind: 'corrupt', variant: 'nullStep', operations: 'GetJob' });
    expect(rawSteps(await rawJob())).toEqual([wire.steps[0], null, ...wire.steps.slice(1)]);
    const { job } = await client.send(new GetJobCommand(key));
    expect(job?.steps).toHaveLength(wire.steps.length + 1);
    expect(job?.steps?.[1]).toBeNull();
    expect(job?.steps?.[2]?.stepName).toBe(wire.steps[1]?.stepName);
  });

  it('msTimestamps sends epoch milliseconds, which the SDK reads as seconds tens of millennia ahead', async () => {
    la.faults.add({ kind: 'corrupt', variant: 'msTimestamps' });
    const raw = (await rawJob()).job as unknown as JobWire;
    expect(raw.summary.startTime).toBe(Math.round((wire.summary.startTime ?? 0) * 1000));
    expect(raw.summary.endTime).toBe(Math.round((wire.summary.endTime ?? 0) * 1000));
    expect(raw.steps.map((s) => s.startTime)).toEqual(
      wire.steps.map((s) => Math.round(s.startTime * 1000)),
    );
    expect(Number.isInteger(raw.summary.commitTime)).toBe(true);
    const { job } = await client.send(new GetJobCommand(key));
    expect(job?.summary?.startTime?.getUTCFullYear()).toBeGreaterThan(50_000);
    const { apps } = await client.send(new ListAppsCommand({}));
    expect(apps?.[0]?.createTime?.getUTCFullYear()).toBeGreaterThan(50_000);
  });

  it('isoTimestamps sends ISO-8601 strings, which the SDK refuses to deserialize', async () => {
    la.faults.add({ kind: 'corrupt', variant: 'isoTimestamps' });
    const raw = (await rawJob()).job as Record<string, Record<string, unknown>>;
    expect(raw.summary?.startTime).toBe(
      new Date(Math.round((wire.summary.startTime ?? 0) * 1000)).toISOString(),
    );
    expect(raw.summary?.startTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const error = await rejection(client.send(new GetJobCommand(key)));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/Expected real number[\s\S]*Deserialization error/);
  });

  it('farFuture moves the start times past the year 9999 and leaves the rest', async () => {
    la.faults.add({ kind: 'corrupt', variant: 'farFuture' });
    const raw = (await rawJob()).job as unknown as JobWire;
    const year10000 = Date.UTC(10000, 0, 1) / 1000;
    expect(raw.summary.startTime).toBeGreaterThan(year10000);
    for (const step of raw.steps) expect(step.startTime).toBeGreaterThan(year10000);
    expect(raw.summary.endTime).toBe(wire.summary.endTime);
    expect(raw.steps[0]?.endTime).toBe(wire.steps[0]?.endTime);
    const { job } = await client.send(new GetJobCommand(key));
    expect(job?.summary?.startTime?.getUTCFullYear()).toBeGreaterThan(9999);
    expect(job?.summary?.startTime?.toISOString()).toMatch(/^\+01\d{4}-/);
    const list = await client.send(
      new ListJobsCommand({ appId: key.appId, branchName: key.branchName, maxResults: 3 }),
    );
    expect(list.jobSummaries?.every((j) => (j.startTime?.getUTCFullYear() ?? 0) > 9999)).toBe(true);
  });

  it('wrongTypes sends members of the wrong JSON type, which the SDK passes through', async () => {
    la.faults.add({ kind: 'corrupt', variant: 'wrongTypes' });
    const raw = (await rawJob()).job as { summary: Record<string, unknown>; steps: StepWire[] };
    expect(raw.summary.status).toBe(42);
    expect(raw.summary.commitMessage).toEqual({});
    expect(raw.summary.commitId).toBe(wire.summary.commitId);
    expect(raw.summary.jobArn).toBe(wire.summary.jobArn);
    expect(loose(raw.steps[0]?.stepName)).toEqual([]);
    expect(raw.steps.map((s) => s.screenshots)).toContain('x');
    expect(raw.steps.slice(1).map((s) => s.stepName)).toEqual(['TEST', 'DEPLOY', 'VERIFY']);
    const { job } = await client.send(new GetJobCommand(key));
    expect(loose(job?.summary?.status)).toBe(42);
    expect(loose(job?.steps?.[0]?.stepName)).toEqual([]);
    expect(job?.summary?.startTime).toBeInstanceOf(Date);
    const { app } = await client.send(new GetAppCommand({ appId: key.appId }));
    expect(loose(app?.name)).toBe(42);
    expect(loose(app?.tags)).toBe('x');
    const { branches } = await client.send(new ListBranchesCommand({ appId: key.appId }));
    expect(typeof loose(branches?.[0]?.totalNumberOfJobs)).toBe('number');
    expect(loose(branches?.[0]?.customDomains)).toBe('x');
  });

  it('noJob sends {} for GetJob and drops the list member of a list, keeping nextToken', async () => {
    la.faults.add({ kind: 'corrupt', variant: 'noJob' });
    expect(await rawJob()).toEqual({});
    expect((await client.send(new GetJobCommand(key))).job).toBeUndefined();
    const list = await client.send(
      new ListJobsCommand({ appId: key.appId, branchName: key.branchName, maxResults: 2 }),
    );
    expect(list.jobSummaries).toBeUndefined();
    expect(list.nextToken).toEqual(expect.any(String));
  });

  it('stepsNotList sends the steps as an object, which the SDK hands over undecoded', async () => {
    la.faults.add({ kind: 'corrupt', variant: 'stepsNotList' });
    const steps = rawSteps(await rawJob()) as Record<string, StepWire>;
    expect(Array.isArray(steps)).toBe(false);
    expect(Object.keys(steps)).toEqual(['0', '1', '2', '3']);
    expect(steps['2']).toEqual(wire.steps[2]);
    const { job } = await client.send(new GetJobCommand(key));
    expect(Array.isArray(job?.steps)).toBe(false);
    const first = (loose(job?.steps) as Record<string, { startTime: unknown }>)['0'];
    // Not decoded as a Step: the timestamp stays a raw number.
    expect(first?.startTime).toBe(wire.steps[0]?.startTime);
  });

  it('badEntries puts a null and a number among the entries of ListJobs, ListApps and ListBranches', async () => {
    la.faults.add({ kind: 'corrupt', variant: 'badEntries' });
    const jobs = await client.send(
      new ListJobsCommand({ appId: key.appId, branchName: key.branchName, maxResults: 4 }),
    );
    expect(jobs.jobSummaries?.map((j) => loose(j) === null || typeof j !== 'object')).toEqual([
      false,
      true,
      false,
      true,
      false,
      false,
    ]);
    expect(loose(jobs.jobSummaries?.[1])).toBeNull();
    expect(loose(jobs.jobSummaries?.[3])).toBe(42);
    const apps = await client.send(new ListAppsCommand({}));
    expect(apps.apps).toHaveLength(la.world.apps().length + 2);
    expect(loose(apps.apps?.[1])).toBeNull();
    const branches = await client.send(new ListBranchesCommand({ appId: key.appId }));
    expect(loose(branches.branches?.[3])).toBe(42);
  });

  it('logUrl makes every GetJob step carry the chosen URL and leaves other URLs alone', async () => {
    const url = 'http://169.254.169.254/latest/meta-data/?a=1,b=2';
    la.faults.add(parseFaultSpec(`GetJob:corrupt:variant=logUrl,count=1,url=${url}`));
    const { job } = await client.send(new GetJobCommand(key));
    expect(job?.steps?.map((s) => s.logUrl)).toEqual([url, url, url, url]);
    expect(job?.steps?.[0]?.artifactsUrl).toBe(wire.steps[0]?.artifactsUrl);
    // The count was spent: the next answer is the real one.
    const again = await client.send(new GetJobCommand(key));
    expect(again.job?.steps?.[0]?.logUrl).toBe(wire.steps[0]?.logUrl);
  });

  it('fires only for operations its variant can damage, and is not spent by the others', async () => {
    la.faults.add({ kind: 'corrupt', variant: 'nullStep', count: 1 });
    const apps = await client.send(new ListAppsCommand({}));
    expect(apps.apps?.every((a) => typeof a === 'object' && a !== null)).toBe(true);
    expect(la.faults.list()[0]).toEqual(expect.objectContaining({ fired: 0, remaining: 1 }));
    const { job } = await client.send(new GetJobCommand(key));
    expect(job?.steps).toContain(null);
    expect(la.stats.lastRequests().map((r) => r.fault)).toEqual([undefined, 'corrupt']);
  });

  it('leaves errors alone: a corrupt rule never turns a 404 into a 200', async () => {
    la.faults.add({ kind: 'corrupt', variant: 'noJob' });
    const response = await fetch(`${la.url}/apps/${key.appId}/branches/main/jobs/999999`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'Job 999999 not found' });
  });

  it('rejects rules that cannot work', () => {
    expect(() => la.faults.add({ kind: 'corrupt' })).toThrow(/corrupt needs a variant/);
    expect(() =>
      la.faults.add({ kind: 'corrupt', variant: 'nullStep', operations: ['GetJob', 'ListJobs'] }),
    ).toThrow(/variant nullStep cannot corrupt ListJobs/);
    expect(() => la.faults.add({ kind: 'corrupt', variant: 'logUrl' })).toThrow(/needs a url/);
    expect(() => la.faults.add({ kind: 'throttle', variant: 'noJob' })).toThrow(
      /belong to kind corrupt/,
    );
    expect(() => parseFaultSpec('GetJob:corrupt:variant=sideways')).toThrow(
      /corrupt needs a variant among nullStep/,
    );
    expect(la.faults.list()).toEqual([]);
  });
});

describe('status: any HTTP status with a chosen body', () => {
  it('answers 502 with a proxy HTML page, which the SDK retries and then fails to parse', async () => {
    la.faults.add(parseFaultSpec('GetJob:status:code=502,body=html'));
    const raw = await fetch(`${la.url}/apps/${key.appId}/branches/main/jobs/${key.jobId}`);
    expect(raw.status).toBe(502);
    expect(raw.headers.get('content-type')).toBe('text/html');
    expect(raw.headers.get('x-amzn-requestid')).toBeNull();
    expect(await raw.text()).toContain('<h1>502 Bad Gateway</h1>');
    const retrying = clientFor(la, { maxAttempts: 3 });
    try {
      la.stats.reset();
      const error = await rejection(retrying.send(new GetJobCommand(key)));
      expect(error).toBeInstanceOf(SyntaxError);
      expect(error.message).toMatch(/Deserialization error/);
      expect(metadataOf(error)).toEqual(
        expect.objectContaining({ httpStatusCode: 502, attempts: 3 }),
      );
      expect(la.stats.calls('GetJob')).toBe(3);
    } finally {
      retrying.destroy();
    }
  });

  it('answers a 418 JSON error without an error type, which the SDK names Unknown', async () => {
    la.faults.add({ kind: 'status', statusCode: 418, body: 'json' });
    const error = await rejection(client.send(new GetJobCommand(key)));
    expect(error).toBeInstanceOf(AmplifyServiceException);
    expect(error.name).toBe('Unknown');
    expect(error.message).toBe("I'm a Teapot");
    expect(metadataOf(error).httpStatusCode).toBe(418);
    expect(metadataOf(error).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('adds x-amzn-ErrorType when asked, so a 400 can be a ThrottlingException', async () => {
    la.faults.add(parseFaultSpec('GetJob:status:code=400,body=json,errorType=ThrottlingException'));
    const error = await rejection(client.send(new GetJobCommand(key)));
    expect(error.name).toBe('ThrottlingException');
    expect(metadataOf(error).httpStatusCode).toBe(400);
  });

  it('adds Retry-After to a status answer when asked', async () => {
    la.faults.add(parseFaultSpec('*:status:code=429,body=json,retryAfter=7,errorType=SlowDown'));
    const raw = await fetch(`${la.url}/apps`);
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('7');
    expect(raw.headers.get('x-amzn-errortype')).toBe('SlowDown');
    expect(await raw.json()).toEqual({ message: 'Too Many Requests' });
  });

  it('answers a 302 with a Location and no body', async () => {
    la.faults.add({ kind: 'status', statusCode: 302, body: 'empty' });
    const path = `/apps/${key.appId}`;
    const raw = await fetch(`${la.url}${path}`, { redirect: 'manual' });
    expect(raw.status).toBe(302);
    expect(raw.headers.get('location')).toBe(`${la.url}${path}`);
    expect(await raw.text()).toBe('');
    const error = await rejection(client.send(new GetAppCommand({ appId: key.appId })));
    expect(metadataOf(error).httpStatusCode).toBe(302);
  });

  it('answers 200 with an empty body, which the SDK turns into an output with no job', async () => {
    la.faults.add({ kind: 'status', statusCode: 200, body: 'empty', operations: ['GetJob'] });
    const out = await client.send(new GetJobCommand(key));
    expect(out.job).toBeUndefined();
    expect(out.$metadata.httpStatusCode).toBe(200);
  });

  it('answers 503 with plain text and rejects codes outside 200..599 and unknown bodies', async () => {
    la.faults.add({ kind: 'status', statusCode: 503, body: 'text', message: 'upstream busy' });
    const raw = await fetch(`${la.url}/apps`);
    expect(raw.status).toBe(503);
    expect(raw.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await raw.text()).toBe('upstream busy\n');
    expect(() => la.faults.add({ kind: 'status', statusCode: 101 })).toThrow(/200\.\.599/);
    expect(() => la.faults.add({ kind: 'status' })).toThrow(/needs a statusCode/);
    expect(() => parseFaultSpec('*:status:code=502,body=xml')).toThrow(/body must be one of/);
  });
});

describe('time-bounded rules (forMs)', () => {
  it('parses for=30000, for=30s, for=500ms and for=2m', () => {
    expect(parseFaultSpec('*:internal:for=30000').forMs).toBe(30_000);
    expect(parseFaultSpec('*:status:code=502,for=30s').forMs).toBe(30_000);
    expect(parseFaultSpec('*:internal:for=500ms').forMs).toBe(500);
    expect(parseFaultSpec('*:internal:for=2m').forMs).toBe(120_000);
    expect(() => parseFaultSpec('*:internal:for=soon')).toThrow(/not a duration/);
    expect(() => la.faults.add({ kind: 'internal', forMs: 0 })).toThrow(/forMs/);
  });

  it('fires for every matching call inside the window and expires at its end', () => {
    let real = 1_000;
    const engine = new FaultEngine('timed', () => real);
    engine.add({ kind: 'unavailable', forMs: 30_000 });
    for (let i = 0; i < 5; i++) {
      expect(engine.decide('GetJob', {}).terminal?.kind).toBe('unavailable');
      real += 5_000;
    }
    expect(engine.list()[0]).toEqual(expect.objectContaining({ fired: 5, expiresInMs: 5_000 }));
    real += 4_999;
    expect(engine.decide('ListJobs', {}).terminal?.kind).toBe('unavailable');
    real += 1;
    expect(engine.decide('GetJob', {}).terminal).toBeUndefined();
    expect(engine.list()[0]).toEqual(expect.objectContaining({ fired: 6, expiresInMs: 0 }));
  });

  it('makes a 5xx storm over HTTP that ends by itself', async () => {
    la.faults.add(parseFaultSpec('GetJob:status:code=503,body=json,for=60s'));
    for (let i = 0; i < 4; i++) {
      const error = await rejection(client.send(new GetJobCommand(key)));
      expect(metadataOf(error).httpStatusCode).toBe(503);
    }
    la.faults.clear();
    la.faults.add({ kind: 'internal', operations: ['GetJob'], forMs: 150 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { job } = await client.send(new GetJobCommand(key));
    expect(job?.summary?.jobId).toBe(key.jobId);
    expect(la.faults.list()[0]).toEqual(expect.objectContaining({ fired: 0, expiresInMs: 0 }));
  });
});

describe('the new kinds through the control API', () => {
  it('adds corrupt and timed status rules from spec strings and lists the time a rule has left', async () => {
    const added = await fetch(`${la.url}/_local/faults`, {
      method: 'POST',
      body: JSON.stringify({
        specs: ['GetJob:corrupt:variant=noJob', '*:status:code=504,for=60s'],
      }),
    });
    expect(added.status).toBe(200);
    const listed = (await (await fetch(`${la.url}/_local/faults`)).json()) as {
      faults: { kind: string; expiresInMs?: number }[];
    };
    expect(listed.faults.map((f) => f.kind)).toEqual(['corrupt', 'status']);
    expect(listed.faults[1]?.expiresInMs).toBeGreaterThan(55_000);
    expect(listed.faults[1]?.expiresInMs).toBeLessThanOrEqual(60_000);
    expect(await rawJob()).toEqual({});
    const refused = await fetch(`${la.url}/_local/faults`, {
      method: 'POST',
      body: JSON.stringify({ spec: 'ListApps:corrupt:variant=nullStep' }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { message: string }).message).toMatch(
      /cannot corrupt ListApps/,
    );
  });
});
