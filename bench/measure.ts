/**
 * The measurements: throughput rounds (W1, W2), sequential latency (W3), upstream calls under
 * polling through two replicas (W4), cold start, idle memory and the soak.
 * Every loop is bounded in count and time. Each throughput sample brackets one load-generator run
 * with /proc readings (CPU of the target and of the local Amplify, peak RSS, the other load on the
 * servers' CPU) and the local Amplify's GetJob counter.
 */
import { performance } from 'node:perf_hooks';
import type { JobKey } from '../src/upstream/shapes.js';
import type { BenchArgs } from './args.js';
import { postJson, singleConnectionAgent } from './http.js';
import { type Generator, runLoad } from './load.js';
import { median, percentile, round } from './numbers.js';
import { cpuMicros, cpuTicks, microsPerTick, peakRssMb, resetPeakRss, rssMb } from './processes.js';
import {
  spawnServer,
  TARGET_LABELS,
  TARGET_SCRIPTS,
  type Target,
  type TargetName,
} from './targets.js';
import {
  addGetJobLatency,
  amplifyCalls,
  getJobCalls,
  removeFault,
  totalCalls,
  type Upstream,
} from './upstream-control.js';

export interface BenchContext {
  args: BenchArgs;
  root: string;
  generator: Generator;
  autocannonCli: string;
  upstream: Upstream;
  serverCpu: number;
  loadCpu: number;
  /** Environment of the targets (and of the cold-start gateways). */
  env: NodeJS.ProcessEnv;
}

export interface Workload {
  name: 'W1' | 'W2' | 'W3' | 'W4' | 'W5';
  title: string;
  jobs: JobKey[];
  /** The request body (JSON). */
  body: string;
  /** The gateway's answer, which every target must give byte for byte. */
  expected: string;
  /** A target's own bytes when they are JSON-equal to the gateway's but not identical. */
  answers: Partial<Record<TargetName, string>>;
}

export interface Sample {
  round: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  amplifyCpuUsPerRequest: number;
  peakRssMb: number;
  getJobPerRequest: number;
  /** Every Amplify API call (GetJob, ListJobs, GetBranch...) per request. */
  callsPerRequest: number;
  /** Share of the servers' CPU used by processes other than the target and the local Amplify. */
  otherLoadPct: number;
  errors: number;
  mismatches: number | null;
}

async function measureOnce(
  ctx: BenchContext,
  target: Target,
  workload: Workload,
  seconds: number,
  roundNo: number,
): Promise<Sample> {
  const pid = target.process.pid;
  const amplifyPid = ctx.upstream.process.pid;
  const calls0 = await amplifyCalls(ctx.upstream);
  resetPeakRss(pid);
  const cpu0 = cpuMicros(pid);
  const amplify0 = cpuMicros(amplifyPid);
  const core0 = cpuTicks(ctx.serverCpu);
  const load = await runLoad({
    generator: ctx.generator,
    node: ctx.args.node,
    autocannonCli: ctx.autocannonCli,
    cpu: ctx.loadCpu,
    url: target.url,
    body: workload.body,
    expected: workload.answers[target.name] ?? workload.expected,
    connections: ctx.args.connections,
    seconds,
  });
  const cpu1 = cpuMicros(pid);
  const amplify1 = cpuMicros(amplifyPid);
  const core1 = cpuTicks(ctx.serverCpu);
  const peak = peakRssMb(pid);
  const calls1 = await amplifyCalls(ctx.upstream);
  const requests = Math.max(1, load.requests);
  const ours = cpu1 - cpu0 + (amplify1 - amplify0);
  const coreBusy = (core1.busy - core0.busy) * microsPerTick();
  const coreTotal = Math.max(1, (core1.total - core0.total) * microsPerTick());
  return {
    round: roundNo,
    requests: load.requests,
    rps: round(load.rps, 1),
    p50Ms: round(load.p50Ms),
    p99Ms: round(load.p99Ms),
    cpuUsPerRequest: round((cpu1 - cpu0) / requests, 1),
    amplifyCpuUsPerRequest: round((amplify1 - amplify0) / requests, 1),
    peakRssMb: round(peak, 1),
    getJobPerRequest: round(((calls1.GetJob ?? 0) - (calls0.GetJob ?? 0)) / requests),
    callsPerRequest: round((totalCalls(calls1) - totalCalls(calls0)) / requests),
    otherLoadPct: round(Math.max(0, ((coreBusy - ours) / coreTotal) * 100), 1),
    errors: load.errors,
    mismatches: load.mismatches,
  };
}

