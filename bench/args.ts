/** `npm run bench -- [flags]`: the bench's command line, every problem reported at once. */
import { parseArgs } from 'node:util';
import { ACCESS_LOG_MODES, type AccessLogMode } from '../src/config.js';
import type { Generator } from './load.js';

export const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'cold', 'idle'] as const;
export type Workload = (typeof WORKLOADS)[number];

export const HELP = `npm run bench -- [flags]

Benchmarks the gateway (node dist/server/main.js, as npm start runs it) against a static ceiling, a raw-SDK floor and
Mercurius+JIT, all on CPU 0 with the local Amplify (and W4's Redis), the load generator on CPU 1.
Loopback only. Node runs with the container's flags (NODE_OPTIONS, LD_PRELOAD and MALLOC_* from the
Dockerfile).

  --node PATH        Node binary for the targets and autocannon (default: this Node)
  --quick            Smoke run: 1 round x 2 s, 10 W3 requests, 2 cold starts and idle runs,
                     100 W6 subscribers
  --soak             Also run the soak: W1/W2 alternating against the gateway for 5 min, RSS
                     sampled every 10 s (30 s with --quick)
  --only LIST        Workloads to run, comma-separated: W1,W2,W3,W4,W5,W6,cold,idle (default:
                     all; W4 and W6 need redis-server). W6: SSE subscribers, last, as it
                     moves the local Amplify's clock
  --rounds N         Interleaved rounds (default 3)
  --seconds N        Seconds per target per round (default 5)
  --connections N    Load generator connections (default 16)
  --loadgen NAME     wrk or autocannon (default: wrk when installed, else autocannon)
  --log-level LEVEL  The gateway's LOG_LEVEL (default info, the production default)
  --access-log MODE  The gateway's ACCESS_LOG: all (default, the production default), errors, off
  --profile          Also profile the gateway (node --cpu-prof) under W1 and W2 and one cold
                     start; profiles and summaries go to bench/results/profiles/<timestamp>/
  -h, --help         This text

Results: a table on stdout, JSON in bench/results/<timestamp>.json and bench/results/latest.json.`;

export interface BenchArgs {
  help: boolean;
  node: string;
  quick: boolean;
  soak: boolean;
  profile: boolean;
  only: ReadonlySet<Workload>;
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  w3Requests: number;
  coldStarts: number;
  loadgen: Generator | null;
  logLevel: string;
  /** ACCESS_LOG of the gateway and Mercurius+JIT. */
  accessLog: AccessLogMode;
}

export type ArgsResult = { ok: true; args: BenchArgs } | { ok: false; problems: string[] };

function positiveInt(
  name: string,
  text: string | undefined,
  fallback: number,
  problems: string[],
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 3600) {
    problems.push(`--${name} must be a whole number from 1 to 3600 (got "${text}")`);
    return fallback;
  }
  return value;
}

export function parseBenchArgs(argv: readonly string[]): ArgsResult {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    return { ok: false, problems: [error instanceof Error ? error.message : String(error)] };
  }
  const problems: string[] = [];
  const quick = values.quick === true;
  const only = new Set<Workload>();
  for (const name of (values.only ?? WORKLOADS.join(',')).split(',')) {
    const trimmed = name.trim();
    const known = WORKLOADS.find((w) => w.toLowerCase() === trimmed.toLowerCase());
    if (known === undefined)
      problems.push(`--only: unknown workload "${trimmed}" (known: ${WORKLOADS.join(', ')})`);
    else only.add(known);
  }
  const loadgen = values.loadgen;
  if (loadgen !== undefined && loadgen !== 'wrk' && loadgen !== 'autocannon') {
    problems.push(`--loadgen must be wrk or autocannon (got "${loadgen}")`);
  }
  const accessLogText = values['access-log'] ?? 'all';
  const accessLog = ACCESS_LOG_MODES.find((mode) => mode === accessLogText);
  if (accessLog === undefined) {
    problems.push(`--access-log must be ${ACCESS_LOG_MODES.join(', ')} (got "${accessLogText}")`);
  }
  const args: BenchArgs = {
    help: values.help === true,
    node: values.node ?? process.execPath,
    quick,
    soak: values.soak === true,
    profile: values.profile === true,
    only,
    rounds: positiveInt('rounds', values.rounds, quick ? 1 : 3, problems),
    seconds: positiveInt('seconds', values.seconds, quick ? 2 : 5, problems),
    warmupSeconds: quick ? 1 : 3,
    connections: positiveInt('connections', values.connections, 16, problems),
    w3Requests: quick ? 10 : 50,
    coldStarts: quick ? 2 : 5,
    loadgen: loadgen === 'wrk' || loadgen === 'autocannon' ? loadgen : null,
    logLevel: values['log-level'] ?? 'info',
    accessLog: accessLog ?? 'all',
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, args };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      node: { type: 'string' },
      quick: { type: 'boolean' },
      soak: { type: 'boolean' },
      profile: { type: 'boolean' },
      only: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      connections: { type: 'string' },
      loadgen: { type: 'string' },
      'log-level': { type: 'string' },
      'access-log': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
