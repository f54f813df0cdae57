/**
 * Before anything is measured: the gateway's answers must be what each workload says (the right
 * job, the right status, no errors, stable from one call to the next), and every other target must
 * answer the same bytes (or, at the least, the same JSON). A difference stops the bench.
 */
import { isDeepStrictEqual } from 'node:util';
import { describeDifference } from './diff.js';
import { postJson } from './http.js';
import type { Workload } from './measure.js';
import { TARGET_LABELS, type Target } from './targets.js';
import { amplifyCalls, getJobCalls, type Upstream } from './upstream-control.js';

const FINISHED: ReadonlySet<string> = new Set(['SUCCEED', 'FAILED', 'CANCELLED']);

interface JobAnswer {
  data?: Record<string, { summary?: { status?: string } } | null>;
  errors?: unknown[];
}

/** What the gateway's own answer to a workload must look like; returns problems. */
function checkGatewayAnswer(workload: Workload, body: string): string[] {
  let parsed: JobAnswer;
  try {
    parsed = JSON.parse(body) as JobAnswer;
  } catch {
    return [
      `${workload.name}: the gateway answered something that is not JSON: ${body.slice(0, 300)}`,
    ];
  }
  const problems: string[] = [];
  if (parsed.errors !== undefined) {
    problems.push(
      `${workload.name}: the gateway answered errors: ${JSON.stringify(parsed.errors).slice(0, 500)}`,
    );
  }
  const values = Object.values(parsed.data ?? {});
  if (values.length === 0 || values.some((v) => v === null)) {
    problems.push(`${workload.name}: the gateway answered no job (or a null one)`);
  }
  const wanted =
    workload.name === 'W1' ? 'SUCCEED' : workload.name === 'W2' ? 'RUNNING' : undefined;
  if (workload.name === 'W5') {
    const nodes = (parsed.data?.branch as { jobs?: { nodes?: unknown[] } } | undefined)?.jobs
      ?.nodes;
    if (!Array.isArray(nodes) || nodes.length === 0) {
      problems.push(`${workload.name}: the gateway answered no jobs on the page`);
    }
  }
  const status = values[0]?.summary?.status;
  if (wanted !== undefined && status !== wanted) {
    problems.push(`${workload.name}: the job's status is ${status}, not ${wanted}`);
  }
  if (workload.name === 'W4' && (status === undefined || FINISHED.has(status))) {
    problems.push(`${workload.name}: the job's status is ${status}, not an unfinished one`);
  }
  return problems;
}

/** Asks the gateway twice; its first answer becomes the workload's expected bytes. */
export async function takeGatewayAnswer(gateway: Target, workload: Workload): Promise<string[]> {
  return takeAnswer(gateway, workload, workload.body, (text) => {
    workload.expected = text;
  });
}

/** The same check for one of several bodies (W4): returns problems, reports the answer. */
export async function takeAnswer(
  gateway: Target,
  workload: Workload,
  body: string,
  keep: (answer: string) => void,
): Promise<string[]> {
  const first = await postJson(gateway.url, body, false);
  if (first.status !== 200) {
    return [
      `${workload.name}: the gateway answered HTTP ${first.status}: ${first.body.slice(0, 500)}`,
    ];
  }
  const problems = checkGatewayAnswer(workload, first.body);
  const second = await postJson(gateway.url, body, false);
  if (second.body !== first.body) {
    problems.push(
      `${workload.name}: the gateway's answer changed between two calls (is the local Amplify's clock frozen?)\n${describeDifference('first', first.body, 'second', second.body)}`,
    );
  }
  keep(first.body);
  return problems;
}

/**
 * Compares a target's answer with the gateway's. Byte-identical passes; JSON-equal passes and is
 * reported, and that target's own bytes become what its load run must get.
 */
export async function compareWithGateway(
  target: Target,
  workload: Workload,
): Promise<{ problems: string[]; notes: string[] }> {
  const answer = await postJson(target.url, workload.body, false);
  const label = TARGET_LABELS[target.name];
  if (answer.status !== 200) {
    return {
      problems: [
        `${workload.name}: the ${label} answered HTTP ${answer.status}: ${answer.body.slice(0, 500)}`,
      ],
      notes: [],
    };
  }
  if (answer.body === workload.expected) return { problems: [], notes: [] };
  let equal = false;
  try {
    equal = isDeepStrictEqual(JSON.parse(answer.body), JSON.parse(workload.expected));
  } catch {
    equal = false;
  }
  if (equal) {
    workload.answers[target.name] = answer.body;
    return {
      problems: [],
      notes: [
        `${workload.name}: the ${label}'s answer is JSON-equal to the gateway's, not byte-identical`,
      ],
    };
  }
  return {
    problems: [
      `${workload.name}: the ${label} answers differently from the gateway:\n${describeDifference('gateway', workload.expected, label, answer.body)}`,
    ],
    notes: [],
  };
}

/**
 * Sends `count` requests one after the other and returns the Amplify calls they cost per request,
 * by operation: exact, unlike a load run, whose last in-flight requests are cut off when it stops.
 */
export async function callsPerRequest(
  target: Target,
  workload: Workload,
  upstream: Upstream,
  count: number,
): Promise<Record<string, number>> {
  const before = await amplifyCalls(upstream);
  for (let i = 0; i < count; i++) await postJson(target.url, workload.body, false);
  const after = await amplifyCalls(upstream);
  const perRequest: Record<string, number> = {};
  for (const [operation, calls] of Object.entries(after)) {
    const made = calls - (before[operation] ?? 0);
    if (made > 0) perRequest[operation] = made / count;
  }
  return perRequest;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A target with a cache may keep an unfinished job for the cache interval, and no longer: once an
 * interval has passed, the next request must cost exactly one GetJob (and, with an interval, the
 * one right after it none). Returns problems.
 */
export async function keptForTheInterval(
  target: Target,
  workload: Workload,
  upstream: Upstream,
  intervalMs: number,
): Promise<string[]> {
  const label = TARGET_LABELS[target.name];
  await sleep(intervalMs + 100);
  const before = await getJobCalls(upstream);
  await postJson(target.url, workload.body, false);
  const first = (await getJobCalls(upstream)) - before;
  await postJson(target.url, workload.body, false);
  const second = (await getJobCalls(upstream)) - before - first;
  const problems: string[] = [];
  if (first !== 1) {
    problems.push(
      `${workload.name}: after one cache interval (${intervalMs} ms) the ${label}'s next request made ${first} GetJob calls; expected exactly 1 (an unfinished job must not be kept longer)`,
    );
  }
  if (second !== (intervalMs > 0 ? 0 : 1)) {
    problems.push(
      `${workload.name}: the ${label}'s request right after made ${second} GetJob calls; expected ${intervalMs > 0 ? 0 : 1}`,
    );
  }
  return problems;
}

/**
 * W4: two gateways share one Redis when a job one of them fetched costs the other no call. Retried
 * for a few seconds, while the gateways connect to Redis. Returns problems.
 */
export async function sharesThroughRedis(
  a: Target,
  b: Target,
  body: string,
  upstream: Upstream,
  intervalMs: number,
): Promise<string[]> {
  for (let attempt = 0; attempt < 10; attempt++) {
    await sleep(intervalMs + 100);
    const before = await getJobCalls(upstream);
    await postJson(a.url, body, false);
    await postJson(b.url, body, false);
    if ((await getJobCalls(upstream)) - before === 1) return [];
  }
  return [
    'W4: the two gateways do not share their cache through Redis: a job one of them had just fetched cost the other a GetJob, ten times in a row',
  ];
}
