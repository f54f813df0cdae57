/**
 * What a request read, for Cache-Control (src/loaders/reads.ts), and how cached answers are written
 * for Redis (src/upstream/cache-formats.ts): with real jobs from the local Amplify through the SDK.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, GatewayError } from '../../src/errors.js';
import { ReadLog, recordReads } from '../../src/loaders/reads.js';
import { type LocalAmplify, startLocalAmplify } from '../../src/local-amplify/index.js';
import {
  appPageFormat,
  appRecordFormat,
  branchPageFormat,
  branchRecordFormat,
  CACHE_FORMAT_VERSION,
  type CacheFormat,
  jobPageFormat,
  jobRecordFormat,
  stepLogFormat,
} from '../../src/upstream/cache-formats.js';
import { createSdkUpstream } from '../../src/upstream/sdk-upstream.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import type { AmplifyUpstream } from '../../src/upstream/upstream.js';
import { testConfig } from '../support/stack.js';

describe('the read log and the cache format, on real jobs', () => {
  let la: LocalAmplify;
  let upstream: AmplifyUpstream;

  const first = (status: string): JobKey => {
    const job = la.world.listJobKeys({ status })[0];
    if (job === undefined) throw new Error(`the demo world has no ${status} job`);
    return { appId: job.appId, branchName: job.branchName, jobId: job.jobId };
  };

  beforeAll(async () => {
    la = await startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 1, speed: 0 });
    upstream = createSdkUpstream({
      config: testConfig({ UPSTREAM_MAX_ATTEMPTS: '1' }).upstream,
      ...la.clientConfig(),
      onUnknownValue: () => {},
      onWireProblem: () => {},
    });
  });
  afterAll(async () => {
    upstream?.destroy();
    await la?.close();
  });

  it('counts only finished jobs as immutable', async () => {
    const reads = new ReadLog();
    const recorded = recordReads(upstream, reads);
    expect(reads.immutableOnly).toBe(false);
    await recorded.getJob(first('SUCCEED'));
    await recorded.getJob(first('CANCELLED'));
    expect(reads.count).toBe(2);
    expect(reads.immutableOnly).toBe(true);
    await recorded.getJob(first('RUNNING'));
    expect(reads.immutableOnly).toBe(false);
  });

  it('counts a failed read, and any read method it does not know, as changing', async () => {
    const failed = new ReadLog();
    const missing = { ...first('SUCCEED'), jobId: '999999' };
    await expect(recordReads(upstream, failed).getJob(missing)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(failed.count).toBe(1);
    expect(failed.immutableOnly).toBe(false);

    // An app (like a branch or a page of a list) may change: never immutable.
    const job = first('SUCCEED');
    const withApp = new ReadLog();
    const recordedApp = recordReads(upstream, withApp);
    await recordedApp.getJob(job);
    await recordedApp.getApp({ appId: job.appId });
    expect(withApp.count).toBe(2);
    expect(withApp.immutableOnly).toBe(false);

    // So does a read method added later that nobody classified.
    const later: AmplifyUpstream & { getWebhook(): Promise<object> } = {
      ...upstream,
      getWebhook: async () => ({}),
    };
    const reads = new ReadLog();
    const recorded = recordReads(later, reads) as typeof later;
    await recorded.getJob(job);
    await recorded.getWebhook();
    expect(reads.count).toBe(2);
    expect(reads.immutableOnly).toBe(false);
    // Lifecycle methods are not reads.
    await recorded.region();
    expect(reads.count).toBe(2);
  });

  it('writes a job with its format version and reads it back equal, dates included', async () => {
    const job = await upstream.getJob(first('FAILED'));
    const text = jobRecordFormat.encode({ value: job });
    expect(JSON.parse(text)).toMatchObject({ v: CACHE_FORMAT_VERSION });
    expect(jobRecordFormat.decode(text)).toEqual({ value: job });
    const decoded = jobRecordFormat.decode(text);
    expect(
      decoded !== null && 'value' in decoded && decoded.value.summary.startTime,
    ).toBeInstanceOf(Date);
  });

  it('writes apps, branches, pages of lists and step logs and reads them back equal', async () => {
    const job = first('SUCCEED');
    const record = await upstream.getJob(job);
    const step = record.steps.find((s) => s.logUrl !== null);
    if (step === undefined || step.logUrl === null) throw new Error('the job has no step log');
    const page = { nextToken: null, maxResults: 5 };
    const samples: Array<[CacheFormat<never>, unknown]> = [
      [appRecordFormat as CacheFormat<never>, await upstream.getApp({ appId: job.appId })],
      [branchRecordFormat as CacheFormat<never>, await upstream.getBranch(job)],
      [appPageFormat as CacheFormat<never>, await upstream.listApps(page)],
      [
        branchPageFormat as CacheFormat<never>,
        await upstream.listBranches({ ...page, appId: job.appId }),
      ],
      [jobPageFormat as CacheFormat<never>, await upstream.listJobs({ ...page, ...job })],
      [
        stepLogFormat as CacheFormat<never>,
        await upstream.getStepLog({
          url: step.logUrl,
          job,
          stepName: step.stepName,
          final: true,
        }),
      ],
    ];
    for (const [format, value] of samples) {
      expect(format.decode(format.encode({ value: value as never }))).toEqual({ value });
    }
    // Dates come back as dates.
    const app = appRecordFormat.decode(
      appRecordFormat.encode({ value: await upstream.getApp({ appId: job.appId }) }),
    );
    expect(app !== null && 'value' in app && app.value.createTime).toBeInstanceOf(Date);
  });

  it('reads NOT_FOUND back as the same catalog error', () => {
    const notFound = new GatewayError(ErrorCode.NOT_FOUND, 'Amplify has no job 9.', {
      upstream: { errorName: 'NotFoundException', httpStatus: 404, requestId: 'r1', attempts: 1 },
    });
    const decoded = jobRecordFormat.decode(jobRecordFormat.encode({ notFound }));
    expect(decoded).not.toBeNull();
    const error = decoded !== null && 'notFound' in decoded ? decoded.notFound : null;
    expect(error).toBeInstanceOf(GatewayError);
    expect(error?.toExtensions()).toEqual(notFound.toExtensions());
    expect(error?.message).toBe(notFound.message);
  });

  it('refuses values of another version or shape', async () => {
    const job = await upstream.getJob(first('SUCCEED'));
    const text = jobRecordFormat.encode({ value: job });
    const otherVersion = JSON.stringify({ ...JSON.parse(text), v: CACHE_FORMAT_VERSION + 1 });
    expect(jobRecordFormat.decode(otherVersion)).toBeNull();
    const parsed = JSON.parse(text) as { value: { summary: Record<string, unknown> } };
    delete parsed.value.summary.status;
    expect(jobRecordFormat.decode(JSON.stringify(parsed))).toBeNull();
    expect(jobRecordFormat.decode('not json')).toBeNull();
  });
});
