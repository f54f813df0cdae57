import {
  BadRequestException,
  DeleteJobCommand,
  GetJobCommand,
  type GetJobCommandOutput,
  LimitExceededException,
  StartDeploymentCommand,
  StartJobCommand,
  StopJobCommand,
} from '@aws-sdk/client-amplify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_DELAY_MS, type LocalAmplify } from '../../src/local-amplify/index.js';
import { clientFor, metadataOf, rejection, startFrozen } from './helpers.js';

const SECOND = 1000;
const TERMINAL = ['SUCCEED', 'FAILED', 'CANCELLED'];

let la: LocalAmplify;
let client: ReturnType<typeof clientFor>;
let appId: string;

beforeAll(async () => {
  la = await startFrozen({ seed: 'progression', concurrentJobsLimit: 50 });
  client = clientFor(la);
  appId = la.world.apps().find((a) => a.name === 'storefront-web')?.appId ?? '';
});

afterAll(async () => {
  client.destroy();
  await la.close();
});

async function getJob(branchName: string, jobId: string): Promise<GetJobCommandOutput['job']> {
  return (await client.send(new GetJobCommand({ appId, branchName, jobId }))).job;
}

/** Polls GetJob every `stepMs` of virtual time until the job is terminal; returns what it saw. */
async function follow(branchName: string, jobId: string, stepMs = 3 * SECOND) {
  const statuses: string[] = [];
  const stepsSeen: string[][] = [];
  for (let i = 0; i < 2000; i++) {
    const job = await getJob(branchName, jobId);
    const status = job?.summary?.status ?? '';
    if (statuses[statuses.length - 1] !== status) statuses.push(status);
    const names = (job?.steps ?? []).map((s) => s.stepName ?? '');
    if (stepsSeen[stepsSeen.length - 1]?.join() !== names.join()) stepsSeen.push(names);
    if (TERMINAL.includes(status)) return { statuses, stepsSeen, job };
    la.clock.advance(stepMs);
  }
  throw new Error(`job ${jobId} never finished`);
}

