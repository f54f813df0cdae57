import {
  BadRequestException,
  DeleteJobCommand,
  GetAppCommand,
  GetArtifactUrlCommand,
  GetBranchCommand,
  GetJobCommand,
  ListAppsCommand,
  ListArtifactsCommand,
  ListBranchesCommand,
  ListJobsCommand,
  NotFoundException,
  StartDeploymentCommand,
  StartJobCommand,
  StopJobCommand,
} from '@aws-sdk/client-amplify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import { clientFor, label, metadataOf, rejection, startFrozen } from './helpers.js';

let la: LocalAmplify;
let client: ReturnType<typeof clientFor>;
let storefront: string;

const UNICODE_BRANCHES = ['feature/login', 'release 2.0', 'fix/ünïcode-日本'];

beforeAll(async () => {
  la = await startFrozen({ concurrentJobsLimit: 100 });
  client = clientFor(la);
  const app = la.world.apps().find((a) => a.name === 'storefront-web');
  if (app === undefined) throw new Error('storefront-web missing from the demo world');
  storefront = app.appId;
});

afterAll(async () => {
  client.destroy();
  await la.close();
});

function newestJob(status: string, appId = storefront) {
  const keys = la.world.listJobKeys({ status, appId });
  const key = keys[keys.length - 1];
  if (key === undefined) throw new Error(`no ${status} job in ${appId}`);
  return key;
}

describe('apps and branches', () => {
  it('lists the demo apps with d-prefixed ids, ARNs in the configured account and default domains', async () => {
    const out = await client.send(new ListAppsCommand({}));
    const names = out.apps?.map((a) => a.name);
    expect(names).toEqual([
      'storefront-web',
      'marketing-site',
      'docs-portal',
      'partner-dashboard',
      'live-service-quirks',
    ]);
    for (const app of out.apps ?? []) {
      expect(app.appId).toMatch(/^d[a-z0-9]{13}$/);
      expect(app.appArn).toBe(`arn:aws:amplify:us-east-1:123456789012:apps/${app.appId}`);
      expect(app.defaultDomain).toBe(`${app.appId}.amplifyapp.com`);
      expect(app.createTime).toBeInstanceOf(Date);
    }
    expect(out.nextToken).toBeUndefined();
  });

  it('gets an app with its platform, production branch and no sensitive members', async () => {
    const { app } = await client.send(new GetAppCommand({ appId: storefront }));
    expect(app?.name).toBe('storefront-web');
    expect(app?.platform).toBe('WEB_COMPUTE');
    expect(app?.repository).toBe('https://github.com/acme-retail/storefront-web');
    expect(app?.productionBranch?.branchName).toBe('main');
    expect(app?.productionBranch?.lastDeployTime).toBeInstanceOf(Date);
    expect(app?.basicAuthCredentials).toBeUndefined();
    expect(app?.buildSpec).toBeUndefined();
  });

  it('lists branches whose names hold a slash, a space and non-ASCII characters', async () => {
    const out = await client.send(new ListBranchesCommand({ appId: storefront }));
    const names = out.branches?.map((b) => b.branchName);
    expect(names).toEqual([
      'main',
      'develop',
      'feature/login',
      'release 2.0',
      'fix/ünïcode-日本',
      'pr-42',
    ]);
  });

  it.each(UNICODE_BRANCHES)(
    'gets branch %s with string job counts and a dashed display name',
    async (name) => {
      const { branch } = await client.send(
        new GetBranchCommand({ appId: storefront, branchName: name }),
      );
      expect(branch?.branchName).toBe(name);
      expect(branch?.branchArn).toBe(
        `arn:aws:amplify:us-east-1:123456789012:apps/${storefront}/branches/${name}`,
      );
      expect(branch?.displayName).toBe(name.replace(/[/ ]/g, '-'));
      expect(typeof branch?.totalNumberOfJobs).toBe('string');
      const jobs = la.world.listJobKeys({ appId: storefront, branchName: name });
      expect(branch?.totalNumberOfJobs).toBe(String(jobs.length));
      expect(branch?.activeJobId).toBe(jobs[jobs.length - 1]?.jobId);
      expect(branch?.ttl).toBe('5');
    },
  );
});

