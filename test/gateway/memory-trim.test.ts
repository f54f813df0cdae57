import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAmplify, startLocalAmplify } from '../../src/local-amplify/index.js';
import {
  memoryReducingCollector,
  startIdleMemoryTrim,
} from '../../src/observability/memory-trim.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { jobsFromDistinctBranches } from '../support/world.js';

const MB = 1024 * 1024;
const V8_MAJOR = Number(process.versions.v8.split('.')[0]);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TRIM_MODULE = fileURLToPath(
  new URL('../../src/observability/memory-trim.ts', import.meta.url),
);

/** A trim with a hand-moved clock, request count and resident set; `collections` counts its GCs. */
function harness(idleMs = 1000, minGrowthBytes = 16 * MB) {
  const state = { now: 0, requests: 0, rss: 100 * MB, collections: 0, rssAfterCollect: 90 * MB };
  const trim = startIdleMemoryTrim({
    idleMs,
    minGrowthBytes,
    checkEveryMs: 0,
    requests: () => state.requests,
    now: () => state.now,
    residentBytes: () => state.rss,
    collect: () => {
      state.collections++;
      state.rss = state.rssAfterCollect;
    },
  });
  return { state, trim };
}

/** An unlabelled sample (e.g. a histogram's `_count`) from a gateway process's /metrics. */
async function scrape(gateway: GatewayProcess, name: string): Promise<number> {
  const text = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
  const value = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text)?.[1];
  if (value === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(value);
}

