/** Facts about the local Amplify's demo world that many tests pick jobs from. */
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import type { JobKey } from '../../src/upstream/shapes.js';

/**
 * Ordinary jobs of the demo world: none from the quirks app, whose jobs deliberately miss members
 * the way the live service sometimes does. Branch names with `/`, spaces and non-ASCII included.
 */
export function ordinaryJobs(la: LocalAmplify): JobKey[] {
  const quirkApps = new Set(
    la.world
      .apps()
      .filter((app) => app.quirks)
      .map((app) => app.appId),
  );
  return la.world
    .listJobKeys()
    .filter((job) => !quirkApps.has(job.appId))
    .map(({ appId, branchName, jobId }) => ({ appId, branchName, jobId }));
}

/** One job from each of the first `count` branches, so keys differ in every field. */
export function jobsFromDistinctBranches(la: LocalAmplify, count: number): JobKey[] {
  const seen = new Set<string>();
  const picked: JobKey[] = [];
  for (const job of ordinaryJobs(la)) {
    const branch = `${job.appId}/${job.branchName}`;
    if (seen.has(branch)) continue;
    seen.add(branch);
    picked.push(job);
    if (picked.length === count) return picked;
  }
  throw new Error(`the demo world has only ${picked.length} ordinary branches, ${count} needed`);
}

/** What the local Amplify's GetJob answers now for a job; fails the test when there is none. */
export function wireJob(la: LocalAmplify, key: JobKey) {
  const wire = la.world.getJobWire(key.appId, key.branchName, key.jobId);
  if (wire === undefined) throw new Error(`no job ${JSON.stringify(key)} in the local Amplify`);
  return wire.job;
}