describe('branches added through the control API', () => {
  it('serves a branch added after start to the SDK, with no jobs, then its first job', async () => {
    const app = la.world.apps()[1]!;
    const add = (body: unknown) =>
      fetch(`${la.url}/_local/branches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const added = await add({ appId: app.appId, branchName: 'feature/new-idea' });
    expect(added.status).toBe(200);
    expect(await added.json()).toMatchObject({ branchName: 'feature/new-idea' });
    const { branch } = await client.send(
      new GetBranchCommand({ appId: app.appId, branchName: 'feature/new-idea' }),
    );
    expect(branch?.totalNumberOfJobs).toBe('0');
    expect(branch?.activeJobId).toBeUndefined();
    expect(branch?.stage).toBe('DEVELOPMENT');
    const listed = await client.send(new ListBranchesCommand({ appId: app.appId }));
    expect(listed.branches?.at(-1)?.branchName).toBe('feature/new-idea');
    const jobs = await client.send(
      new ListJobsCommand({ appId: app.appId, branchName: 'feature/new-idea' }),
    );
    expect(jobs.jobSummaries).toEqual([]);
    const started = await client.send(
      new StartJobCommand({ appId: app.appId, branchName: 'feature/new-idea', jobType: 'RELEASE' }),
    );
    expect(started.jobSummary?.jobId).toBe('1');

    expect((await add({ appId: app.appId, branchName: 'feature/new-idea' })).status).toBe(400);
    expect((await add({ appId: 'dnosuchapp00000', branchName: 'x' })).status).toBe(404);
    expect((await add({ appId: app.appId, branchName: '' })).status).toBe(400);
    expect((await add({ appId: app.appId })).status).toBe(400);
  });
});

describe('jobs', () => {
  it.each(UNICODE_BRANCHES)('lists the jobs of %s newest first', async (name) => {
    const out = await client.send(
      new ListJobsCommand({ appId: storefront, branchName: name, maxResults: 50 }),
    );
    const ids = (out.jobSummaries ?? []).map((j) => Number(j.jobId));
    expect(ids.length).toBeGreaterThanOrEqual(30);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });

  it.each(UNICODE_BRANCHES)(
    'gets job 3 of %s with the same summary ListJobs shows',
    async (name) => {
      const { job } = await client.send(
        new GetJobCommand({ appId: storefront, branchName: name, jobId: '3' }),
      );
      expect(job?.summary?.jobId).toBe('3');
      expect(job?.summary?.jobArn).toBe(
        `arn:aws:amplify:us-east-1:123456789012:apps/${storefront}/branches/${name}/jobs/0000000003`,
      );
      expect(job?.summary).toEqual(
        expect.objectContaining({ commitId: expect.stringMatching(/^[0-9a-f]{40}$/) }),
      );
    },
  );

  it('pads the job number to 10 digits in jobArn but not in jobId', async () => {
    const { job } = await client.send(
      new GetJobCommand({ appId: storefront, branchName: 'main', jobId: '12' }),
    );
    expect(job?.summary?.jobId).toBe('12');
    expect(job?.summary?.jobArn?.endsWith('/jobs/0000000012')).toBe(true);
  });

  it('sends timestamps the SDK parses into Dates with millisecond precision', async () => {
    const wire = la.world.getJobWire(storefront, 'main', '5');
    const { job } = await client.send(
      new GetJobCommand({ appId: storefront, branchName: 'main', jobId: '5' }),
    );
    const startSeconds = wire?.job.summary.startTime;
    expect(typeof startSeconds).toBe('number');
    expect(job?.summary?.startTime?.getTime()).toBe(Math.round((startSeconds ?? 0) * 1000));
    // Seeded times carry sub-second parts, so a loss of precision would show.
    const all = [job?.summary?.commitTime, job?.summary?.startTime, job?.summary?.endTime].map(
      (d) => d?.getTime() ?? 0,
    );
    expect(all.some((ms) => ms % 1000 !== 0)).toBe(true);
    expect(job?.summary?.endTime?.getTime()).toBe(
      Math.round((wire?.job.summary.endTime ?? 0) * 1000),
    );
    for (const step of job?.steps ?? []) {
      expect(step.startTime).toBeInstanceOf(Date);
      expect(step.endTime).toBeInstanceOf(Date);
    }
  });

  it.each(UNICODE_BRANCHES)('starts a RELEASE job on %s and gets it back', async (name) => {
    const before = await client.send(new GetBranchCommand({ appId: storefront, branchName: name }));
    const { jobSummary } = await client.send(
      new StartJobCommand({
        appId: storefront,
        branchName: name,
        jobType: 'RELEASE',
        jobReason: 'test',
      }),
    );
    expect(jobSummary?.jobType).toBe('RELEASE');
    expect(jobSummary?.status).toBe('PENDING');
    expect(jobSummary?.jobId).toBe(String(Number(before.branch?.totalNumberOfJobs) + 1));
    expect(jobSummary?.startTime?.getTime()).toBe(la.clock.nowMs());
    const { job } = await client.send(
      new GetJobCommand({ appId: storefront, branchName: name, jobId: jobSummary?.jobId }),
    );
    expect(job?.summary).toEqual(jobSummary);
    expect(job?.steps).toEqual([]);
  });

  it('retries a job with RETRY, reusing its commit', async () => {
    const original = la.world.getJobSummaryWire(storefront, 'develop', '4');
    const { jobSummary } = await client.send(
      new StartJobCommand({
        appId: storefront,
        branchName: 'develop',
        jobType: 'RETRY',
        jobId: '4',
      }),
    );
    expect(jobSummary?.jobType).toBe('RETRY');
    expect(jobSummary?.commitId).toBe(original?.commitId);
    expect(jobSummary?.commitMessage).toBe(original?.commitMessage);
  });

  it('rejects RETRY without a jobId and MANUAL with the live service wording', async () => {
    const retry = await rejection(
      client.send(new StartJobCommand({ appId: storefront, branchName: 'main', jobType: 'RETRY' })),
    );
    expect(retry).toBeInstanceOf(BadRequestException);
    expect(retry.message).toBe('jobId is required when jobType is RETRY');
    const manual = await rejection(
      client.send(
        new StartJobCommand({ appId: storefront, branchName: 'main', jobType: 'MANUAL' }),
      ),
    );
    expect(manual).toBeInstanceOf(BadRequestException);
    expect(manual.message).toBe('The requested jobType MANUAL does not support.');
  });

  it('stops a running job: CANCELLING at once', async () => {
    const key = newestJob('RUNNING');
    const { jobSummary } = await client.send(new StopJobCommand(key));
    expect(jobSummary?.jobId).toBe(key.jobId);
    expect(jobSummary?.status).toBe('CANCELLING');
  });

  it('deletes a finished job, returns its summary, then reports it missing', async () => {
    const key = newestJob('SUCCEED');
    const expected = la.world.getJobSummaryWire(key.appId, key.branchName, key.jobId);
    const { jobSummary } = await client.send(new DeleteJobCommand(key));
    expect(jobSummary?.jobId).toBe(key.jobId);
    expect(jobSummary?.status).toBe('SUCCEED');
    expect(jobSummary?.commitId).toBe(expected?.commitId);
    const error = await rejection(client.send(new GetJobCommand(key)));
    expect(error).toBeInstanceOf(NotFoundException);
    expect(error.message).toBe(`Job ${key.jobId} not found`);
  });

  it('starts a manual deployment with DEPLOY and VERIFY steps from a source URL', async () => {
    const docs = la.world.apps().find((a) => a.name === 'docs-portal')?.appId ?? '';
    const { jobSummary } = await client.send(
      new StartDeploymentCommand({
        appId: docs,
        branchName: 'preview',
        sourceUrl: 's3://bucket/site.zip',
        sourceUrlType: 'ZIP',
      }),
    );
    expect(jobSummary).toEqual(
      expect.objectContaining({
        jobType: 'MANUAL',
        commitId: 'HEAD',
        sourceUrl: 's3://bucket/site.zip',
        sourceUrlType: 'ZIP',
        status: 'PENDING',
      }),
    );
    la.clock.advance(10 * 60_000);
    const { job } = await client.send(
      new GetJobCommand({ appId: docs, branchName: 'preview', jobId: jobSummary?.jobId }),
    );
    expect(job?.steps?.map((s) => s.stepName)[0]).toBe('DEPLOY');
    expect(['SUCCEED', 'FAILED']).toContain(job?.summary?.status);
  });
});

describe('artifacts', () => {
  it("lists a finished job's test artifacts and hands out a URL that downloads", async () => {
    const key = la.world.listJobKeys({
      appId: storefront,
      branchName: 'main',
      status: 'SUCCEED',
    })[0];
    if (key === undefined) throw new Error('no finished job');
    const { artifacts } = await client.send(new ListArtifactsCommand(key));
    expect(artifacts?.length).toBeGreaterThanOrEqual(4);
    expect(artifacts?.map((a) => a.artifactFileName)).toContain('cypress/reports/mochawesome.json');
    const first = artifacts?.[0];
    const out = await client.send(new GetArtifactUrlCommand({ artifactId: first?.artifactId }));
    expect(out.artifactId).toBe(first?.artifactId);
    expect(out.artifactUrl?.startsWith(`${la.url}/_files/`)).toBe(true);
    const download = await fetch(out.artifactUrl ?? '');
    expect(download.status).toBe(200);
    expect((await download.arrayBuffer()).byteLength).toBeGreaterThan(10);
  });

  it('answers a file URL given a SigV4 expiry that has passed with 403 "Request has expired", as S3 does', async () => {
    const key = la.world.listJobKeys({ appId: storefront, status: 'SUCCEED' })[0];
    if (key === undefined) throw new Error('no finished job');
    const { job } = await client.send(new GetJobCommand(key));
    const logUrl = job?.steps?.[0]?.logUrl ?? '';
    const signedAt = (at: number) => new Date(at).toISOString().replace(/[-:]|\.\d{3}/g, '');
    const now = la.clock.nowMs();
    const fresh = await fetch(`${logUrl}?X-Amz-Date=${signedAt(now - 60_000)}&X-Amz-Expires=3600`);
    expect(fresh.status).toBe(200);
    const expired = await fetch(
      `${logUrl}?X-Amz-Date=${signedAt(now - 7_200_000)}&X-Amz-Expires=3600`,
    );
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('<Message>Request has expired</Message>');
    // The emulator's own URLs, without a signature, never expire.
    expect((await fetch(logUrl)).status).toBe(200);
  });

  it('lists no artifacts for a job without a TEST step', async () => {
    const marketing = la.world.apps().find((a) => a.name === 'marketing-site')?.appId ?? '';
    const { artifacts } = await client.send(
      new ListArtifactsCommand({ appId: marketing, branchName: 'main', jobId: '1' }),
    );
    expect(artifacts).toEqual([]);
  });
});

describe('errors', () => {
  it.each([
    [
      'an unknown app',
      { appId: 'dnotthere000000', branchName: 'main', jobId: '1' },
      'App dnotthere000000 not found',
    ],
    [
      'an unknown branch',
      { appId: '', branchName: 'nope', jobId: '1' },
      'Branch nope not found for app',
    ],
    ['an unknown job', { appId: '', branchName: 'main', jobId: '99999' }, 'Job 99999 not found'],
  ])('answers 404 NotFoundException, not retried, for %s', async (_what, input, message) => {
    const retrying = clientFor(la, { maxAttempts: 3 });
    const error = await rejection(
      retrying.send(new GetJobCommand({ ...input, appId: input.appId || storefront })),
    );
    retrying.destroy();
    expect(error).toBeInstanceOf(NotFoundException);
    expect(error.message).toContain(message);
    expect(metadataOf(error).httpStatusCode).toBe(404);
    expect(metadataOf(error).attempts).toBe(1);
    expect(metadataOf(error).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 404 for an unknown artifact', async () => {
    const error = await rejection(client.send(new GetArtifactUrlCommand({ artifactId: 'nope' })));
    expect(error).toBeInstanceOf(NotFoundException);
    expect(error.message).toBe('Artifact nope not found');
  });

  it.each([
    [
      'an appId that breaks the pattern',
      () => client.send(new GetAppCommand({ appId: 'BAD!!' })),
      "at 'appId'",
    ],
    [
      'an appId longer than 20',
      () => client.send(new GetAppCommand({ appId: `d${'a'.repeat(20)}` })),
      "at 'appId'",
    ],
    ['an empty appId', () => client.send(new GetAppCommand({ appId: '' })), "at 'appId'"],
    [
      'an empty branchName',
      () => client.send(new GetBranchCommand({ appId: 'dabc', branchName: '' })),
      "at 'branchName'",
    ],
    [
      'a branchName of 256 characters',
      () => client.send(new GetBranchCommand({ appId: 'dabc', branchName: 'x'.repeat(256) })),
      "at 'branchName'",
    ],
    [
      'a non-numeric jobId',
      () => client.send(new GetJobCommand({ appId: 'dabc', branchName: 'main', jobId: '7a' })),
      "at 'jobId'",
    ],
    [
      'maxResults 0',
      () => client.send(new ListJobsCommand({ appId: 'dabc', branchName: 'main', maxResults: 0 })),
      "at 'maxResults'",
    ],
    [
      'maxResults 51 on ListJobs',
      () => client.send(new ListJobsCommand({ appId: 'dabc', branchName: 'main', maxResults: 51 })),
      "at 'maxResults'",
    ],
    [
      'maxResults 101 on ListApps',
      () => client.send(new ListAppsCommand({ maxResults: 101 })),
      "at 'maxResults'",
    ],
    [
      'a nextToken over 2000 characters',
      () => client.send(new ListAppsCommand({ nextToken: 'x'.repeat(2001) })),
      "at 'nextToken'",
    ],
    [
      'a jobReason over 255 characters',
      () =>
        client.send(
          new StartJobCommand({
            appId: 'dabc',
            branchName: 'main',
            jobType: 'RELEASE',
            jobReason: 'r'.repeat(256),
          }),
        ),
      "at 'jobReason'",
    ],
    [
      'a commitMessage over 10000 characters',
      () =>
        client.send(
          new StartJobCommand({
            appId: 'dabc',
            branchName: 'main',
            jobType: 'RELEASE',
            commitMessage: 'm'.repeat(10001),
          }),
        ),
      "at 'commitMessage'",
    ],
    [
      'a jobType outside the enum',
      () =>
        client.send(
          new StartJobCommand({
            appId: 'dabc',
            branchName: 'main',
            jobType: 'NIGHTLY' as 'RELEASE',
          }),
        ),
      "at 'jobType'",
    ],
    [
      'a sourceUrl that is not s3/http(s)',
      () =>
        client.send(
          new StartDeploymentCommand({
            appId: 'dabc',
            branchName: 'main',
            sourceUrl: 'ftp://x/y.zip',
          }),
        ),
      "at 'sourceUrl'",
    ],
  ])('answers 400 BadRequestException for %s', async (_what, command, member) => {
    const error = await rejection(command());
    expect(error).toBeInstanceOf(BadRequestException);
    expect(error.message).toContain(member);
    expect(metadataOf(error).httpStatusCode).toBe(400);
  });

  it('answers 400 BadRequestException for a malformed JSON body', async () => {
    const response = await fetch(`${la.url}/apps/${storefront}/branches/main/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jobType": "RELEASE",',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('BadRequestException');
    const body = (await response.json()) as { message: string };
    expect(body.message).toMatch(/^Could not parse request body into json/);
  });

  it('answers an unknown route with 404 UnknownOperationException and a wrong method with 405', async () => {
    const unknown = await fetch(`${la.url}/webhooks/abc`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(unknown.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await unknown.json()).toEqual({
      message: 'No Amplify operation matches GET /webhooks/abc',
    });
    const wrongMethod = await fetch(`${la.url}/apps/${storefront}`, { method: 'PUT' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect(wrongMethod.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  });
});

describe('wire details', () => {
  it('sends a request id, a JSON content type and the real wall-clock Date on every response', async () => {
    la.clock.advance(0);
    for (const path of [`/apps/${storefront}`, '/apps/dnope', '/nothing']) {
      const response = await fetch(`${la.url}${path}`);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
      const date = Date.parse(response.headers.get('date') ?? '');
      expect(Math.abs(date - Date.now())).toBeLessThan(5_000);
    }
  });

  it('decodes labels after splitting the path, so %2F stays inside a branch name', async () => {
    const response = await fetch(
      `${la.url}/apps/${storefront}/branches/${label('feature/login')}/jobs/1`,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { job: { summary: { jobArn: string } } };
    expect(body.job.summary.jobArn).toContain('/branches/feature/login/jobs/0000000001');
  });

  it('never puts __type in a success payload', async () => {
    for (const path of [
      '/apps',
      `/apps/${storefront}/branches`,
      `/apps/${storefront}/branches/main/jobs/2`,
    ]) {
      const text = await (await fetch(`${la.url}${path}`)).text();
      expect(text).not.toContain('__type');
    }
  });
});
