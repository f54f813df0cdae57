/** The bench's verdicts and tables: what is printed, and the goals (issues #5, #11 and #14). */

import type { W6Result } from './live.js';
import type {
  ColdStartResult,
  IdleResult,
  SoakResult,
  ThroughputResult,
  W3Result,
  W4Result,
} from './measure.js';
import { TARGET_LABELS, TARGET_NAMES } from './targets.js';

export interface Goal {
  id: string;
  goal: string;
  value: string;
  /** null: not measured in this run. */
  met: boolean | null;
}

/**
 * Goals for Node 24: issue #5 (W3, soak) and issue #11 (W1 against Mercurius+JIT and the ceiling,
 * W2 against the floor, W4, cold start, memory). `null` results mean the workload was not run.
 */
export function evaluateGoals(results: {
  throughput: readonly ThroughputResult[];
  w3: W3Result | null;
  w4: W4Result | null;
  /** Optional: runs without W6 pass nothing. */
  w6?: W6Result | null;
  cold: ColdStartResult | null;
  idle: IdleResult | null;
  soak: SoakResult | null;
  soakRequested: boolean;
}): Goal[] {
  const goals: Goal[] = [];
  const w1 = results.throughput.find((r) => r.workload === 'W1');
  const w2 = results.throughput.find((r) => r.workload === 'W2');
  const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
  const times = (value: number) => `${value.toFixed(2)}x`;

  const w1Mercurius = w1?.ratios.gatewayToMercurius ?? null;
  goals.push({
    id: 'W1-mercurius',
    goal: 'W1 gateway >= 1.0x Mercurius+JIT req/s',
    value: w1Mercurius === null ? 'not run' : times(w1Mercurius),
    met: w1Mercurius === null ? null : w1Mercurius >= 1,
  });
  const w1Ratio = w1?.ratios.gatewayToCeiling ?? null;
  goals.push({
    id: 'W1',
    goal: 'W1 gateway >= 50% of the static ceiling req/s',
    value: w1Ratio === null ? 'not run' : pct(w1Ratio),
    met: w1Ratio === null ? null : w1Ratio >= 0.5,
  });
  const w2Ratio = w2?.ratios.gatewayToFloor ?? null;
  goals.push({
    id: 'W2',
    goal: 'W2 gateway >= 1.2x the raw-SDK floor req/s',
    value: w2Ratio === null ? 'not run' : times(w2Ratio),
    met: w2Ratio === null ? null : w2Ratio >= 1.2,
  });
  const w3 = results.w3?.targets.gateway;
  goals.push({
    id: 'W3',
    goal: `W3 gateway median <= ${results.w3?.goalMs ?? 115} ms with exactly 20 GetJob per request`,
    value:
      w3 === undefined
        ? 'not run'
        : `${w3.medianMs} ms, ${w3.getJobPerRequest} GetJob/request${w3.exactCalls ? '' : ' (not exact)'}`,
    met:
      w3 === undefined || results.w3 === null
        ? null
        : w3.medianMs <= results.w3.goalMs && w3.exactCalls && w3.wrongAnswers === 0,
  });
  const w4 = results.w4;
  goals.push({
    id: 'W4',
    goal: `W4 GetJob calls per cache interval <= ${w4?.jobs ?? 10} (one per job, whatever the connections and replicas)`,
    value:
      w4 === null
        ? 'not run'
        : `${w4.getJobPerInterval} per ${w4.intervalMs} ms (${w4.getJobPerSecond}/s, ${w4.connections} connections, ${w4.gateways} gateways)`,
    met: w4 === null ? null : w4.getJobPerInterval <= w4.jobs && w4.errors === 0,
  });
  // Issue #14 (its "W5"): one poll per job per interval for the cluster, no more with events.
  const w6 = results.w6 ?? null;
  goals.push({
    id: 'W6',
    goal: `W6 GetJob calls per poll interval <= ${w6?.jobs ?? 20} with the jobs still (one per job, whatever the subscribers and replicas)`,
    value:
      w6 === null
        ? 'not run'
        : `${w6.quietGetJobPerInterval} per ${w6.intervalMs} ms (${w6.subscribers} subscribers, ${w6.gateways} gateways)`,
    met: w6 === null ? null : w6.quietGetJobPerInterval <= w6.jobs && w6.failedSubscribers === 0,
  });
  const polling = w6?.phases.find((p) => p.mode === 'polling');
  const pushed = w6?.phases.find((p) => p.mode === 'pushed');
  goals.push({
    id: 'W6-pushed',
    goal: 'W6 GetJob per interval while jobs change: pushed events no more than polling alone',
    value:
      polling === undefined || pushed === undefined
        ? 'not run'
        : `${pushed.getJobPerInterval} with events, ${polling.getJobPerInterval} polling alone; latency p50/p99 ${pushed.latencyP50Ms}/${pushed.latencyP99Ms} ms with events, ${polling.latencyP50Ms}/${polling.latencyP99Ms} ms polling`,
    met:
      polling === undefined || pushed === undefined
        ? null
        : pushed.getJobPerInterval <= polling.getJobPerInterval,
  });
  goals.push({
    id: 'cold',
    goal: 'cold start (spawn -> first job answer) <= 1 s',
    value: results.cold === null ? 'not run' : `${results.cold.firstAnswerMs} ms`,
    met:
      results.cold === null
        ? null
        : results.cold.firstAnswerMs <= 1000 && results.cold.runs.every((r) => r.correct),
  });
  goals.push({
    id: 'idle',
    goal: 'gateway idle RSS <= 100 MB (container Node flags)',
    value: results.idle === null ? 'not run' : `${results.idle.rssMb} MB`,
    met: results.idle === null ? null : results.idle.rssMb <= 100,
  });
  const rss = w1?.summary.gateway?.peakRssMb;
  goals.push({
    id: 'rss',
    goal: 'gateway peak RSS <= 150 MB under W1 (container Node flags)',
    value: rss === undefined ? 'not run' : `${rss} MB`,
    met: rss === undefined ? null : rss <= 150,
  });
  goals.push({
    id: 'soak',
    goal: 'soak RSS drift <= 10%',
    value:
      results.soak === null
        ? results.soakRequested
          ? 'not run'
          : 'not run (add --soak)'
        : `${pct(results.soak.drift)} (${results.soak.firstRssMb} -> ${results.soak.lastRssMb} MB)`,
    met: results.soak === null ? null : results.soak.drift <= 0.1,
  });
  return goals;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const fixed = (value: number | undefined, digits: number) =>
  value === undefined ? '-' : value.toFixed(digits);

export function throughputTable(result: ThroughputResult): string {
  const rows = TARGET_NAMES.flatMap((name) => {
    const s = result.summary[name];
    if (s === undefined) return [];
    const flags = [
      s.errors > 0 ? `${s.errors} errors` : '',
      (s.mismatches ?? 0) > 0 ? `${s.mismatches} wrong` : '',
    ]
      .filter((f) => f !== '')
      .join(', ');
    const rps = (result.samples[name] ?? []).map((sample) => sample.rps);
    return [
      [
        TARGET_LABELS[name],
        fixed(s.rps, 0),
        rps.length > 1 ? `${Math.min(...rps).toFixed(0)}-${Math.max(...rps).toFixed(0)}` : '-',
        fixed(s.p50Ms, 2),
        fixed(s.p99Ms, 2),
        fixed(s.cpuUsPerRequest, 0),
        fixed(s.amplifyCpuUsPerRequest, 0),
        fixed(s.peakRssMb, 1),
        fixed(s.getJobPerRequest, 2),
        fixed(s.callsPerRequest, 2),
        `${fixed(s.otherLoadPct, 1)}%`,
        flags === '' ? 'ok' : flags,
      ],
    ];
  });
  const { gatewayToCeiling, gatewayToFloor, gatewayToMercurius } = result.ratios;
  const ratios = [
    gatewayToCeiling === null ? '' : `gateway/ceiling ${gatewayToCeiling.toFixed(3)}`,
    gatewayToFloor === null ? '' : `gateway/floor ${gatewayToFloor.toFixed(3)}`,
    gatewayToMercurius === null ? '' : `gateway/Mercurius ${gatewayToMercurius.toFixed(3)}`,
  ]
    .filter((r) => r !== '')
    .join(', ');
  return [
    `${result.workload}: ${result.title}`,
    table(
      [
        'target',
        'req/s',
        'rounds range',
        'p50 ms',
        'p99 ms',
        'CPU µs/req',
        'Amplify µs/req',
        'peak RSS MB',
        'GetJob/req',
        'calls/req',
        'other load',
        'check',
      ],
      rows,
    ),
    `ratios (req/s): ${ratios}`,
  ].join('\n');
}

export function w3Table(result: W3Result): string {
  const rows = TARGET_NAMES.flatMap((name) => {
    const t = result.targets[name];
    if (t === undefined) return [];
    return [
      [
        TARGET_LABELS[name],
        String(t.requests),
        fixed(t.medianMs, 1),
        fixed(t.p99Ms, 1),
        fixed(t.minMs, 1),
        fixed(t.getJobPerRequest, 2),
        t.exactCalls && t.wrongAnswers === 0
          ? 'ok'
          : `${t.exactCalls ? '' : 'calls not exact '}${t.wrongAnswers} wrong`,
      ],
    ];
  });
  return [
    `W3: ${result.title}`,
    table(['target', 'requests', 'median ms', 'p99 ms', 'min ms', 'GetJob/req', 'check'], rows),
    `goal: ceil(20 / ${result.maxConcurrency}) x ${result.latencyMs} ms + 15 ms = ${result.goalMs} ms`,
  ].join('\n');
}

export function w4Table(result: W4Result): string {
  const rows = result.rounds.map((r) => [
    String(r.round),
    r.rps.toFixed(0),
    String(r.getJobCalls),
    r.getJobPerSecond.toFixed(2),
    r.getJobPerInterval.toFixed(2),
    r.peakRssMb.map((m) => m.toFixed(1)).join(' / '),
    r.errors === 0 ? 'ok' : `${r.errors} errors`,
  ]);
  return [
    `W4: ${result.title}`,
    table(
      [
        'round',
        'req/s',
        'GetJob',
        'GetJob/s',
        `GetJob per ${result.intervalMs} ms`,
        'peak RSS MB',
        'check',
      ],
      rows,
    ),
    `median: ${result.getJobPerSecond} GetJob/s = ${result.getJobPerInterval} per interval for ${result.jobs} jobs (goal: at most ${result.jobs}); ${result.rps} req/s`,
  ].join('\n');
}

export function idleTable(result: IdleResult): string {
  return `idle RSS (median of ${result.runsMb.length}, ${result.settleMs} ms after listening, no request): ${result.rssMb} MB (runs: ${result.runsMb.join(', ')} MB)`;
}

export function coldTable(result: ColdStartResult): string {
  return [
    `cold start (median of ${result.runs.length}): spawn -> first correct job(...) answer ${result.firstAnswerMs} ms; spawn -> listening ${result.listeningMs} ms${result.ownListeningMs === null ? '' : ` (${result.ownListeningMs} ms by the time in its listening log line)`}`,
  ].join('\n');
}

export function soakTable(result: SoakResult): string {
  return `soak (gateway, W1/W2 alternating, ${result.seconds} s after ${result.warmupSeconds} s warm-up): RSS ${result.firstRssMb} -> ${result.lastRssMb} MB (max ${result.maxRssMb}), drift ${(result.drift * 100).toFixed(1)}%`;
}

export function goalsTable(goals: readonly Goal[], nodeVersion: string): string {
  const header = nodeVersion.startsWith('v24.')
    ? `Goals (issues #5 and #11, set for Node 24; this run: ${nodeVersion})`
    : `Goals (issues #5 and #11, set for Node 24; this run: ${nodeVersion}, shown for reference)`;
  const lines = goals.map((g) => {
    const verdict = g.met === null ? '[ -      ]' : g.met ? '[met    ]' : '[NOT MET]';
    return `  ${verdict} ${g.goal}: ${g.value}`;
  });
  return [header, ...lines].join('\n');
}
