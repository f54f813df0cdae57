/**
 * Benchmark of the local Amplify: startup time, then autocannon against GetJob (and ListJobs) for
 * ~5 s per run at a few concurrencies. The emulator runs in a child process so the load
 * generator does not share its event loop. Run: `npx tsx bench/local-amplify.ts`. Not part of the tests.
 */

import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { startLocalAmplify } from '../src/local-amplify/index.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { average: number; p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
}) => Promise<AutocannonResult>;

// autocannon ships no type declarations; this is the slice of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const DURATION_S = 5;
const CONCURRENCIES = [1, 10, 50];

interface Target {
  url: string;
  finishedJob: string;
  runningJob: string;
  listJobs: string;
}

async function serve(): Promise<void> {
  const la = await startLocalAmplify({ port: 0, seed: 1, speed: 0 });
  const keys = la.world.listJobKeys();
  const path = (k: { appId: string; branchName: string; jobId: string }) =>
    `${la.url}/apps/${k.appId}/branches/${encodeURIComponent(k.branchName)}/jobs/${k.jobId}`;
  const finished = keys.find((k) => k.status === 'SUCCEED' && k.branchName === 'main');
  const running = keys.find((k) => k.status === 'RUNNING');
  if (finished === undefined || running === undefined) throw new Error('demo world lacks jobs');
  const target: Target = {
    url: la.url,
    finishedJob: path(finished),
    runningJob: path(running),
    listJobs: `${la.url}/apps/${finished.appId}/branches/main/jobs?maxResults=50`,
  };
  process.send?.(target);
  process.once('message', () => {
    la.close().then(() => process.exit(0));
  });
}

async function measureStartup(): Promise<{ best: number; median: number }> {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const started = performance.now();
    const la = await startLocalAmplify({ port: 0, seed: i + 1 });
    times.push(performance.now() - started);
    await la.close();
  }
  times.sort((a, b) => a - b);
  return { best: times[0] ?? 0, median: times[Math.floor(times.length / 2)] ?? 0 };
}

function row(name: string, connections: number, r: AutocannonResult): string {
  const cells = [
    name.padEnd(22),
    String(connections).padStart(5),
    Math.round(r.requests.average).toString().padStart(9),
    r.latency.p50.toFixed(1).padStart(8),
    r.latency.p99.toFixed(1).padStart(8),
    r.latency.max.toFixed(1).padStart(8),
    String(r.errors + r.timeouts + r.non2xx).padStart(7),
  ];
  return cells.join(' ');
}

async function main(): Promise<void> {
  const startup = await measureStartup();
  console.log(
    `startup (startLocalAmplify to listening, world generated): best ${startup.best.toFixed(1)} ms, median ${startup.median.toFixed(1)} ms`,
  );

  const server = fork(new URL(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'] });
  const target = await new Promise<Target>((resolve, reject) => {
    server.once('message', (message) => resolve(message as Target));
    server.once('error', reject);
  });
  console.log(
    `\nautocannon, ${DURATION_S} s per run, emulator in its own process (${process.version})`,
  );
  console.log('run                    conns     req/s  p50 ms  p99 ms  max ms  errors');
  const runs: [string, string, number[]][] = [
    ['GetJob (finished)', target.finishedJob, CONCURRENCIES],
    ['GetJob (running)', target.runningJob, [10]],
    ['ListJobs (50 jobs)', target.listJobs, [10]],
  ];
  for (const [name, url, concurrencies] of runs) {
    for (const connections of concurrencies) {
      const result = await autocannon({ url, connections, duration: DURATION_S });
      console.log(row(name, connections, result));
    }
  }
  server.send('stop');
  await new Promise((resolve) => server.once('exit', resolve));
}

(process.argv.includes('--serve') ? serve() : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
