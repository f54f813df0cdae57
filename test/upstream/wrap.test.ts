/**
 * The one way to wrap an upstream (src/upstream/wrap.ts): every wrapper built on it (single-flight,
 * the cache, the breaker, the call budget, the read log) keeps the methods of an upstream written
 * as a class, whose methods live on its prototype, and passes lifecycle methods through.
 */
import { describe, expect, it } from 'vitest';
import { ReadLog, recordReads } from '../../src/loaders/reads.js';
import type { JobKey, JobRecord } from '../../src/upstream/shapes.js';
import { withSingleFlight } from '../../src/upstream/single-flight.js';
import type { AmplifyUpstream } from '../../src/upstream/upstream.js';
import { wrapCalls } from '../../src/upstream/wrap.js';
import { noUpstream } from '../support/stack.js';

/** An upstream as a class: its methods are on the prototype, not own properties. */
class ClassUpstream {
  getJobs = 0;
  async getJob(key: JobKey): Promise<JobRecord> {
    this.getJobs += 1;
    await new Promise((resolve) => setTimeout(resolve, 10));
    return {
      key,
      summary: {
        jobArn: null,
        jobId: key.jobId,
        commitId: null,
        commitMessage: null,
        commitTime: null,
        startTime: null,
        status: 'SUCCEED',
        endTime: null,
        jobType: null,
        sourceUrl: null,
        sourceUrlType: null,
      },
      steps: [],
    };
  }
  async startJob(): Promise<never> {
    throw new Error('started');
  }
  async region(): Promise<string> {
    return 'eu-west-1';
  }
}

function classUpstream(): ClassUpstream & AmplifyUpstream {
  const instance = new ClassUpstream();
  // The other methods from the stand-in; getJob, startJob and region stay on the prototype.
  Object.setPrototypeOf(Object.getPrototypeOf(instance), noUpstream);
  return instance as ClassUpstream & AmplifyUpstream;
}

const key: JobKey = { appId: 'd1', branchName: 'main', jobId: '7' };

describe('wrapping an upstream', () => {
  it('keeps prototype methods through single-flight, and shares concurrent reads', async () => {
    const inner = classUpstream();
    const wrapped = withSingleFlight(inner);
    const [a, b] = await Promise.all([wrapped.getJob(key), wrapped.getJob(key)]);
    expect(a).toBe(b);
    expect(inner.getJobs).toBe(1);
    await expect(wrapped.startJob({ ...key, jobType: 'RELEASE', reason: null })).rejects.toThrow(
      'started',
    );
    expect(await wrapped.region()).toBe('eu-west-1');
  });

  it('runs every call, with its arguments, through one wrapper, and leaves lifecycle methods alone', async () => {
    const seen: Array<[string, unknown]> = [];
    const wrapped = wrapCalls(classUpstream(), (method, call, args) => {
      seen.push([method, args[0]]);
      return call();
    });
    await wrapped.getJob(key);
    await wrapped.region();
    expect(seen).toEqual([['getJob', key]]);

    const reads = new ReadLog();
    await recordReads(classUpstream(), reads).getJob(key);
    expect(reads.count).toBe(1);
    expect(reads.immutableOnly).toBe(true);
  });
});