describe('idle memory trim: when it collects', () => {
  it('collects once after a quiet spell that follows growth, and reports what it did', () => {
    const { state, trim } = harness();
    state.requests = 50;
    state.rss = 140 * MB;
    state.now = 100;
    expect(trim.check()).toBeNull(); // requests arrived since the last look
    state.now = 1099;
    expect(trim.check()).toBeNull(); // quiet for 999 ms only
    state.now = 1100;
    state.rssAfterCollect = 105 * MB;
    expect(trim.check()).toEqual({ beforeBytes: 140 * MB, afterBytes: 105 * MB, ms: 0 });
    expect(state.collections).toBe(1);
    // Still quiet, and the resident set stays where the trim left it: nothing more to do.
    state.now = 60_000;
    expect(trim.check()).toBeNull();
    expect(state.collections).toBe(1);
  });

  it('never collects while requests keep arriving, however much it grew', () => {
    const { state, trim } = harness();
    state.rss = 500 * MB;
    for (let t = 500; t <= 20_000; t += 500) {
      state.now = t;
      state.requests++;
      expect(trim.check()).toBeNull();
    }
    expect(state.collections).toBe(0);
  });

  it('leaves a resident set that grew less than the threshold alone', () => {
    const { state, trim } = harness(1000, 16 * MB);
    state.rss = 100 * MB + 16 * MB - 1;
    state.now = 5000;
    expect(trim.check()).toBeNull();
    state.rss = 100 * MB + 16 * MB;
    expect(trim.check()).not.toBeNull();
  });

  it('measures growth from where the last trim left it, so the next burst is trimmed too', () => {
    const { state, trim } = harness();
    state.rss = 150 * MB;
    state.rssAfterCollect = 110 * MB;
    state.now = 2000;
    expect(trim.check()).not.toBeNull();
    // A second burst: 110 -> 130 MB (20 MB over where the trim left it), then quiet again.
    state.requests = 10;
    state.rss = 130 * MB;
    state.now = 3000;
    expect(trim.check()).toBeNull();
    state.now = 3999;
    expect(trim.check()).toBeNull(); // quiet since the look at 3000: not yet 1000 ms
    state.now = 4000;
    expect(trim.check()).not.toBeNull();
    expect(state.collections).toBe(2);
  });

  it('looks on its own at the interval it was given, and stops looking when told', async () => {
    let looks = 0;
    const trim = startIdleMemoryTrim({
      idleMs: 10,
      minGrowthBytes: MB,
      checkEveryMs: 5,
      requests: () => {
        looks++;
        return 0;
      },
      collect: () => undefined,
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    trim.stop();
    const stoppedAt = looks;
    expect(stoppedAt).toBeGreaterThan(2);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(looks).toBe(stoppedAt);
  });
});

describe('idle memory trim: the real collection', () => {
  it('is unavailable unless Node was started with --expose-gc', () => {
    expect('gc' in globalThis).toBe(false);
    expect(memoryReducingCollector()).toBeNull();
  });

  it('frees what the heap held as garbage (a Node started with --expose-gc)', () => {
    // About 40 MB of objects that live long enough to reach the old generation, then garbage;
    // the child prints how much the collection freed.
    const script = `
      const { getHeapStatistics } = await import('node:v8');
      const { memoryReducingCollector } = await import(${JSON.stringify(TRIM_MODULE)});
      const collect = memoryReducingCollector();
      let held = [];
      for (let i = 0; i < 400_000; i++) held.push({ index: i, text: 'row ' + i + ' of garbage' });
      const withGarbage = getHeapStatistics().used_heap_size;
      held = null;
      collect();
      console.log(withGarbage - getHeapStatistics().used_heap_size);
    `;
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
    );
    expect(child.stderr).toBe('');
    expect(Number(child.stdout.trim())).toBeGreaterThan(10 * MB);
  });
});

describe('idle memory trim in the gateway process', () => {
  let la: LocalAmplify;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    la = await startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 1, speed: 0 });
    gateway = await startGatewayProcess(la, {
      NODE_OPTIONS: '--expose-gc',
      MEMORY_TRIM_IDLE_MS: '400',
      MEMORY_TRIM_MIN_GROWTH_BYTES: String(MB),
    });
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await la?.close();
  });

  const trimLines = () =>
    gateway.lines().filter((l) => l.msg === 'memory trimmed after a quiet spell');

  it('does not trim while GraphQL requests keep coming, then trims once they stop, probes or not', async () => {
    const jobs = jobsFromDistinctBranches(la, 8);
    const query = `query Job($appId: ID!, $branchName: String!, $jobId: ID!) {
      job(appId: $appId, branchName: $branchName, jobId: $jobId) { jobId summary { status } steps { stepName } }
    }`;
    // A request every 50 ms for 2 s (the trim waits for 400 ms without one).
    const busyFrom = Date.now();
    for (let i = 0; i < 40; i++) {
      const job = jobs[i % jobs.length];
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables: { ...job, n: i } }),
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const busyUntil = Date.now();
    // One may have run before the first request (start-up growth, quiet); none during the traffic.
    const during = trimLines().filter(
      (l) => Number(l.time) > busyFrom + 500 && Number(l.time) < busyUntil,
    );
    expect(during).toEqual([]);

    // Probes and scrapes keep coming (every 100 ms, well inside the 400 ms): they are not traffic.
    const base = gateway.url.replace('/graphql', '');
    const probing = setInterval(() => {
      for (const path of ['/health', '/metrics']) {
        fetch(`${base}${path}`).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        );
      }
    }, 100);
    const trimmed = await gateway
      .waitForLine(
        (l) => l.msg === 'memory trimmed after a quiet spell' && Number(l.time) >= busyUntil,
        15_000,
      )
      .finally(() => clearInterval(probing));
    expect(trimmed).toMatchObject({
      rssBeforeMb: expect.any(Number),
      rssAfterMb: expect.any(Number),
      pauseMs: expect.any(Number),
    });
    const count = await scrape(gateway, 'gateway_memory_trim_pause_seconds_count');
    expect(count).toBe(trimLines().length);
  }, 60_000);

  it('says at start that the trim is off when Node was started without --expose-gc', async () => {
    const bare = await startGatewayProcess(la, { MEMORY_TRIM_IDLE_MS: '400' });
    try {
      const warning = await bare.waitForLine(
        (l) => String(l.msg).startsWith('the idle memory trim (MEMORY_TRIM_IDLE_MS) is off'),
        10_000,
      );
      expect(warning.level).toBe(40);
    } finally {
      await bare.stop();
    }
  }, 60_000);
});