describe('job progression on the virtual clock', () => {
  it('moves a started job PENDING -> PROVISIONING -> RUNNING -> SUCCEED or FAILED', async () => {
    const { jobSummary } = await client.send(
      new StartJobCommand({ appId, branchName: 'pr-42', jobType: 'RELEASE' }),
    );
    const jobId = jobSummary?.jobId ?? '';
    const { statuses, stepsSeen, job } = await follow('pr-42', jobId);
    expect(statuses.slice(0, 3)).toEqual(['PENDING', 'PROVISIONING', 'RUNNING']);
    expect(statuses).toHaveLength(4);
    expect(['SUCCEED', 'FAILED']).toContain(statuses[3]);
    // Steps appear one by one as they start.
    expect(stepsSeen[0]).toEqual([]);
    expect(stepsSeen[1]).toEqual(['BUILD']);
    const final = job?.steps ?? [];
    for (const step of final) {
      expect(step.endTime).toBeInstanceOf(Date);
      expect(step.endTime?.getTime()).toBeGreaterThanOrEqual(step.startTime?.getTime() ?? 0);
    }
    if (statuses[3] === 'SUCCEED') {
      expect(final.map((s) => s.stepName)).toEqual(['BUILD', 'TEST', 'DEPLOY', 'VERIFY']);
      expect(final[3]?.screenshots?.['desktop.png']).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/_files\//,
      );
    } else {
      expect(final[final.length - 1]?.status).toBe('FAILED');
      expect(final[final.length - 1]?.statusReason).toEqual(expect.any(String));
    }
    expect(job?.summary?.endTime?.getTime()).toBeGreaterThan(jobSummary?.startTime?.getTime() ?? 0);
  });

  it('shows a running step without endTime, then with endTime once it ends', async () => {
    const { jobSummary } = await client.send(
      new StartJobCommand({ appId, branchName: 'develop', jobType: 'RELEASE' }),
    );
    const jobId = jobSummary?.jobId ?? '';
    let job = await getJob('develop', jobId);
    while ((job?.steps ?? []).length === 0) {
      la.clock.advance(SECOND);
      job = await getJob('develop', jobId);
    }
    expect(job?.steps?.[0]).toEqual(
      expect.objectContaining({ stepName: 'BUILD', status: 'RUNNING' }),
    );
    expect(job?.steps?.[0]?.endTime).toBeUndefined();
    expect(job?.steps?.[0]?.context).toMatch(/^Image: amplify:/);
    while ((job?.steps ?? []).length < 2 && !TERMINAL.includes(job?.summary?.status ?? '')) {
      la.clock.advance(4 * SECOND);
      job = await getJob('develop', jobId);
    }
    expect(job?.steps?.[0]?.endTime).toBeInstanceOf(Date);
    expect(['SUCCEED', 'FAILED']).toContain(job?.steps?.[0]?.status);
  });

  it('stops a job: CANCELLING at once, CANCELLED a few virtual seconds later', async () => {
    const { jobSummary } = await client.send(
      new StartJobCommand({ appId, branchName: 'main', jobType: 'RELEASE' }),
    );
    const jobId = jobSummary?.jobId ?? '';
    la.clock.advance(60 * SECOND);
    const running = await getJob('main', jobId);
    expect(running?.summary?.status).toBe('RUNNING');
    const stoppedAt = la.clock.nowMs();
    const stop = await client.send(new StopJobCommand({ appId, branchName: 'main', jobId }));
    expect(stop.jobSummary?.status).toBe('CANCELLING');
    expect(stop.jobSummary?.endTime).toBeUndefined();
    const cancelling = await getJob('main', jobId);
    expect(cancelling?.steps?.[0]?.status).toBe('CANCELLING');
    la.clock.advance(CANCEL_DELAY_MS - 1);
    expect((await getJob('main', jobId))?.summary?.status).toBe('CANCELLING');
    la.clock.advance(1);
    const cancelled = await getJob('main', jobId);
    expect(cancelled?.summary?.status).toBe('CANCELLED');
    expect(cancelled?.summary?.endTime?.getTime()).toBe(stoppedAt + CANCEL_DELAY_MS);
    expect(cancelled?.steps?.map((s) => s.status)).toEqual(['CANCELLED']);
    expect(cancelled?.steps?.[0]?.statusReason).toMatch(/cancelled/);
    // Later virtual time changes nothing for a cancelled job.
    la.clock.advance(3_600 * SECOND);
    expect(await getJob('main', jobId)).toEqual(cancelled);
  });

  it('refuses to stop a finished job and to delete a running one, without retrying', async () => {
    const retrying = clientFor(la, { maxAttempts: 3 });
    try {
      const finished = la.world.listJobKeys({ appId, branchName: 'main', status: 'SUCCEED' })[0];
      const stop = await rejection(retrying.send(new StopJobCommand({ ...finished! })));
      expect(stop).toBeInstanceOf(BadRequestException);
      expect(stop.message).toBe(
        `Job ${finished?.jobId} has already finished (SUCCEED) and cannot be stopped`,
      );
      expect(metadataOf(stop).attempts).toBe(1);
      const { jobSummary } = await retrying.send(
        new StartJobCommand({ appId, branchName: 'feature/login', jobType: 'RELEASE' }),
      );
      const del = await rejection(
        retrying.send(
          new DeleteJobCommand({ appId, branchName: 'feature/login', jobId: jobSummary?.jobId }),
        ),
      );
      expect(del).toBeInstanceOf(BadRequestException);
      expect(del.message).toMatch(/is PENDING: only finished jobs/);
    } finally {
      retrying.destroy();
    }
  });

  it('starts with seeded jobs in every non-terminal status and moves them along too', async () => {
    const fresh = await startFrozen({ seed: 'progression' });
    try {
      const quirky = new Set(
        fresh.world.quirkJobs().map((q) => `${q.appId}/${q.branchName}/${q.jobId}`),
      );
      const seeded = fresh.world
        .listJobKeys()
        .filter((k) => !TERMINAL.includes(k.status))
        .filter((k) => !quirky.has(`${k.appId}/${k.branchName}/${k.jobId}`));
      expect(new Set(seeded.map((k) => k.status))).toEqual(
        new Set(['CREATED', 'PENDING', 'PROVISIONING', 'RUNNING', 'CANCELLING']),
      );
      fresh.clock.advance(2 * 3_600 * SECOND);
      for (const key of seeded) {
        const wire = fresh.world.getJobSummaryWire(key.appId, key.branchName, key.jobId);
        expect(TERMINAL).toContain(wire?.status);
      }
      // The quirk samples are pinned: they never progress.
      const pinned = fresh.world
        .quirkJobs()
        .map((q) => fresh.world.getJobSummaryWire(q.appId, q.branchName, q.jobId)?.status);
      expect(pinned).toEqual(['PENDING', 'WEIRD_NEW_STATUS', 'SUCCEED', 'RUNNING', 'SUCCEED']);
    } finally {
      await fresh.close();
    }
  });

  it('runs time at the configured speed and freezes it at speed 0', async () => {
    const start = la.clock.nowMs();
    la.clock.setSpeed(3_600);
    await new Promise((resolve) => setTimeout(resolve, 100));
    la.clock.setSpeed(0);
    const moved = la.clock.nowMs() - start;
    expect(moved).toBeGreaterThanOrEqual(3_600 * 90);
    const frozen = la.clock.nowMs();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(la.clock.nowMs()).toBe(frozen);
    expect(() => la.clock.advance(-1)).toThrow(RangeError);
  });
});

