/**
 * `npm run bench`: the gateway against a static ceiling, a raw-SDK floor and Mercurius+JIT, all on
 * one CPU with the local Amplify (frozen clock, seed 1), the load generator on the other CPU; W4
 * adds two gateway processes sharing one Redis. Loopback only; every child is killed on the way
 * out. See docs/performance.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import type { JobKey } from '../src/upstream/shapes.js';
import { HELP, parseBenchArgs, type Workload as WorkloadName } from './args.js';
import { ensureBuilt } from './build.js';
import { postJson } from './http.js';
import { runW6, W6_JOBS, type W6Result, w6Env, w6Table } from './live.js';
import { type Generator, hasWrk } from './load.js';
import {
  type BenchContext,
  type ColdStartResult,
  type IdleResult,
  runColdStarts,
  runIdle,
  runSoak,
  runThroughput,
  runW3,
  runW4,
  type SoakResult,
  type ThroughputResult,
  type W3Result,
  type W4Result,
  type Workload,
} from './measure.js';
import { killChildrenOnExit, pinSelf, readClockTicks, runToEnd } from './processes.js';
import { type ProfileResult, runProfiles } from './profile.js';
import { hasRedisServer, startRedis } from './redis.js';
import {
  coldTable,
  evaluateGoals,
  goalsTable,
  idleTable,
  soakTable,
  throughputTable,
  w3Table,
  w4Table,
} from './report.js';
import {
  callsPerRequest,
  compareWithGateway,
  keptForTheInterval,
  sharesThroughRedis,
  takeAnswer,
  takeGatewayAnswer,
} from './sanity.js';
import {
  ALIASES_OPERATION,
  ALIASES_QUERY,
  aliasesVariables,
  DISTINCT_JOBS,
  JOB_HISTORY_OPERATION,
  JOB_HISTORY_PAGE,
  JOB_HISTORY_QUERY,
  JOB_OPERATION,
  JOB_QUERY,
} from './servers/operations.js';
import {
  containerRuntime,
  preloadProblem,
  startTarget,
  TARGET_LABELS,
  type Target,
  targetEnv,
} from './targets.js';
import { busiestBranch, jobsWithStatus, startJobs, startUpstream } from './upstream-control.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The servers (targets and local Amplify) share this CPU; the load generator and runner use the other. */
const SERVER_CPU = 0;
const LOAD_CPU = 1;
/** W4: this many unfinished jobs, polled by this many connections through two gateways. */
const W4_JOBS = 10;
const W4_CONNECTIONS = 200;
/** The local Amplify's default account (src/local-amplify): any signature is accepted. */
const AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIALOCALAMPLIFY0001',
  AWS_SECRET_ACCESS_KEY: 'local-amplify-secret-access-key',
};