describe("waking V8's memory reducer (MEMORY_REDUCER_WAKE_MS)", () => {
  let la: LocalAmplify;
  let woken: GatewayProcess;
  let asleep: GatewayProcess;
  // The image's heap flags, so that V8 sizes its heap as in the container; no trim, so that only
  // V8's own reducer can give memory back.
  const IMAGE_HEAP = { NODE_OPTIONS: '--max-old-space-size=128 --max-semi-space-size=4' };

  beforeAll(async () => {
    la = await startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 1, speed: 0 });
    [woken, asleep] = await Promise.all([
      startGatewayProcess(la, {
        ...IMAGE_HEAP,
        MEMORY_TRIM_IDLE_MS: '0',
        MEMORY_REDUCER_WAKE_MS: '1000',
      }),
      startGatewayProcess(la, { ...IMAGE_HEAP, MEMORY_TRIM_IDLE_MS: '0' }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([woken?.stop(), asleep?.stop()]);
    await la?.close();
  });

  /** V8's committed heap, from a gateway's /metrics. */
  const heapTotal = (gateway: GatewayProcess) => scrape(gateway, 'nodejs_heap_size_total_bytes');

  /** A burst of job-history pages (ListJobs, GetJob per job, then the caches): the heap grows. */
  async function burst(
    gateway: GatewayProcess,
    branches: Array<{ appId: string; branchName: string }>,
  ) {
    const query = `query History($appId: ID!, $branchName: String!, $first: Int!) {
      branch(appId: $appId, branchName: $branchName) {
        jobs(first: $first) { nodes { jobId summary { status commitMessage } steps { stepName logUrl } } }
      }
    }`;
    let next = 0;
    const worker = async () => {
      while (next < 600) {
        const branch = branches[next++ % branches.length];
        const response = await fetch(gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query, variables: { ...branch, first: 20 } }),
        });
        expect(response.status).toBe(200);
        await response.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  // The wake-up answers V8 13 and later (Node 24, the production target). Node 20's V8 (11) judges
  // allocation rates over its last samples differently and its reducer takes its own time, with
  // or without the wake-up: it gave the heap back within 30 s here, but not on a busy CI machine.
  it.skipIf(V8_MAJOR < 13)(
    'gives a burst’s heap back once traffic stops, which V8 alone does not do on Node 24',
    async () => {
      const said = await woken.waitForLine(
        (l) => String(l.msg).startsWith("waking V8's memory reducer"),
        10_000,
      );
      expect(said).toMatchObject({ everyMs: 1000 });
      const branches = jobsFromDistinctBranches(la, 12).map(({ appId, branchName }) => ({
        appId,
        branchName,
      }));
      await Promise.all([burst(woken, branches), burst(asleep, branches)]);
      const after = { woken: await heapTotal(woken), asleep: await heapTotal(asleep) };
      // Quiet now, but for a scrape a second (which is not enough to look busy to V8).
      const lowest = { ...after };
      for (let s = 0; s < 30 && lowest.woken > after.woken * 0.75; s++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        lowest.woken = Math.min(lowest.woken, await heapTotal(woken));
        lowest.asleep = Math.min(lowest.asleep, await heapTotal(asleep));
      }
      // Measured: a third less (67 to 44 MB on Node 24).
      expect(lowest.woken).toBeLessThanOrEqual(after.woken * 0.75);
      // In that time its twin without the wake-up gave back less: typically a tenth after 30 s,
      // once a fifth on a busy CI machine, which is why this compares the two rather than holding
      // the twin to a fixed share. If this fails, V8's reducer works alone again and
      // MEMORY_REDUCER_WAKE_MS can go.
      expect(lowest.asleep / after.asleep).toBeGreaterThan(lowest.woken / after.woken);
    },
    90_000,
  );
});
