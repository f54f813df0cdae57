import { request } from 'node:http';
import { GetJobCommand, StopJobCommand } from '@aws-sdk/client-amplify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import { clientFor, rejection, startFrozen } from './helpers.js';

const MiB = 1024 * 1024;

let la: LocalAmplify;
let client: ReturnType<typeof clientFor>;
let key: { appId: string; branchName: string; jobId: string };
let logUrl: string;

beforeAll(async () => {
  la = await startFrozen({ seed: 'huge' });
  client = clientFor(la);
  const found = la.world.quirkJobs().find((q) => q.kind === 'hugeLog');
  if (found === undefined) throw new Error('no hugeLog quirk job');
  key = { appId: found.appId, branchName: found.branchName, jobId: found.jobId };
  const { job } = await client.send(new GetJobCommand(key));
  logUrl = job?.steps?.find((s) => s.stepName === 'BUILD')?.logUrl ?? '';
});

afterAll(async () => {
  client.destroy();
  await la.close();
});

/** Reads the first chunk of a download, then hangs up; resolves with what arrived. */
function readFirstChunkThenAbort(
  url: string,
): Promise<{ status: number; length: string; chunk: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      res.once('data', (chunk: Buffer) => {
        resolve({
          status: res.statusCode ?? 0,
          length: String(res.headers['content-length']),
          chunk,
        });
        req.destroy();
      });
    });
    req.on('error', (error) => {
      if (!req.destroyed) reject(error);
    });
    req.end();
  });
}

describe('the hugeLog quirk job', () => {
  it('is a finished, pinned job whose BUILD step links a log of several MiB', async () => {
    const { job } = await client.send(new GetJobCommand(key));
    expect(job?.summary?.status).toBe('SUCCEED');
    expect(job?.steps?.map((s) => s.stepName)).toEqual(['BUILD', 'DEPLOY', 'VERIFY']);
    expect(logUrl).toBe(
      `${la.url}/_files/logs/${key.appId}/${key.branchName}/${key.jobId}/BUILD.log`,
    );
    const head = await fetch(logUrl, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect(Number(head.headers.get('content-length'))).toBeGreaterThanOrEqual(5 * MiB);
    expect(await rejection(client.send(new StopJobCommand(key)))).toHaveProperty(
      'name',
      'BadRequestException',
    );
  });

  it('serves deterministic Amplify-style text, many lines, exactly Content-Length bytes', async () => {
    const response = await fetch(logUrl);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(Number(response.headers.get('content-length')));
    const lines = body.toString('utf8').split('\n');
    expect(lines.length).toBeGreaterThan(40_000);
    expect(lines[lines.length - 1]).toBe('');
    for (const line of [lines[0], lines[20_000], lines[lines.length - 2]]) {
      expect(line).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \[(INFO|WARNING)\]: /);
    }
    expect(body.toString('utf8')).toContain('## Build completed successfully');
    const twin = await startFrozen({ seed: 'huge' });
    try {
      const again = await fetch(logUrl.replace(la.url, twin.url));
      expect(Buffer.from(await again.arrayBuffer()).equals(body)).toBe(true);
    } finally {
      await twin.close();
    }
  });

  it('answers byte ranges with 206, and a range past the end with 416', async () => {
    const whole = Buffer.from(await (await fetch(logUrl)).arrayBuffer());
    const first = await fetch(logUrl, { headers: { range: 'bytes=0-99' } });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-99/${whole.length}`);
    expect(first.headers.get('content-length')).toBe('100');
    expect(Buffer.from(await first.arrayBuffer()).equals(whole.subarray(0, 100))).toBe(true);
    const suffix = await fetch(logUrl, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(whole.subarray(-10))).toBe(true);
    const middle = await fetch(logUrl, { headers: { range: `bytes=${MiB}-` } });
    expect(Number(middle.headers.get('content-length'))).toBe(whole.length - MiB);
    await middle.arrayBuffer();
    const past = await fetch(logUrl, { headers: { range: `bytes=${whole.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${whole.length}`);
    const several = await fetch(logUrl, { headers: { range: 'bytes=0-1,5-6' } });
    expect(several.status).toBe(200);
    await several.arrayBuffer();
  });

  it('lets a client hang up after the first chunk and goes on serving, and closes after', async () => {
    const fresh = await startFrozen({ seed: 'huge' });
    try {
      const url = logUrl.replace(la.url, fresh.url);
      for (let i = 0; i < 3; i++) {
        const partial = await readFirstChunkThenAbort(url);
        expect(partial.status).toBe(200);
        expect(Number(partial.length)).toBeGreaterThanOrEqual(5 * MiB);
        expect(partial.chunk.length).toBeLessThan(Number(partial.length));
      }
      const range = await fetch(url, { headers: { range: 'bytes=0-9' } });
      expect(range.status).toBe(206);
      expect((await range.text()).length).toBe(10);
      // Nothing of the abandoned 5 MiB answers is left to wait for: close() resolves.
      await fresh.close();
      expect(fresh.stats.inFlight).toBe(0);
    } finally {
      await fresh.close();
    }
  });

  it('leaves the logs of ordinary jobs as they were', async () => {
    const appId = la.world.apps()[0]?.appId ?? '';
    const ordinary = la.world.getJobWire(appId, 'main', '1')?.job.steps[0]?.logUrl ?? '';
    const response = await fetch(ordinary);
    expect(Number(response.headers.get('content-length'))).toBeLessThan(64 * 1024);
    await response.arrayBuffer();
  });
});