export interface TargetSummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  amplifyCpuUsPerRequest: number;
  /** The highest peak of all rounds. */
  peakRssMb: number;
  getJobPerRequest: number;
  callsPerRequest: number;
  otherLoadPct: number;
  errors: number;
  mismatches: number | null;
}

export interface ThroughputResult {
  workload: Workload['name'];
  title: string;
  jobs: JobKey[];
  samples: Partial<Record<TargetName, Sample[]>>;
  /** Medians over rounds (peak RSS: the maximum). */
  summary: Partial<Record<TargetName, TargetSummary>>;
  ratios: {
    gatewayToCeiling: number | null;
    gatewayToFloor: number | null;
    gatewayToMercurius: number | null;
  };
}

function summarize(samples: readonly Sample[]): TargetSummary {
  const of = (pick: (s: Sample) => number) => median(samples.map(pick));
  const checked = samples.filter((s) => s.mismatches !== null);
  return {
    rps: round(
      of((s) => s.rps),
      1,
    ),
    p50Ms: round(of((s) => s.p50Ms)),
    p99Ms: round(of((s) => s.p99Ms)),
    cpuUsPerRequest: round(
      of((s) => s.cpuUsPerRequest),
      1,
    ),
    amplifyCpuUsPerRequest: round(
      of((s) => s.amplifyCpuUsPerRequest),
      1,
    ),
    peakRssMb: Math.max(...samples.map((s) => s.peakRssMb)),
    getJobPerRequest: round(of((s) => s.getJobPerRequest)),
    callsPerRequest: round(of((s) => s.callsPerRequest)),
    otherLoadPct: round(
      of((s) => s.otherLoadPct),
      1,
    ),
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
    mismatches:
      checked.length === 0 ? null : checked.reduce((sum, s) => sum + (s.mismatches ?? 0), 0),
  };
}

function formatSample(s: Sample): string {
  const flags = [
    s.errors > 0 ? `${s.errors} ERRORS` : '',
    (s.mismatches ?? 0) > 0 ? `${s.mismatches} WRONG BODIES` : '',
  ].filter((f) => f !== '');
  return `${s.rps.toFixed(0).padStart(6)} req/s  p50 ${s.p50Ms.toFixed(2)} ms  p99 ${s.p99Ms.toFixed(2)} ms  ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req  other load ${s.otherLoadPct}%${flags.length > 0 ? `  ${flags.join(', ')}` : ''}`;
}

/**
 * Warms every target on every workload, then runs `rounds` rounds; within a round each workload
 * visits every target, in an order rotated per round, so drift of the machine spreads over all.
 */
