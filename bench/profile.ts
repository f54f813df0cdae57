/**
 * `--profile`: the gateway under `node --cpu-prof`, one fresh process per workload. Samples are
 * kept only from the measured window (after warm-up, before shutdown), by the monotonic clock
 * both the profiler and this runner read. Also profiles one cold start (spawn -> first answer).
 * The local Amplify runs on the load CPU meanwhile (see runProfiles).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { postJson } from './http.js';
import { runLoad } from './load.js';
import type { BenchContext, Workload } from './measure.js';
import { pin } from './processes.js';
import {
  type CpuProfile,
  formatSummary,
  type ProfileSummary,
  summarize,
} from './profile-summary.js';
import { spawnServer, TARGET_SCRIPTS } from './targets.js';

export interface ProfileResult {
  workload: string;
  file: string;
  summary: ProfileSummary;
}

/** The top of each list for the console; the files next to the profiles have 40 of each. */
function brief(summary: ProfileSummary): string {
  return formatSummary({
    ...summary,
    byPackage: summary.byPackage.slice(0, 12),
    byCaller: summary.byCaller.slice(0, 12),
    bySelf: summary.bySelf.slice(0, 12),
    byInclusive: summary.byInclusive.slice(0, 20),
  });
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function profileOne(
  ctx: BenchContext,
  dir: string,
  name: string,
  during: (url: string) => Promise<{ fromUs: number; toUs: number }>,
): Promise<ProfileResult> {
  const server = await spawnServer(
    ctx.args.node,
    [
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      `--cpu-prof-name=${name}.cpuprofile`,
      join(ctx.root, TARGET_SCRIPTS.gateway),
    ],
    { cpu: ctx.serverCpu, env: ctx.env, cwd: ctx.root },
    'gateway (profiled)',
  );
  let window: { fromUs: number; toUs: number };
  try {
    window = await during(server.url);
  } finally {
    // main.js exits through process.exit on SIGTERM, which writes the profile.
    await server.process.stop(10_000);
  }
  const file = readdirSync(dir).find((f) => f === `${name}.cpuprofile`);
  if (file === undefined)
    throw new Error(`the profiled gateway wrote no ${name}.cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const summary = summarize(profile, 40, window);
  writeFileSync(join(dir, `${name}.summary.txt`), `${formatSummary(summary)}\n`);
  return { workload: name, file: join(dir, file), summary };
}

export async function runProfiles(
  ctx: BenchContext,
  workloads: readonly Workload[],
  coldWorkload: Workload,
  dir: string,
): Promise<ProfileResult[]> {
  mkdirSync(dir, { recursive: true });
  // V8's sampler charges a preempted thread's time to the frame it was preempted in; with the
  // local Amplify on the same CPU, every loopback write that wakes it would look expensive.
  // While profiling, the local Amplify moves to the load CPU, so samples are the gateway's own work.
  await pin(ctx.upstream.process.pid, ctx.loadCpu);
  try {
    return await profileAll(ctx, workloads, coldWorkload, dir);
  } finally {
    await pin(ctx.upstream.process.pid, ctx.serverCpu);
  }
}

async function profileAll(
  ctx: BenchContext,
  workloads: readonly Workload[],
  coldWorkload: Workload,
  dir: string,
): Promise<ProfileResult[]> {
  const results: ProfileResult[] = [];
  for (const workload of workloads) {
    const seconds = ctx.args.seconds * 2;
    console.log(
      `\nprofile: gateway under ${workload.name}, ${ctx.args.warmupSeconds} s warm-up then ${seconds} s sampled`,
    );
    const load = (url: string, s: number) =>
      runLoad({
        generator: ctx.generator,
        node: ctx.args.node,
        autocannonCli: ctx.autocannonCli,
        cpu: ctx.loadCpu,
        url,
        body: workload.body,
        expected: workload.expected,
        connections: ctx.args.connections,
        seconds: s,
      });
    const result = await profileOne(ctx, dir, `gateway-${workload.name}`, async (url) => {
      await load(url, ctx.args.warmupSeconds);
      const fromUs = nowUs();
      await load(url, seconds);
      return { fromUs, toUs: nowUs() };
    });
    console.log(brief(result.summary));
    results.push(result);
  }
  console.log('\nprofile: one cold start (spawn -> first correct W1 answer)');
  const cold = await profileOne(ctx, dir, 'gateway-cold-start', async (url) => {
    await postJson(url, coldWorkload.body, false);
    return { fromUs: 0, toUs: Number.MAX_SAFE_INTEGER };
  });
  console.log(brief(cold.summary));
  results.push(cold);
  console.log(`\nprofiles: ${dir} (open them in Chrome DevTools > Performance, or speedscope)`);
  return results;
}