function fail(message: string): never {
  console.error(`\n${'!'.repeat(72)}\nbench: ${message}\n${'!'.repeat(72)}`);
  process.exit(1);
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function jobBody(key: JobKey): string {
  return JSON.stringify({ query: JOB_QUERY, operationName: JOB_OPERATION, variables: key });
}

function workload(name: Workload['name'], title: string, jobs: JobKey[], body: string): Workload {
  return { name, title, jobs, body, expected: '', answers: {} };
}

async function main(): Promise<void> {
  const parsed = parseBenchArgs(process.argv.slice(2));
  if (!parsed.ok) fail(`invalid arguments:\n  - ${parsed.problems.join('\n  - ')}\n\n${HELP}`);
  const { args } = parsed;
  if (args.help) {
    console.log(HELP);
    return;
  }
  const want = (w: WorkloadName) => args.only.has(w);
  killChildrenOnExit();

  if (process.platform !== 'linux')
    fail('the bench reads /proc and pins CPUs with taskset: Linux only');
  if (cpus().length < 2)
    fail(
      `the bench needs 2 CPUs (servers on CPU 0, load on CPU 1); this machine has ${cpus().length}`,
    );
  if (!existsSync(args.node)) fail(`--node ${args.node}: no such file`);
  try {
    await runToEnd('taskset', ['--version'], { timeoutMs: 5_000 });
  } catch {
    fail('taskset is missing: apt-get install -y util-linux');
  }
  await readClockTicks();
  await pinSelf(LOAD_CPU);

  const wrk = await hasWrk();
  if (args.loadgen === 'wrk' && !wrk)
    fail('--loadgen wrk: wrk is not installed (Debian: apt-get install -y wrk)');
  const generator: Generator = args.loadgen ?? (wrk ? 'wrk' : 'autocannon');
  if (args.loadgen === null && !wrk) {
    console.log(
      'load generator: autocannon (wrk not found; `apt-get install -y wrk` for a C load generator that costs less per request)',
    );
  }
  const nodeVersion = (
    await runToEnd(args.node, ['--version'], { timeoutMs: 10_000 })
  ).stdout.trim();
  const loaded = loadConfig();
  if (!loaded.ok)
    fail(
      `the gateway's configuration from this environment is invalid:\n  - ${loaded.problems.join('\n  - ')}`,
    );
  const maxConcurrency = loaded.config.upstream.maxConcurrency;
  // How long the gateway keeps an unfinished job (0 with the cache off).
  const intervalMs = loaded.config.cache?.activeTtlMs ?? 0;
  if (want('W6') && !(await hasRedisServer())) {
    fail(
      'W6 needs redis-server (two gateways share one Redis): apt-get install -y redis-server, or leave W6 out with --only',
    );
  }
  if (want('W4') && !(await hasRedisServer())) {
    fail(
      'W4 needs redis-server (two gateways share one Redis): apt-get install -y redis-server, or leave W4 out with --only',
    );
  }
  const runtime = containerRuntime(ROOT);

  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const loadBefore = loadavg();
  console.log(
    `bench: targets on Node ${nodeVersion} (${args.node}), CPU ${SERVER_CPU}; load generator ${generator} on CPU ${LOAD_CPU}; LOG_LEVEL=${args.logLevel}, ACCESS_LOG=${args.accessLog}; ${args.rounds} round(s) x ${args.seconds} s, ${args.connections} connections`,
  );
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} CPUs, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
  );
  console.log(
    `Node flags of the container (Dockerfile), for every target: NODE_OPTIONS="${runtime.NODE_OPTIONS}" LD_PRELOAD=${runtime.LD_PRELOAD} MALLOC_CONF=${runtime.MALLOC_CONF} MALLOC_ARENA_MAX=${runtime.MALLOC_ARENA_MAX}`,
  );
  const preload = preloadProblem(args.node, runtime);
  if (preload !== null) console.warn(`\n*** WARNING: ${preload} ***\n`);
  const rebuilt = await ensureBuilt(ROOT);

  // The local Amplify runs on the runner's Node whatever --node says, so only the targets change.
  const upstream = await startUpstream(process.execPath, ROOT, SERVER_CPU);
  console.log(`local Amplify: ${upstream.url} (seed 1, clock frozen), CPU ${SERVER_CPU}`);
  const succeeded = await jobsWithStatus(upstream, 'SUCCEED');
  const running = await jobsWithStatus(upstream, 'RUNNING');
  const terminalJob = succeeded[0];
  const runningJob = running[0];
  if (terminalJob === undefined || runningJob === undefined) {
    fail('the local Amplify world (seed 1) has no SUCCEED or no RUNNING job for the workloads');
  }
  // Jobs that never finish (frozen clock), so a cache of finished jobs cannot remove W3's calls.
  const w3Jobs = want('W3') ? await startJobs(upstream, DISTINCT_JOBS) : [];
  const w4Jobs = want('W4') ? await startJobs(upstream, W4_JOBS) : [];
  const w1 = workload(
    'W1',
    'one terminal (SUCCEED) job, every field',
    [terminalJob],
    jobBody(terminalJob),
  );
  const w2 = workload(
    'W2',
    'one RUNNING job, every field (not cacheable: it can still change)',
    [runningJob],
    jobBody(runningJob),
  );
  const w3 = workload(
    'W3',
    `one operation, 100 aliases over ${DISTINCT_JOBS} distinct unfinished jobs, GetJob +50 ms, sequential, one connection`,
    w3Jobs,
    want('W3')
      ? JSON.stringify({
          query: ALIASES_QUERY,
          operationName: ALIASES_OPERATION,
          variables: aliasesVariables(w3Jobs),
        })
      : '',
  );
  // A "recent builds" page: one branch's 20 newest jobs with their steps.
  const historyBranch = await busiestBranch(upstream);
  const w5 = workload(
    'W5',
    `a job-history page: ${JOB_HISTORY_PAGE} newest jobs of one branch with their steps (ListJobs + GetJob per job)`,
    [],
    JSON.stringify({
      query: JOB_HISTORY_QUERY,
      operationName: JOB_HISTORY_OPERATION,
      variables: { ...historyBranch, first: JOB_HISTORY_PAGE },
    }),
  );
  const w4 = workload(
    'W4',
    `${W4_JOBS} unfinished jobs polled by ${W4_CONNECTIONS} connections through two gateway processes sharing one Redis`,
    w4Jobs,
    w4Jobs.length > 0 ? jobBody(w4Jobs[0]!) : '',
  );
  const throughputWorkloads = [w1, w2, w5].filter((w) => want(w.name));
  const needFloor = throughputWorkloads.length > 0 || want('W3');
  const needCeiling = throughputWorkloads.length > 0;

  const env = targetEnv(upstream, AWS_ENV, args.logLevel, runtime, args.accessLog);
  const gateway = await startTarget('gateway', args.node, ROOT, SERVER_CPU, env);
  const floor = needFloor ? await startTarget('floor', args.node, ROOT, SERVER_CPU, env) : null;
  const mercurius = needCeiling
    ? await startTarget('mercurius', args.node, ROOT, SERVER_CPU, env)
    : null;
  console.log(
    `gateway: ${gateway.url}${floor ? `; raw-SDK floor: ${floor.url}` : ''}${mercurius ? `; Mercurius+JIT: ${mercurius.url}` : ''}`,
  );

  // --- Sanity: the gateway's answers, then every other target against them.
  const problems: string[] = [];
  const notes: string[] = [];
  // Every workload whose answer something needs: load runs, W3, cold start (W1), soak (W1, W2).
  const checked = [w1, w2, w3, w5].filter(
    (w) =>
      throughputWorkloads.includes(w) ||
      (w === w3 && want('W3')) ||
      (w === w1 && want('cold')) ||
      ((w === w1 || w === w2) && args.soak),
  );
  for (const w of checked) problems.push(...(await takeGatewayAnswer(gateway, w)));
  let ceiling: Target | null = null;
  const scratch = mkdtempSync(join(tmpdir(), 'amplify-bench-'));
  try {
    if (needCeiling && problems.length === 0) {
      const answersFile = join(scratch, 'answers.json');
      writeFileSync(
        answersFile,
        JSON.stringify({
          answers: throughputWorkloads.map((w) => ({ request: w.body, response: w.expected })),
        }),
      );
      ceiling = await startTarget('ceiling', args.node, ROOT, SERVER_CPU, {
        ...env,
        BENCH_ANSWERS: answersFile,
      });
      console.log(`static ceiling: ${ceiling.url}`);
    }
    if (problems.length === 0) {
      for (const w of checked) {
        const measured = throughputWorkloads.includes(w);
        const others = [
          ...(floor && (measured || w === w3) ? [floor] : []),
          ...(mercurius && measured ? [mercurius] : []),
          ...(ceiling && measured ? [ceiling] : []),
        ];
        for (const target of others) {
          const result = await compareWithGateway(target, w);
          problems.push(...result.problems);
          notes.push(...result.notes);
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    fail(
      `SANITY CHECK FAILED: the targets do not answer the same data; nothing was measured.\n\n${problems.join('\n\n')}`,
    );
  }
  // Amplify calls per request, counted exactly (sequential requests). W1/W2: the floor makes one
  // GetJob; the gateway and Mercurius (same cache) at most one, for the terminal job (W1: a cache
  // may make it 0) and for the RUNNING job (W2), which they may keep for the cache interval and no
  // longer (checked after). W5: the floor makes one ListJobs and one GetJob per job; the gateway and
  // Mercurius at most one ListJobs and one GetBranch (`branch(...)` answers null for a missing
  // branch; their cache keeps both for CACHE_LIST_TTL_MS) and at most one GetJob per job (their
  // cache keeps the finished ones).
  const exactCalls: Record<string, Record<string, Record<string, number>>> = {};
  for (const w of throughputWorkloads) {
    for (const target of [gateway, floor, mercurius]) {
      if (target === null) continue;
      const calls = await callsPerRequest(target, w, upstream, w === w5 ? 3 : 10);
      exactCalls[w.name] = { ...exactCalls[w.name], [target.name]: calls };
      const getJob = calls.GetJob ?? 0;
      const cached = target !== floor;
      const expected =
        w === w5
          ? cached
            ? 'ListJobs at most 1, GetBranch at most 1, GetJob at most 20'
            : `ListJobs 1, GetJob ${JOB_HISTORY_PAGE}`
          : cached
            ? 'GetJob at most 1'
            : 'GetJob exactly 1';
      const allowed =
        w === w5
          ? cached
            ? (calls.ListJobs ?? 0) <= 1 &&
              (calls.GetBranch ?? 0) <= 1 &&
              getJob <= JOB_HISTORY_PAGE
            : calls.ListJobs === 1 && getJob === JOB_HISTORY_PAGE && calls.GetBranch === undefined
          : cached
            ? getJob <= 1
            : getJob === 1;
      if (!allowed) {
        problems.push(
          `${w.name}: the ${TARGET_LABELS[target.name]} made ${JSON.stringify(calls)} calls per request; expected ${expected}`,
        );
      }
      if (cached && w === w2) {
        problems.push(...(await keptForTheInterval(target, w, upstream, intervalMs)));
      }
    }
  }
  if (problems.length > 0) fail(`SANITY CHECK FAILED:\n\n${problems.join('\n\n')}`);
  for (const note of notes) console.log(`sanity: ${note}`);
  if (checked.length > 0)
    console.log(
      `sanity: ${checked.map((w) => w.name).join(', ')}: every target answers the gateway's bytes (${checked.map((w) => `${w.name} ${Buffer.byteLength(w.expected)} B`).join(', ')}); Amplify calls per request as expected`,
    );

  const ctx: BenchContext = {
    args,
    root: ROOT,
    generator,
    autocannonCli: join(ROOT, 'node_modules/autocannon/autocannon.js'),
    upstream,
    serverCpu: SERVER_CPU,
    loadCpu: LOAD_CPU,
    env,
  };

  let throughput: ThroughputResult[] = [];
  if (throughputWorkloads.length > 0 && ceiling && floor && mercurius) {
    throughput = await runThroughput(
      ctx,
      [ceiling, floor, mercurius, gateway],
      throughputWorkloads,
    );
  }
  await ceiling?.process.stop();
  await mercurius?.process.stop();
  let w3Result: W3Result | null = null;
  if (want('W3') && floor) {
    // W3 measures batching and the concurrency cap of one request (issue #5), not the cache: its
    // jobs are unfinished, and a gateway keeping them for CACHE_ACTIVE_TTL_MS would answer the
    // repeats from memory. Its own gateway keeps no unfinished job (the floor keeps nothing).
    const w3Gateway = await startTarget('gateway', args.node, ROOT, SERVER_CPU, {
      ...env,
      CACHE_ACTIVE_TTL_MS: '0',
    });
    try {
      w3Result = await runW3(ctx, [w3Gateway, floor], w3, maxConcurrency);
    } finally {
      await w3Gateway.process.stop();
    }
  }
  await floor?.process.stop();
  let w4Result: W4Result | null = null;
  if (want('W4')) w4Result = await measureW4(ctx, w4, intervalMs);
  let cold: ColdStartResult | null = null;
  if (want('cold')) cold = await runColdStarts(ctx, w1);
  let idle: IdleResult | null = null;
  if (want('idle')) idle = await runIdle(ctx, args.coldStarts);
  let profiles: ProfileResult[] = [];
  if (args.profile) {
    profiles = await runProfiles(
      ctx,
      [w1, w2].filter((w) => w.expected !== ''),
      w1,
      join(ROOT, 'bench/results/profiles', stamp),
    );
  }
  let soak: SoakResult | null = null;
  if (args.soak) soak = await runSoak(ctx, gateway, w1, w2);
  await gateway.process.stop();
  // Last: it moves the local Amplify's clock, which changes the other workloads' jobs.
  let w6Result: W6Result | null = null;
  if (want('W6')) w6Result = await measureW6(ctx);
  await upstream.process.stop();

  const goals = evaluateGoals({
    throughput,
    w3: w3Result,
    w4: w4Result,
    w6: w6Result,
    cold,
    idle,
    soak,
    soakRequested: args.soak,
  });
  const loadAfter = loadavg();
  console.log(`\n${'='.repeat(100)}`);
  console.log(
    `Node ${nodeVersion}, load generator ${generator}, ${args.rounds} round(s) x ${args.seconds} s, ${args.connections} connections, gateway LOG_LEVEL=${args.logLevel}, ACCESS_LOG=${args.accessLog}; medians over rounds`,
  );
  for (const result of throughput) console.log(`\n${throughputTable(result)}`);
  if (w3Result) console.log(`\n${w3Table(w3Result)}`);
  if (w4Result) console.log(`\n${w4Table(w4Result)}`);
  if (w6Result) console.log(`\n${w6Table(w6Result)}`);
  if (cold) console.log(`\n${coldTable(cold)}`);
  if (idle) console.log(`\n${idleTable(idle)}`);
  if (soak) console.log(`\n${soakTable(soak)}`);
  console.log(`\n${goalsTable(goals, nodeVersion)}`);
  console.log(
    `\nload average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} ("other load" = CPU ${SERVER_CPU} time used by processes not under test)`,
  );

  const record = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    node: { path: args.node, version: nodeVersion },
    runnerNode: process.version,
    loadGenerator: generator,
    machine: {
      cpu: cpus()[0]?.model ?? null,
      cpus: cpus().length,
      kernel: release(),
      loadavgBefore: loadBefore,
      loadavgAfter: loadAfter,
    },
    git: {
      commit: git(['rev-parse', 'HEAD']),
      srcChanges: git(['status', '--porcelain', '--', 'src'])
        .split('\n')
        .filter((l) => l !== ''),
    },
    settings: {
      rounds: args.rounds,
      secondsPerRun: args.seconds,
      warmupSeconds: args.warmupSeconds,
      connections: args.connections,
      gatewayLogLevel: args.logLevel,
      gatewayAccessLog: args.accessLog,
      upstreamMaxConcurrency: maxConcurrency,
      quick: args.quick,
      rebuilt,
    },
    containerRuntime: runtime,
    cacheIntervalMs: intervalMs,
    callsPerRequestSequential: exactCalls,
    throughput,
    w3: w3Result,
    w4: w4Result,
    w6: w6Result,
    cold,
    idle,
    soak,
    profiles: profiles.map((p) => ({ ...p, file: p.file.slice(ROOT.length) })),
    goals,
  };
  const resultsDir = join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const json = `${JSON.stringify(record, null, 2)}\n`;
  writeFileSync(join(resultsDir, `${stamp}.json`), json);
  writeFileSync(join(resultsDir, 'latest.json'), json);
  console.log(`results: bench/results/${stamp}.json (and bench/results/latest.json)`);

  const broken = [
    ...throughput.flatMap((r) =>
      Object.entries(r.summary)
        .filter(([, s]) => s.errors > 0 || (s.mismatches ?? 0) > 0)
        .map(([name]) => `${r.workload} ${name}`),
    ),
    ...(w3Result
      ? Object.entries(w3Result.targets)
          .filter(([, t]) => t.wrongAnswers > 0 || !t.exactCalls)
          .map(([name]) => `W3 ${name}`)
      : []),
    ...(w4Result && w4Result.errors > 0 ? ['W4'] : []),
    ...(w6Result && w6Result.failedSubscribers > 0 ? ['W6'] : []),
    ...(cold && !cold.runs.every((r) => r.correct) ? ['cold start'] : []),
    ...(soak?.samples.some((s) => s.errors > 0) ? ['soak'] : []),
  ];
  if (broken.length > 0)
    fail(`requests failed or got wrong answers during measurement: ${broken.join(', ')}`);
}

/**
 * W4: Redis and two gateway processes on the servers' CPU, a sanity check of every job's answer
 * on both and of the sharing itself, then the measured rounds; everything stopped after.
 */
async function measureW4(ctx: BenchContext, w: Workload, intervalMs: number): Promise<W4Result> {
  const redis = await startRedis(ctx.serverCpu);
  const started: Target[] = [];
  try {
    const env = { ...ctx.env, REDIS_URL: redis.url };
    for (let i = 0; i < 2; i++) {
      started.push(await startTarget('gateway', ctx.args.node, ctx.root, ctx.serverCpu, env));
    }
    const [a, b] = started as [Target, Target];
    console.log(`W4: Redis ${redis.url}; gateways ${a.url} and ${b.url}`);
    const bodies = w.jobs.map(jobBody);
    const problems: string[] = [];
    for (const body of bodies) {
      let fromA = '';
      problems.push(
        ...(await takeAnswer(a, w, body, (text) => {
          fromA = text;
        })),
      );
      const fromB = await postJson(b.url, body, false);
      if (fromB.body !== fromA) problems.push(`W4: the two gateways answer ${body} differently`);
    }
    if (problems.length === 0) {
      problems.push(...(await sharesThroughRedis(a, b, bodies[0]!, ctx.upstream, intervalMs)));
    }
    if (problems.length > 0) fail(`SANITY CHECK FAILED:\n\n${problems.join('\n\n')}`);
    console.log(
      `sanity: W4: both gateways answer the same bytes for all ${bodies.length} unfinished jobs, and share their cache through Redis`,
    );
    return await runW4(ctx, [a, b], bodies, W4_CONNECTIONS, intervalMs);
  } finally {
    for (const target of started) await target.process.stop();
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => fail(error instanceof Error ? (error.stack ?? error.message) : String(error)),
);

/**
 * W6: Redis and two gateway processes on the servers' CPU, set up for live status (bench/live.ts),
 * then the subscribers; everything stopped after.
 */
async function measureW6(ctx: BenchContext): Promise<W6Result> {
  const redis = await startRedis(ctx.serverCpu);
  const subscribers = ctx.args.quick ? 100 : 1_000;
  const env = { ...ctx.env, ...w6Env(redis.url, subscribers) };
  const gateways: Target[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      gateways.push(await startTarget('gateway', ctx.args.node, ROOT, ctx.serverCpu, env));
    }
    console.log(
      `W6: Redis ${redis.url}; gateways ${gateways.map((g) => g.url).join(' and ')}; ${W6_JOBS} jobs`,
    );
    return await runW6(ctx.args, ctx.upstream, gateways);
  } finally {
    for (const gateway of gateways) await gateway.process.stop();
    await redis.stop();
  }
}