export async function runThroughput(
  ctx: BenchContext,
  targets: readonly Target[],
  workloads: readonly Workload[],
): Promise<ThroughputResult[]> {
  const { args } = ctx;
  console.log(`\nwarm-up: ${args.warmupSeconds} s per target per workload`);
  for (const workload of workloads) {
    for (const target of targets) await measureOnce(ctx, target, workload, args.warmupSeconds, 0);
  }
  const results = workloads.map(
    (w): ThroughputResult => ({
      workload: w.name,
      title: w.title,
      jobs: w.jobs,
      samples: {},
      summary: {},
      ratios: { gatewayToCeiling: null, gatewayToFloor: null, gatewayToMercurius: null },
    }),
  );
  for (let r = 1; r <= args.rounds; r++) {
    for (const [index, workload] of workloads.entries()) {
      const result = results[index]!;
      const shift = (r - 1) % targets.length;
      const order = [...targets.slice(shift), ...targets.slice(0, shift)];
      for (const target of order) {
        const sample = await measureOnce(ctx, target, workload, args.seconds, r);
        const samples = result.samples[target.name] ?? [];
        samples.push(sample);
        result.samples[target.name] = samples;
        console.log(
          `  ${workload.name} round ${r}/${args.rounds} ${TARGET_LABELS[target.name].padEnd(15)} ${formatSample(sample)}`,
        );
      }
    }
  }
  for (const result of results) {
    for (const [name, samples] of Object.entries(result.samples) as [TargetName, Sample[]][]) {
      result.summary[name] = summarize(samples);
    }
    const { ceiling, floor, mercurius, gateway } = result.summary;
    result.ratios = {
      gatewayToCeiling: gateway && ceiling ? round(gateway.rps / ceiling.rps) : null,
      gatewayToFloor: gateway && floor ? round(gateway.rps / floor.rps) : null,
      gatewayToMercurius: gateway && mercurius ? round(gateway.rps / mercurius.rps) : null,
    };
  }
  return results;
}

export interface LatencyTargetResult {
  requests: number;
  medianMs: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  getJobPerRequest: number;
  /** Every block of requests cost exactly 20 GetJob calls per request. */
  exactCalls: boolean;
  wrongAnswers: number;
  latenciesMs: number[];
}

export interface W3Result {
  title: string;
  latencyMs: number;
  maxConcurrency: number;
  /** ceil(20 / cap) x latency + 15 ms. */
  goalMs: number;
  targets: Partial<Record<TargetName, LatencyTargetResult>>;
}

/**
 * W3: GetJob gets `latencyMs` of injected latency; requests go one at a time over one connection,
 * in blocks of 10 alternating between targets, and each block's GetJob count is checked.
 */
export async function runW3(
  ctx: BenchContext,
  targets: readonly Target[],
  workload: Workload,
  maxConcurrency: number,
): Promise<W3Result> {
  const latencyMs = 50;
  const perCall = workload.jobs.length;
  const goalMs = Math.ceil(perCall / maxConcurrency) * latencyMs + 15;
  const total = ctx.args.w3Requests;
  const block = Math.min(10, total);
  const agents = new Map(targets.map((t) => [t.name, singleConnectionAgent()]));
  const raw = new Map<
    TargetName,
    { latencies: number[]; calls: number; exact: boolean; wrong: number }
  >(targets.map((t) => [t.name, { latencies: [], calls: 0, exact: true, wrong: 0 }]));
  console.log(
    `\nW3: ${ctx.args.w3Requests} sequential requests per target over one connection, GetJob +${latencyMs} ms`,
  );
  const rule = await addGetJobLatency(ctx.upstream, latencyMs);
  try {
    for (const target of targets) {
      // Warm the connection and the code paths.
      for (let i = 0; i < 3; i++)
        await postJson(target.url, workload.body, agents.get(target.name)!);
    }
    for (let done = 0; done < total; done += block) {
      const size = Math.min(block, total - done);
      for (const target of targets) {
        const entry = raw.get(target.name)!;
        const before = await getJobCalls(ctx.upstream);
        for (let i = 0; i < size; i++) {
          const start = performance.now();
          const answer = await postJson(target.url, workload.body, agents.get(target.name)!);
          entry.latencies.push(performance.now() - start);
          const expected = workload.answers[target.name] ?? workload.expected;
          if (answer.status !== 200 || answer.body !== expected) entry.wrong++;
        }
        const calls = (await getJobCalls(ctx.upstream)) - before;
        entry.calls += calls;
        if (calls !== size * perCall) entry.exact = false;
      }
    }
  } finally {
    await removeFault(ctx.upstream, rule);
    for (const agent of agents.values()) agent.destroy();
  }
  const result: W3Result = {
    title: workload.title,
    latencyMs,
    maxConcurrency,
    goalMs,
    targets: {},
  };
  for (const [name, entry] of raw) {
    const l = entry.latencies;
    result.targets[name] = {
      requests: l.length,
      medianMs: round(median(l), 2),
      p99Ms: round(percentile(l, 99), 2),
      minMs: round(Math.min(...l), 2),
      maxMs: round(Math.max(...l), 2),
      getJobPerRequest: round(entry.calls / l.length, 2),
      exactCalls: entry.exact,
      wrongAnswers: entry.wrong,
      latenciesMs: l.map((v) => round(v, 2)),
    };
    const t = result.targets[name]!;
    console.log(
      `  ${TARGET_LABELS[name].padEnd(15)} median ${t.medianMs} ms  p99 ${t.p99Ms} ms  GetJob/request ${t.getJobPerRequest}${t.exactCalls ? '' : ' (NOT EXACT)'}${t.wrongAnswers > 0 ? `  ${t.wrongAnswers} WRONG ANSWERS` : ''}`,
    );
  }
  return result;
}

