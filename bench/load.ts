/**
 * The load generator, run as its own process pinned to the load CPU: wrk (C, one thread) when it
 * is installed, autocannon (npm, already a dev dependency) otherwise. Both send the same POST with
 * a fixed number of keep-alive connections for a fixed time, and both results are read into one
 * shape. autocannon also checks every response body against the expected one; wrk only counts
 * non-2xx statuses (a Lua body check would slow it more than the servers it measures).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runToEnd } from './processes.js';

export type Generator = 'wrk' | 'autocannon';

export interface LoadSpec {
  generator: Generator;
  /** Node binary for autocannon (the targets' Node). */
  node: string;
  /** Path of autocannon's CLI script. */
  autocannonCli: string;
  cpu: number;
  url: string;
  body: string;
  /** The exact response body every request must get (autocannon checks it). */
  expected: string;
  /**
   * Several request bodies, sent in turn (W4: one per job), instead of `body`. Answers are then
   * not compared with one expected body: only statuses and errors count.
   */
  bodies?: readonly string[];
  connections: number;
  seconds: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors, timeouts and non-2xx answers. */
  errors: number;
  /** Responses whose body differed from the expected one; null when not checked (wrk). */
  mismatches: number | null;
}

/** Whether wrk is on the PATH. */
export async function hasWrk(): Promise<boolean> {
  try {
    const result = await runToEnd('wrk', ['--version'], { timeoutMs: 5_000 });
    return result.stdout.includes('wrk') || result.stderr.includes('wrk');
  } catch {
    return false;
  }
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return spec.generator === 'wrk' ? runWrk(spec) : runAutocannon(spec);
}

/** A Lua long string that cannot be closed by the text inside it. */
function luaString(text: string): string {
  let level = '';
  while (text.includes(`]${level}]`)) level += '=';
  return `[${level}[${text}]${level}]`;
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'amplify-bench-wrk-'));
  try {
    const script = join(dir, 'post.lua');
    const bodies = spec.bodies ?? [];
    // With several bodies, each request takes the next one in turn.
    const rotate =
      bodies.length === 0
        ? ''
        : `bodies = { ${bodies.map(luaString).join(', ')} }
next = 0
request = function()
  next = next % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[next])
end
`;
    writeFileSync(
      script,
      `wrk.method = "POST"
wrk.body = ${luaString(spec.body)}
wrk.headers["content-type"] = "application/json"
${rotate}done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nBENCH_RESULT {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`,
    );
    const result = await runToEnd(
      'wrk',
      [
        '-t1',
        `-c${spec.connections}`,
        `-d${spec.seconds}s`,
        '--timeout',
        '10s',
        '-s',
        script,
        spec.url,
      ],
      { cpu: spec.cpu, timeoutMs: (spec.seconds + 30) * 1_000 },
    );
    const line = result.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
    if (result.code !== 0 || line === undefined) {
      throw new Error(`wrk failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    }
    const parsed = JSON.parse(line.slice('BENCH_RESULT '.length)) as {
      requests: number;
      durationUs: number;
      p50Us: number;
      p99Us: number;
      errors: number;
    };
    const seconds = parsed.durationUs / 1e6;
    return {
      requests: parsed.requests,
      seconds,
      rps: parsed.requests / seconds,
      p50Ms: parsed.p50Us / 1000,
      p99Ms: parsed.p99Us / 1000,
      errors: parsed.errors,
      mismatches: null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface AutocannonJson {
  duration: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number };
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'amplify-bench-autocannon-'));
  try {
    return await runAutocannonIn(dir, spec);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannonIn(dir: string, spec: LoadSpec): Promise<LoadResult> {
  let requestArgs = ['-m', 'POST', '-b', spec.body, '-E', spec.expected];
  if (spec.bodies !== undefined && spec.bodies.length > 0) {
    // Several bodies: autocannon sends the entries of a HAR file in turn on each connection.
    const har = join(dir, 'requests.har');
    writeFileSync(
      har,
      JSON.stringify({
        log: {
          entries: spec.bodies.map((text) => ({
            request: {
              method: 'POST',
              url: spec.url,
              headers: [{ name: 'content-type', value: 'application/json' }],
              postData: { mimeType: 'application/json', text },
            },
          })),
        },
      }),
    );
    requestArgs = ['--har', har];
  }
  const result = await runToEnd(
    spec.node,
    [
      spec.autocannonCli,
      '-c',
      String(spec.connections),
      '-d',
      String(spec.seconds),
      '-H',
      'content-type=application/json',
      ...requestArgs,
      '-j',
      spec.url,
    ],
    { cpu: spec.cpu, timeoutMs: (spec.seconds + 30) * 1_000 },
  );
  const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
  if (result.code !== 0 || line === undefined) {
    throw new Error(`autocannon failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  const parsed = JSON.parse(line) as AutocannonJson;
  // Mismatched bodies are counted by autocannon but not as 2xx-with-the-right-body: count them
  // once, as mismatches.
  const requests = parsed['2xx'];
  return {
    requests,
    seconds: parsed.duration,
    rps: requests / parsed.duration,
    p50Ms: parsed.latency.p50,
    p99Ms: parsed.latency.p99,
    errors: parsed.errors + parsed.timeouts + parsed.non2xx,
    mismatches: spec.bodies === undefined ? parsed.mismatches : null,
  };
}