describe('the concurrent-jobs quota', () => {
  it('answers the sixth concurrent job with 429 LimitExceededException and frees a slot when a job ends', async () => {
    const quota = await startFrozen({ seed: 'quota' });
    const quotaClient = clientFor(quota);
    try {
      const app = quota.world.apps()[0];
      const docs = quota.world.apps().find((a) => a.name === 'docs-portal')?.appId ?? '';
      const branches = app?.branches.map((b) => b.branchName) ?? [];
      const started: string[] = [];
      // The seeded world has jobs in progress, yet they do not count: all five slots are free.
      for (const branchName of branches.slice(0, 4)) {
        const out = await quotaClient.send(
          new StartJobCommand({ appId: app?.appId, branchName, jobType: 'RELEASE' }),
        );
        started.push(`${branchName}#${out.jobSummary?.jobId}`);
      }
      await quotaClient.send(
        new StartDeploymentCommand({
          appId: docs,
          branchName: 'main',
          sourceUrl: 'https://x.example/a.zip',
        }),
      );
      const error = await rejection(
        quotaClient.send(
          new StartJobCommand({ appId: app?.appId, branchName: branches[4], jobType: 'RELEASE' }),
        ),
      );
      expect(error).toBeInstanceOf(LimitExceededException);
      expect(metadataOf(error).httpStatusCode).toBe(429);
      expect(error.message).toMatch(/limit of 5 concurrent jobs/);

      // Stopping a job frees its slot once it is CANCELLED, not while CANCELLING.
      const [branchName, jobId] = (started[0] ?? '').split('#');
      await quotaClient.send(new StopJobCommand({ appId: app?.appId, branchName, jobId }));
      await expect(
        quotaClient.send(
          new StartJobCommand({ appId: app?.appId, branchName: branches[4], jobType: 'RELEASE' }),
        ),
      ).rejects.toBeInstanceOf(LimitExceededException);
      quota.clock.advance(CANCEL_DELAY_MS);
      const sixth = await quotaClient.send(
        new StartJobCommand({ appId: app?.appId, branchName: branches[4], jobType: 'RELEASE' }),
      );
      expect(sixth.jobSummary?.status).toBe('PENDING');

      // Jobs that finish on their own free their slots too.
      quota.clock.advance(3_600 * SECOND);
      for (let i = 0; i < 5; i++) {
        await quotaClient.send(
          new StartJobCommand({
            appId: app?.appId,
            branchName: branches[i % 4],
            jobType: 'RELEASE',
          }),
        );
      }
      expect(quota.stats.calls('StartJob')).toBe(4 + 1 + 1 + 1 + 5);
    } finally {
      quotaClient.destroy();
      await quota.close();
    }
  });
});