export interface W4Round {
  round: number;
  seconds: number;
  requests: number;
  rps: number;
  errors: number;
  getJobCalls: number;
  getJobPerSecond: number;
  /** GetJob calls per cache interval (CACHE_ACTIVE_TTL_MS), all jobs and both replicas. */
  getJobPerInterval: number;
  /** Peak RSS of each gateway during the round, MB. */
  peakRssMb: number[];
}

export interface W4Result {
  title: string;
  connections: number;
  gateways: number;
  jobs: number;
  intervalMs: number;
  rounds: W4Round[];
  /** Medians over rounds. */
  rps: number;
  getJobPerSecond: number;
  getJobPerInterval: number;
  errors: number;
}

/**
 * W4: `connections` keep-alive connections, split evenly over the gateways (each its own process,
 * all sharing one Redis), each request asking for the next of the workload's unfinished jobs. What
 * counts is the local Amplify's GetJob calls per second: the goal is one per job per cache
 * interval, whatever the number of connections and replicas.
 */
export async function runW4(
  ctx: BenchContext,
  gateways: readonly Target[],
  bodies: readonly string[],
  connections: number,
  intervalMs: number,
): Promise<W4Result> {
  const { args } = ctx;
  const perGateway = Math.ceil(connections / gateways.length);
  console.log(
    `
W4: ${perGateway * gateways.length} connections over ${gateways.length} gateways sharing one Redis, polling ${bodies.length} unfinished jobs; ${args.rounds} round(s) x ${args.seconds} s after ${args.warmupSeconds} s of warm-up`,
  );
  const runRound = async (seconds: number, roundNo: number): Promise<W4Round> => {
    const calls0 = await getJobCalls(ctx.upstream);
    for (const gateway of gateways) resetPeakRss(gateway.process.pid);
    const loads = await Promise.all(
      gateways.map((gateway) =>
        runLoad({
          generator: ctx.generator,
          node: ctx.args.node,
          autocannonCli: ctx.autocannonCli,
          cpu: ctx.loadCpu,
          url: gateway.url,
          body: bodies[0] ?? '',
          expected: '',
          bodies,
          connections: perGateway,
          seconds,
        }),
      ),
    );
    const calls = (await getJobCalls(ctx.upstream)) - calls0;
    const measured = Math.max(...loads.map((l) => l.seconds));
    const requests = loads.reduce((sum, l) => sum + l.requests, 0);
    const perSecond = calls / measured;
    return {
      round: roundNo,
      seconds: round(measured, 2),
      requests,
      rps: round(requests / measured, 1),
      errors: loads.reduce((sum, l) => sum + l.errors, 0),
      getJobCalls: calls,
      getJobPerSecond: round(perSecond, 2),
      getJobPerInterval: round((perSecond * intervalMs) / 1000, 2),
      peakRssMb: gateways.map((g) => round(peakRssMb(g.process.pid), 1)),
    };
  };
  await runRound(args.warmupSeconds, 0);
  const rounds: W4Round[] = [];
  for (let r = 1; r <= args.rounds; r++) {
    const result = await runRound(args.seconds, r);
    rounds.push(result);
    console.log(
      `  W4 round ${r}/${args.rounds}  ${result.rps.toFixed(0).padStart(6)} req/s  GetJob ${result.getJobPerSecond}/s = ${result.getJobPerInterval} per ${intervalMs} ms interval  peak RSS ${result.peakRssMb.join(' / ')} MB${result.errors > 0 ? `  ${result.errors} ERRORS` : ''}`,
    );
  }
  return {
    title: `${bodies.length} unfinished jobs polled by ${perGateway * gateways.length} connections through ${gateways.length} gateway processes sharing one Redis`,
    connections: perGateway * gateways.length,
    gateways: gateways.length,
    jobs: bodies.length,
    intervalMs,
    rounds,
    rps: round(median(rounds.map((r) => r.rps)), 1),
    getJobPerSecond: round(median(rounds.map((r) => r.getJobPerSecond)), 2),
    getJobPerInterval: round(median(rounds.map((r) => r.getJobPerInterval)), 2),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
  };
}

