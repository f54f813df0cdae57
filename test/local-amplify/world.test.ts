import { inflateSync } from 'node:zlib';
import {
  GetAppCommand,
  GetBranchCommand,
  GetJobCommand,
  ListJobsCommand,
} from '@aws-sdk/client-amplify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_STATUSES, JOB_TYPES, type LocalAmplify } from '../../src/local-amplify/index.js';
import { clientFor, label, startFrozen } from './helpers.js';

let la: LocalAmplify;
let client: ReturnType<typeof clientFor>;

beforeAll(async () => {
  la = await startFrozen({ seed: 42 });
  client = clientFor(la);
});

afterAll(async () => {
  client.destroy();
  await la.close();
});

/** Raw response bodies, with the emulator's own address replaced so instances compare. */
async function rawBodies(target: LocalAmplify, paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const text = await (await fetch(`${target.url}${path}`)).text();
    out.push(text.split(target.url).join('http://local-amplify'));
  }
  return out;
}

function samplePaths(target: LocalAmplify): string[] {
  const [first] = target.world.apps();
  const appId = first?.appId ?? '';
  const paths = ['/apps', `/apps/${appId}`, `/apps/${appId}/branches?maxResults=2`];
  for (const branch of first?.branches ?? []) {
    const name = label(branch.branchName);
    paths.push(`/apps/${appId}/branches/${name}/jobs?maxResults=7`);
    for (const jobId of ['1', '2', '7', String(branch.jobs)]) {
      paths.push(`/apps/${appId}/branches/${name}/jobs/${jobId}`);
    }
  }
  return paths;
}

describe('determinism', () => {
  it('gives byte-identical responses from two instances with the same seed', async () => {
    const twin = await startFrozen({ seed: 42 });
    try {
      expect(twin.world.apps()).toEqual(la.world.apps());
      expect(await rawBodies(twin, samplePaths(twin))).toEqual(
        await rawBodies(la, samplePaths(la)),
      );
    } finally {
      await twin.close();
    }
  });

  it('gives a different world for a different seed', async () => {
    const other = await startFrozen({ seed: 43 });
    try {
      const ids = (t: LocalAmplify) => t.world.apps().map((a) => a.appId);
      expect(ids(other)).not.toEqual(ids(la));
      const job = (t: LocalAmplify) => {
        const appId = t.world.apps()[0]?.appId ?? '';
        return JSON.stringify(t.world.getJobWire(appId, 'main', '1')?.job.summary.commitId);
      };
      expect(job(other)).not.toBe(job(la));
    } finally {
      await other.close();
    }
  });

  it('uses the configured region and account id in every ARN', async () => {
    const elsewhere = await startFrozen({
      seed: 42,
      region: 'eu-west-2',
      accountId: '210987654321',
    });
    try {
      const key = elsewhere.world.listJobKeys()[0];
      const wire = elsewhere.world.getJobWire(
        key?.appId ?? '',
        key?.branchName ?? '',
        key?.jobId ?? '',
      );
      expect(wire?.job.summary.jobArn).toMatch(/^arn:aws:amplify:eu-west-2:210987654321:apps\/d/);
    } finally {
      await elsewhere.close();
    }
  });
});

