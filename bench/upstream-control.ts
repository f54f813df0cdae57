/**
 * The local Amplify as the bench uses it: a separate process (compiled, on the servers' CPU) with
 * a frozen clock and seed 1, steered and observed only through its /_local/ control API, exactly
 * as the targets reach it only through the Amplify API.
 */
import { join } from 'node:path';
import type { JobKey } from '../src/upstream/shapes.js';
import { controlJson } from './http.js';
import { type Pinned, spawnPinned } from './processes.js';

export interface Upstream {
  process: Pinned;
  url: string;
}

export async function startUpstream(node: string, root: string, cpu: number): Promise<Upstream> {
  const child = spawnPinned(
    node,
    [
      join(root, 'dist/local-amplify/cli.js'),
      ...['--port', '0', '--seed', '1', '--speed', '0'],
      // W3 starts 20 jobs through the API; the default quota is 5 at once.
      ...['--concurrent-jobs-limit', '100'],
    ],
    { cpu, cwd: root },
  );
  const url = await child.waitFor(
    (line) => /^local Amplify listening on (http:\/\/\S+)/.exec(line)?.[1],
    15_000,
    'local Amplify',
  );
  return { process: child, url };
}

interface JobInfo extends JobKey {
  status: string;
  jobType: string;
}

/** Jobs with that status, outside the quirks app (its deviations are not what is measured). */
export async function jobsWithStatus(upstream: Upstream, status: string): Promise<JobKey[]> {
  const world = await controlJson<{ quirkJobs: { appId: string }[] }>(
    `${upstream.url}/_local/world`,
  );
  const quirkApps = new Set(world.quirkJobs.map((q) => q.appId));
  const { jobs } = await controlJson<{ jobs: JobInfo[] }>(
    `${upstream.url}/_local/jobs?status=${encodeURIComponent(status)}`,
  );
  return jobs
    .filter((job) => !quirkApps.has(job.appId))
    .map(({ appId, branchName, jobId }) => ({ appId, branchName, jobId }));
}

/** GetJob calls the local Amplify has received since it started (retries included). */
export async function getJobCalls(upstream: Upstream): Promise<number> {
  const stats = await controlJson<{ calls: Record<string, number> }>(
    `${upstream.url}/_local/stats`,
  );
  return stats.calls.GetJob ?? 0;
}

/** Every Amplify API call the local Amplify has received since it started, by operation. */
export async function amplifyCalls(upstream: Upstream): Promise<Record<string, number>> {
  const stats = await controlJson<{ calls: Record<string, number> }>(
    `${upstream.url}/_local/stats`,
  );
  return stats.calls;
}

/** Sum of all calls in a `calls` map. */
export function totalCalls(calls: Record<string, number>): number {
  return Object.values(calls).reduce((sum, n) => sum + n, 0);
}

/**
 * The branch with the most jobs outside the quirks app: W5's job-history page (its 20 newest jobs,
 * a mix of finished ones and, with the frozen clock, maybe one that runs forever).
 */
export async function busiestBranch(
  upstream: Upstream,
): Promise<{ appId: string; branchName: string }> {
  const world = await controlJson<{
    apps: { appId: string; branches: { branchName: string; jobs: number }[] }[];
    quirkJobs: { appId: string }[];
  }>(`${upstream.url}/_local/world`);
  const quirkApps = new Set(world.quirkJobs.map((q) => q.appId));
  const branches = world.apps
    .filter((app) => !quirkApps.has(app.appId))
    .flatMap((app) => app.branches.map((b) => ({ appId: app.appId, ...b })))
    .sort((a, b) => b.jobs - a.jobs);
  const top = branches[0];
  if (top === undefined) throw new Error('the local Amplify world has no branch for W5');
  return { appId: top.appId, branchName: top.branchName };
}

/** Adds fixed latency to every GetJob; returns the rule id. */
export async function addGetJobLatency(upstream: Upstream, latencyMs: number): Promise<string> {
  const { ids } = await controlJson<{ ids: string[] }>(`${upstream.url}/_local/faults`, 'POST', {
    kind: 'latency',
    operations: 'GetJob',
    latencyMs,
  });
  const id = ids[0];
  if (id === undefined) throw new Error('the local Amplify did not add the latency rule');
  return id;
}

export async function removeFault(upstream: Upstream, id: string): Promise<void> {
  await controlJson(`${upstream.url}/_local/faults/${encodeURIComponent(id)}`, 'DELETE');
}

interface WorldApps {
  apps: { appId: string; branches: { branchName: string }[] }[];
  quirkJobs: { appId: string }[];
}

/**
 * Starts `count` jobs through the Amplify API (StartJob, RELEASE), one per branch in turn, outside
 * the quirks app. With the clock frozen they never finish, so no cache may keep them: every
 * request that names them must ask Amplify again.
 */
export async function startJobs(upstream: Upstream, count: number): Promise<JobKey[]> {
  const world = await controlJson<WorldApps>(`${upstream.url}/_local/world`);
  const quirkApps = new Set(world.quirkJobs.map((q) => q.appId));
  const branches = world.apps
    .filter((app) => !quirkApps.has(app.appId))
    .flatMap((app) => app.branches.map((b) => ({ appId: app.appId, branchName: b.branchName })));
  if (branches.length === 0)
    throw new Error('the local Amplify world has no branch to start jobs on');
  const keys: JobKey[] = [];
  for (let i = 0; i < count; i++) {
    const { appId, branchName } = branches[i % branches.length]!;
    const started = await controlJson<{ jobSummary: { jobId: string } }>(
      `${upstream.url}/apps/${encodeURIComponent(appId)}/branches/${encodeURIComponent(branchName)}/jobs`,
      'POST',
      { jobType: 'RELEASE' },
    );
    keys.push({ appId, branchName, jobId: started.jobSummary.jobId });
  }
  return keys;
}