export interface IdleResult {
  /** RSS of each fresh gateway `settleMs` after it listens, before any request, MB. */
  runsMb: number[];
  settleMs: number;
  /** Median. */
  rssMb: number;
}

/**
 * Idle memory: spawns the gateway `count` times (the container's Node flags), waits until it
 * listens and `settleMs` more without sending it anything, and reads its RSS.
 */
export async function runIdle(ctx: BenchContext, count: number): Promise<IdleResult> {
  const settleMs = 3_000;
  console.log(`
idle RSS: ${count} x spawn node dist/server/main.js, RSS ${settleMs} ms after listening`);
  const runsMb: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = await spawnServer(
      ctx.args.node,
      [`${ctx.root}/${TARGET_SCRIPTS.gateway}`],
      { cpu: ctx.serverCpu, env: ctx.env, cwd: ctx.root },
      'gateway (idle)',
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const mb = round(rssMb(server.process.pid), 1);
      runsMb.push(mb);
      console.log(`  run ${i + 1}: RSS ${mb} MB`);
    } finally {
      await server.process.stop();
    }
  }
  return { runsMb, settleMs, rssMb: round(median(runsMb), 1) };
}

export interface ColdStartResult {
  runs: {
    listeningMs: number;
    ownListeningMs: number | null;
    firstAnswerMs: number;
    correct: boolean;
  }[];
  /** Spawn of `node dist/server/main.js` to the first correct job(...) answer: median. */
  firstAnswerMs: number;
  /** Spawn to the "listening" log line as the runner read it: median. */
  listeningMs: number;
  /** Spawn to the `time` of the listening log line (the process's own clock): median. */
  ownListeningMs: number | null;
}