describe('the demo world', () => {
  it('has realistic apps with branches named with /, spaces and non-ASCII characters', () => {
    const apps = la.world.apps().filter((a) => !a.quirks);
    expect(apps.length).toBeGreaterThanOrEqual(3);
    const names = apps.flatMap((a) => a.branches.map((b) => b.branchName));
    expect(names).toEqual(
      expect.arrayContaining(['feature/login', 'release 2.0', 'fix/ünïcode-日本']),
    );
    for (const app of apps) {
      expect(app.branches.length).toBeGreaterThanOrEqual(2);
      for (const branch of app.branches) {
        expect(branch.jobs).toBeGreaterThanOrEqual(30);
        expect(branch.jobs).toBeLessThanOrEqual(60);
        const ids = la.world
          .listJobKeys({ appId: app.appId, branchName: branch.branchName })
          .map((k) => Number(k.jobId));
        expect(ids).toEqual(Array.from({ length: branch.jobs }, (_, i) => i + 1));
      }
    }
  });

  it('has jobs in every status and of every type', () => {
    const keys = la.world.listJobKeys();
    expect(new Set(keys.map((k) => k.status))).toEqual(
      new Set([...JOB_STATUSES, 'WEIRD_NEW_STATUS']),
    );
    const types = new Set(keys.map((k) => k.jobType));
    for (const type of JOB_TYPES) expect(types.has(type)).toBe(true);
    expect(la.world.listJobKeys({ status: 'CREATED' }).length).toBeGreaterThanOrEqual(1);
  });

  it('gives manual deployments DEPLOY then VERIFY, commit HEAD and a source URL', async () => {
    const key = la.world.listJobKeys({ jobType: 'MANUAL', status: 'SUCCEED' })[0];
    const { job } = await client.send(new GetJobCommand({ ...key! }));
    expect(job?.summary?.commitId).toBe('HEAD');
    expect(job?.summary?.sourceUrl).toMatch(/^(s3|https):\/\//);
    expect(['ZIP', 'BUCKET_PREFIX']).toContain(job?.summary?.sourceUrlType);
    expect(job?.steps?.map((s) => s.stepName)).toEqual(['DEPLOY', 'VERIFY']);
  });

  it('returns from getJobWire exactly the body GetJob sends', async () => {
    for (const key of la.world.listJobKeys({ branchName: 'release 2.0' }).slice(-5)) {
      const response = await fetch(
        `${la.url}/apps/${key.appId}/branches/${label(key.branchName)}/jobs/${key.jobId}`,
      );
      expect(await response.text()).toBe(
        JSON.stringify(la.world.getJobWire(key.appId, key.branchName, key.jobId)),
      );
    }
    expect(la.world.getJobWire('dnope', 'main', '1')).toBeUndefined();
  });
});

describe('live-service quirks (spec §7)', () => {
  function quirk(kind: string) {
    const found = la.world.quirkJobs().find((q) => q.kind === kind);
    if (found === undefined) throw new Error(`no quirk job ${kind}`);
    return { appId: found.appId, branchName: found.branchName, jobId: found.jobId };
  }

  it('lists five pinned quirk jobs in the quirks app', () => {
    const { appId } = la.world.quirkApp();
    expect(la.world.quirkJobs()).toEqual([
      { kind: 'sparseSummary', appId, branchName: 'main', jobId: '2' },
      { kind: 'unknownEnums', appId, branchName: 'main', jobId: '3' },
      { kind: 'emptyUrls', appId, branchName: 'main', jobId: '4' },
      { kind: 'runningStepWithoutEndTime', appId, branchName: 'main', jobId: '5' },
      { kind: 'hugeLog', appId, branchName: 'legacy', jobId: '4' },
    ]);
  });

  it('sends a summary with only jobArn, jobId and status', async () => {
    const key = quirk('sparseSummary');
    expect(
      Object.keys(la.world.getJobWire(key.appId, key.branchName, key.jobId)?.job.summary ?? {}),
    ).toEqual(['jobArn', 'jobId', 'status']);
    const { job } = await client.send(new GetJobCommand(key));
    expect(job?.summary?.status).toBe('PENDING');
    expect(job?.summary?.startTime).toBeUndefined();
    expect(job?.summary?.jobType).toBeUndefined();
    const list = await client.send(new ListJobsCommand({ appId: key.appId, branchName: 'main' }));
    expect(list.jobSummaries?.find((j) => j.jobId === key.jobId)?.commitId).toBeUndefined();
  });

  it('passes values outside the enums through to the SDK', async () => {
    const { job } = await client.send(new GetJobCommand(quirk('unknownEnums')));
    expect(job?.summary?.status).toBe('WEIRD_NEW_STATUS');
    expect(job?.summary?.jobType).toBe('SCHEDULED');
    expect(job?.summary?.sourceUrlType).toBe('GIT_ARCHIVE');
    expect(job?.steps?.map((s) => s.status)).toContain('WEIRD_STEP_STATUS');
  });

  it('sends empty-string URLs', async () => {
    const { job } = await client.send(new GetJobCommand(quirk('emptyUrls')));
    expect(job?.steps?.[0]?.logUrl).toBe('');
    expect(job?.steps?.[0]?.artifactsUrl).toBe('');
  });

  it('sends a running step without endTime, for good', async () => {
    const key = quirk('runningStepWithoutEndTime');
    la.clock.advance(24 * 3_600_000);
    const { job } = await client.send(new GetJobCommand(key));
    expect(job?.summary?.status).toBe('RUNNING');
    const last = job?.steps?.[job.steps.length - 1];
    expect(last?.status).toBe('RUNNING');
    expect(last?.endTime).toBeUndefined();
  });

  it('has a branch with stage NONE, a branch and an app missing "required" members', async () => {
    const { appId, stageNoneBranch, sparseBranch } = la.world.quirkApp();
    const none = await client.send(new GetBranchCommand({ appId, branchName: stageNoneBranch }));
    expect(none.branch?.stage).toBe('NONE');
    const sparse = await client.send(new GetBranchCommand({ appId, branchName: sparseBranch }));
    expect(sparse.branch?.activeJobId).toBeUndefined();
    expect(sparse.branch?.framework).toBeUndefined();
    expect(sparse.branch?.environmentVariables).toBeUndefined();
    const { app } = await client.send(new GetAppCommand({ appId }));
    expect(app?.description).toBeUndefined();
    expect(app?.repository).toBeUndefined();
  });
});

describe('downloads', () => {
  async function finishedStorefrontJob() {
    const appId = la.world.apps().find((a) => a.name === 'storefront-web')?.appId ?? '';
    const key = la.world.listJobKeys({ appId, branchName: 'main', status: 'SUCCEED' })[0];
    return (await client.send(new GetJobCommand({ ...key! }))).job;
  }

  it('serves the build log text behind logUrl', async () => {
    const job = await finishedStorefrontJob();
    const build = job?.steps?.find((s) => s.stepName === 'BUILD');
    const response = await fetch(build?.logUrl ?? '');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await response.text();
    expect(text).toContain(`[INFO]: # Switching to commit: ${job?.summary?.commitId}`);
    expect(text).toContain('## Build completed successfully');
    expect(text.split('\n')[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \[INFO\]: /);
  });

  it('serves a real ZIP behind artifactsUrl and real PNGs behind screenshots', async () => {
    const job = await finishedStorefrontJob();
    const zip = Buffer.from(
      await (
        await fetch(job?.steps?.find((s) => s.stepName === 'BUILD')?.artifactsUrl ?? '')
      ).arrayBuffer(),
    );
    expect(zip.subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    expect(zip.readUInt32LE(zip.length - 22)).toBe(0x06054b50);
    expect(zip.toString('latin1')).toContain('index.html');
    const verify = job?.steps?.find((s) => s.stepName === 'VERIFY');
    expect(Object.keys(verify?.screenshots ?? {})).toEqual([
      'desktop.png',
      'tablet.png',
      'mobile.png',
    ]);
    const png = Buffer.from(
      await (await fetch(verify?.screenshots?.['desktop.png'] ?? '')).arrayBuffer(),
    );
    expect(png.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    const idatAt = png.indexOf('IDAT');
    const idatLength = png.readUInt32BE(idatAt - 4);
    expect(inflateSync(png.subarray(idatAt + 4, idatAt + 4 + idatLength)).length).toBe(
      (96 * 3 + 1) * 64,
    );
    const test = job?.steps?.find((s) => s.stepName === 'TEST');
    expect(await (await fetch(test?.testConfigUrl ?? '')).text()).toMatch(/^test:\n {2}phases:/);
  });

  it('grows the log of a running step as virtual time passes', async () => {
    const fresh = await startFrozen({ seed: 42 });
    try {
      const key = fresh.world.listJobKeys({ status: 'RUNNING' })[0];
      const wire = fresh.world.getJobWire(
        key?.appId ?? '',
        key?.branchName ?? '',
        key?.jobId ?? '',
      );
      const running = wire?.job.steps.find((s) => s.status === 'RUNNING');
      const before = await (await fetch(running?.logUrl ?? '')).text();
      fresh.clock.advance(20_000);
      const after = await (await fetch(running?.logUrl ?? '')).text();
      expect(after.startsWith(before)).toBe(true);
      expect(after.length).toBeGreaterThan(before.length);
    } finally {
      await fresh.close();
    }
  });

  it('answers 404 for the files of steps that have not run, and counts no file request as a call', async () => {
    la.stats.reset();
    const appId = la.world.apps()[0]?.appId ?? '';
    const missing = await fetch(`${la.url}/_files/logs/${appId}/main/99999/BUILD.log`);
    expect(missing.status).toBe(404);
    expect(la.stats.calls()).toBe(0);
  });
});

describe('the control API', () => {
  async function control(method: string, path: string, body?: unknown) {
    const response = await fetch(`${la.url}/_local/${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('reports health, the world and job keys over HTTP without counting as Amplify calls', async () => {
    la.stats.reset();
    const health = await control('GET', 'health');
    expect(health.body).toEqual(
      expect.objectContaining({ status: 'ok', seed: '42', region: 'us-east-1', url: la.url }),
    );
    const world = await control('GET', 'world');
    expect((world.body.apps as unknown[]).length).toBe(la.world.apps().length);
    const running = await control('GET', 'jobs?status=RUNNING');
    expect(running.body.jobs).toEqual(la.world.listJobKeys({ status: 'RUNNING' }));
    expect(la.stats.calls()).toBe(0);
    expect(la.stats.snapshot().lastRequests).toEqual([]);
  });

  it('reads and resets stats', async () => {
    la.stats.reset();
    const appId = la.world.apps()[0]?.appId ?? '';
    await client.send(new GetJobCommand({ appId, branchName: 'main', jobId: '1' }));
    await client.send(new GetJobCommand({ appId, branchName: 'main', jobId: '2' }));
    const stats = await control('GET', 'stats');
    expect(stats.body).toEqual(
      expect.objectContaining({
        total: 2,
        calls: { GetJob: 2 },
        inFlight: 0,
        inFlightHighWater: 1,
      }),
    );
    const last = (
      stats.body.lastRequests as { labels: unknown; status: number; headers: unknown }[]
    )[1];
    expect(last?.labels).toEqual({ appId, branchName: 'main', jobId: '2' });
    expect(last?.status).toBe(200);
    expect(last?.headers).toEqual(
      expect.objectContaining({ amzSdkRequest: 'attempt=1; max=1', hasAuthorization: true }),
    );
    await control('POST', 'stats/reset');
    expect(la.stats.calls()).toBe(0);
  });

  it('adds, lists and removes faults', async () => {
    const added = await control('POST', 'faults', { spec: 'GetApp:internal:count=1' });
    expect(added.status).toBe(200);
    const [id] = added.body.ids as string[];
    const appId = la.world.apps()[0]?.appId ?? '';
    const failed = await fetch(`${la.url}/apps/${appId}`);
    expect(failed.status).toBe(500);
    expect(failed.headers.get('x-amzn-errortype')).toBe('InternalFailureException');
    const listed = await control('GET', 'faults');
    expect(listed.body.faults).toEqual([
      { kind: 'internal', operations: ['GetApp'], count: 1, id, fired: 1, remaining: 0 },
    ]);
    expect((await control('DELETE', `faults/${id}`)).status).toBe(200);
    expect((await control('POST', 'faults', { kind: 'nope' })).status).toBe(400);
    await control('POST', 'faults', [{ kind: 'latency', latencyMs: 1 }, 'ListApps:throttle']);
    expect(la.faults.list().map((f) => f.kind)).toEqual(['latency', 'throttle']);
    await control('DELETE', 'faults');
    expect(la.faults.list()).toEqual([]);
  });

  it('advances and changes the speed of the clock', async () => {
    const before = la.clock.nowMs();
    const advanced = await control('POST', 'clock', { advanceMs: 90_000 });
    expect(Date.parse(advanced.body.now as string)).toBe(before + 90_000);
    expect(advanced.body.nowEpochSeconds).toBe((before + 90_000) / 1000);
    const sped = await control('POST', 'clock', { speed: 60 });
    expect(sped.body.speed).toBe(60);
    await control('POST', 'clock', { speed: 0 });
    expect((await control('POST', 'clock', { advanceMs: -5 })).status).toBe(400);
  });

  it('answers unknown control routes with 404 and never mistakes them for Amplify', async () => {
    const unknown = await control('GET', 'apps');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe('No control route GET /_local/apps');
  });
});