/** Spawns the gateway `count` times; each must answer W1 correctly; all bounded by timeouts. */
export async function runColdStarts(
  ctx: BenchContext,
  workload: Workload,
): Promise<ColdStartResult> {
  console.log(
    `\ncold start: ${ctx.args.coldStarts} x spawn node dist/server/main.js -> first correct job(...) answer`,
  );
  const runs: ColdStartResult['runs'] = [];
  for (let i = 0; i < ctx.args.coldStarts; i++) {
    const server = await spawnServer(
      ctx.args.node,
      [`${ctx.root}/${TARGET_SCRIPTS.gateway}`],
      { cpu: ctx.serverCpu, env: ctx.env, cwd: ctx.root },
      'gateway (cold start)',
    );
    const start = server.spawnedAtMs;
    try {
      const listeningMs = performance.now() - start;
      const answer = await postJson(server.url, workload.body, false);
      const firstAnswerMs = performance.now() - start;
      const run = {
        listeningMs: round(listeningMs, 1),
        ownListeningMs: server.time === undefined ? null : server.time - server.spawnedAt,
        firstAnswerMs: round(firstAnswerMs, 1),
        correct: answer.status === 200 && answer.body === workload.expected,
      };
      runs.push(run);
      console.log(
        `  run ${i + 1}: listening after ${run.listeningMs} ms, first answer after ${run.firstAnswerMs} ms${run.correct ? '' : ' (WRONG ANSWER)'}`,
      );
    } finally {
      await server.process.stop();
    }
  }
  const own = runs.map((r) => r.ownListeningMs).filter((v): v is number => v !== null);
  return {
    runs,
    firstAnswerMs: round(median(runs.map((r) => r.firstAnswerMs)), 1),
    listeningMs: round(median(runs.map((r) => r.listeningMs)), 1),
    ownListeningMs: own.length === 0 ? null : round(median(own), 1),
  };
}

export interface SoakResult {
  seconds: number;
  sampleEverySeconds: number;
  warmupSeconds: number;
  samples: { atSeconds: number; workload: string; rssMb: number; rps: number; errors: number }[];
  firstRssMb: number;
  lastRssMb: number;
  maxRssMb: number;
  /** (last - first after warm-up) / first. */
  drift: number;
}

/** W1 and W2 alternating against the gateway only; RSS sampled at the end of every segment. */
export async function runSoak(
  ctx: BenchContext,
  gateway: Target,
  w1: Workload,
  w2: Workload,
): Promise<SoakResult> {
  const segmentSeconds = ctx.args.quick ? 5 : 10;
  const warmupSegments = ctx.args.quick ? 1 : 3;
  const measuredSegments = ctx.args.quick ? 5 : 30;
  console.log(
    `\nsoak: gateway only, W1/W2 alternating in ${segmentSeconds} s segments: ${warmupSegments * segmentSeconds} s warm-up, then ${measuredSegments * segmentSeconds} s with RSS sampled every ${segmentSeconds} s`,
  );
  const samples: SoakResult['samples'] = [];
  for (let i = 0; i < warmupSegments + measuredSegments; i++) {
    const workload = i % 2 === 0 ? w1 : w2;
    const load = await runLoad({
      generator: ctx.generator,
      node: ctx.args.node,
      autocannonCli: ctx.autocannonCli,
      cpu: ctx.loadCpu,
      url: gateway.url,
      body: workload.body,
      expected: workload.expected,
      connections: ctx.args.connections,
      seconds: segmentSeconds,
    });
    if (i < warmupSegments) continue;
    const sample = {
      atSeconds: (i - warmupSegments + 1) * segmentSeconds,
      workload: workload.name,
      rssMb: round(rssMb(gateway.process.pid), 1),
      rps: round(load.rps, 1),
      errors: load.errors + (load.mismatches ?? 0),
    };
    samples.push(sample);
    console.log(
      `  ${String(sample.atSeconds).padStart(4)} s  ${sample.workload}  RSS ${sample.rssMb} MB  ${sample.rps.toFixed(0)} req/s`,
    );
  }
  const first = samples[0]!.rssMb;
  const last = samples[samples.length - 1]!.rssMb;
  return {
    seconds: measuredSegments * segmentSeconds,
    sampleEverySeconds: segmentSeconds,
    warmupSeconds: warmupSegments * segmentSeconds,
    samples,
    firstRssMb: first,
    lastRssMb: last,
    maxRssMb: Math.max(...samples.map((s) => s.rssMb)),
    drift: round((last - first) / first, 4),
  };
}
