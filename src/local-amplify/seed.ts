/**
 * Generates the demo world from a seed: same seed and start time give a byte-identical world.
 * Every entity draws from its own keyed Rng, so (for example) adding a branch to the catalog does
 * not reshuffle the jobs of the others.
 */
import { createHash } from 'node:crypto';
import {
  APP_BLUEPRINTS,
  type AppBlueprint,
  type BranchBlueprint,
  branch,
  COMMIT_MESSAGES,
  CYPRESS_SPECS,
  type LiveStatus,
  QUIRKS_APP_NAME,
} from './catalog.js';
import { planTimeline, shiftTimeline, stepNamesFor, type Timeline } from './job-plan.js';
import type {
  AppRecord,
  ArtifactRecord,
  BranchRecord,
  JobRecord,
  JobType,
  Outcome,
  QuirkKind,
  SourceUrlType,
} from './model.js';
import { type Rng, rngFor } from './random.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** "Never" for pinned quirk jobs: far enough that no test or demo reaches it. */
const PINNED_FOR = 10 * 365 * DAY;

export interface WorldConfig {
  readonly seed: string;
  readonly startMs: number;
  readonly region: string;
  readonly accountId: string;
}

export interface QuirkJobRef {
  readonly kind: QuirkKind;
  readonly job: JobRecord;
}

export interface WorldData {
  readonly apps: AppRecord[];
  readonly quirkJobs: QuirkJobRef[];
  readonly quirkBranches: BranchRecord[];
  readonly artifacts: Map<string, ArtifactRecord>;
}

export function partitionFor(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export function jobArnFor(branch: BranchRecord, jobNumber: number): string {
  return `${branch.branchArn}/jobs/${String(jobNumber).padStart(10, '0')}`;
}

/** Branch names with `/` become `-` in the default domain prefix. */
export function displayNameFor(branchName: string): string {
  return branchName.replace(/[/\s]/g, '-');
}

export interface JobFields {
  readonly jobType: JobType;
  readonly commitId: string;
  readonly commitMessage: string;
  readonly commitTime: number;
  readonly sourceUrl?: string;
  readonly sourceUrlType?: SourceUrlType;
  readonly jobReason?: string;
}

/** Builds a job record (and its test artifacts) and appends it to its branch. */
export function addJob(
  config: WorldConfig,
  artifacts: Map<string, ArtifactRecord>,
  branch: BranchRecord,
  fields: JobFields,
  timeline: Timeline,
  extra: { viaApi: boolean; quirk?: QuirkKind; cancel?: JobRecord['cancel'] },
): JobRecord {
  const jobNumber = branch.nextJobNumber++;
  const jobId = String(jobNumber);
  const jobArtifacts: ArtifactRecord[] = [];
  const job: JobRecord = {
    branch,
    jobNumber,
    jobId,
    jobArn: jobArnFor(branch, jobNumber),
    ...fields,
    createdAt: timeline.createdAt,
    pendingAt: timeline.pendingAt,
    provisioningAt: timeline.provisioningAt,
    runningAt: timeline.runningAt,
    steps: timeline.steps,
    outcome: timeline.outcome,
    endAt: timeline.endAt,
    ...(extra.cancel === undefined ? {} : { cancel: extra.cancel }),
    viaApi: extra.viaApi,
    ...(extra.quirk === undefined ? {} : { quirk: extra.quirk }),
    artifacts: jobArtifacts,
  };
  const test = timeline.steps.find((s) => s.name === 'TEST');
  if (test !== undefined) {
    const rng = rngFor(config.seed, 'artifacts', branch.app.appId, branch.branchName, jobId);
    const specs = CYPRESS_SPECS.slice(0, rng.int(3, CYPRESS_SPECS.length));
    const names = specs.map((spec) => `cypress/videos/${spec}.mp4`);
    names.push('cypress/reports/mochawesome.json');
    if (test.outcome === 'FAILED') names.push(`cypress/screenshots/${rng.pick(specs)}/failure.png`);
    for (const artifactFileName of names) {
      const artifactId = createHash('sha256')
        .update(`${config.seed}\u0000${job.jobArn}\u0000${artifactFileName}`)
        .digest('hex')
        .slice(0, 32);
      const record: ArtifactRecord = { artifactId, artifactFileName, job };
      jobArtifacts.push(record);
      artifacts.set(artifactId, record);
    }
  }
  branch.jobs.push(job);
  branch.jobsById.set(jobId, job);
  if (timeline.createdAt > branch.updatedAt) branch.updatedAt = timeline.createdAt;
  return job;
}

function newAppId(rng: Rng): string {
  return `d${rng.alnum(13)}`;
}

function createApp(
  config: WorldConfig,
  seq: number,
  blueprint: AppBlueprint,
  rng: Rng,
  quirks: boolean,
): AppRecord {
  const appId = newAppId(rng);
  const appArn = `arn:${partitionFor(config.region)}:amplify:${config.region}:${config.accountId}:apps/${appId}`;
  const createdAt = config.startMs - rng.int(120 * DAY, 400 * DAY) - rng.int(0, 999);
  const production = blueprint.branches.find((b) => b.stage === 'PRODUCTION');
  const iamArn = `arn:aws:iam::${config.accountId}:role/amplifyconsole-backend-role`;
  return {
    seq,
    appId,
    appArn,
    name: blueprint.name,
    ...(quirks ? {} : { description: blueprint.description }),
    ...(blueprint.repository === undefined ? {} : { repository: blueprint.repository }),
    platform: blueprint.platform,
    framework: blueprint.framework,
    createdAt,
    updatedAt: config.startMs - rng.int(1 * DAY, 30 * DAY) - rng.int(0, 999),
    hasTests: blueprint.hasTests,
    manualDeploy: blueprint.manualDeploy,
    quirks,
    environmentVariables: blueprint.environmentVariables,
    tags: blueprint.tags,
    ...(quirks ? {} : { iamServiceRoleArn: iamArn }),
    ...(blueprint.platform === 'WEB_COMPUTE'
      ? { computeRoleArn: `arn:aws:iam::${config.accountId}:role/${blueprint.name}-compute` }
      : {}),
    customRules: [{ source: '/<*>', target: '/index.html', status: '404-200' }],
    ...(blueprint.autoBranchCreationPatterns === undefined
      ? {}
      : { autoBranchCreationPatterns: blueprint.autoBranchCreationPatterns }),
    buildComputeType: blueprint.buildComputeType,
    ...(blueprint.repository === undefined
      ? {}
      : { webhookCreateTime: createdAt + rng.int(2 * SECOND, 40 * SECOND) }),
    ...(production === undefined ? {} : { productionBranchName: production.name }),
    branches: new Map(),
    branchList: [],
  };
}

function createBranch(
  config: WorldConfig,
  app: AppRecord,
  blueprint: BranchBlueprint,
  gen2Backend: boolean,
  sparse: boolean,
): BranchRecord {
  const branchArn = `${app.appArn}/branches/${blueprint.name}`;
  const record: BranchRecord = {
    app,
    seq: app.branchList.length + 1,
    branchName: blueprint.name,
    branchArn,
    ...(sparse ? {} : { description: blueprint.description, framework: app.framework }),
    stage: blueprint.stage,
    displayName: displayNameFor(blueprint.name),
    // Replaced below once the first job's time is known.
    createdAt: 0,
    updatedAt: 0,
    ...(sparse ? {} : { environmentVariables: blueprint.environmentVariables }),
    tags: {},
    enableAutoBuild: blueprint.enableAutoBuild,
    enableNotification: blueprint.enableNotification,
    enableBasicAuth: blueprint.enableBasicAuth,
    enablePerformanceMode: blueprint.enablePerformanceMode,
    enableSkewProtection: app.platform === 'WEB_COMPUTE',
    enablePullRequestPreview: blueprint.stage === 'PULL_REQUEST',
    ttl: blueprint.ttl,
    ...(sparse ? {} : { customDomains: blueprint.customDomains }),
    ...(blueprint.pullRequest === undefined ? {} : { pullRequest: blueprint.pullRequest }),
    ...(gen2Backend
      ? {
          backendStackArn: `arn:aws:cloudformation:${config.region}:${config.accountId}:stack/amplify-${app.appId}-${displayNameFor(blueprint.name)}-branch-${app.appId.slice(1, 11)}/${app.appId.slice(1, 9)}-0000-4000-8000-${app.appId.slice(2, 14)}`,
        }
      : {}),
    sparse,
    jobs: [],
    jobsById: new Map(),
    nextJobNumber: 1,
  };
  app.branches.set(record.branchName, record);
  app.branchList.push(record);
  return record;
}

/**
 * A branch made after start (POST /_local/branches, `World.addBranch`): a development branch with
 * no jobs yet, created and updated at `now` (epoch ms).
 */
export function addBranch(
  config: WorldConfig,
  app: AppRecord,
  branchName: string,
  now: number,
): BranchRecord {
  const record = createBranch(
    config,
    app,
    branch(branchName, 'DEVELOPMENT', 'Created through the control API'),
    false,
    false,
  );
  record.createdAt = now;
  record.updatedAt = now;
  return record;
}

interface Commit {
  readonly id: string;
  readonly message: string;
  readonly time: number;
}

function newCommit(rng: Rng, time: number): Commit {
  return { id: rng.hex(40), message: rng.pick(COMMIT_MESSAGES), time };
}

function manualSource(rng: Rng, app: AppRecord, branch: BranchRecord, n: number) {
  const type: SourceUrlType = rng.chance(0.25) ? 'BUCKET_PREFIX' : 'ZIP';
  if (type === 'BUCKET_PREFIX') {
    return {
      sourceUrl: `s3://acme-${app.name}-artifacts/sites/${branch.displayName}/${n}/`,
      sourceUrlType: type,
    };
  }
  const sourceUrl = rng.chance(0.5)
    ? `s3://acme-${app.name}-artifacts/builds/${branch.displayName}/${n}/site.zip`
    : `https://artifacts.acme.example/${app.name}/${branch.displayName}-build-${n}.zip`;
  return { sourceUrl, sourceUrlType: type };
}

/** Where in its phase a live job sits at startup, and how long that phase lasts. */
function liveTimeline(
  rng: Rng,
  startMs: number,
  live: LiveStatus,
  base: Omit<Parameters<typeof planTimeline>[1], 'createdAt'>,
): { timeline: Timeline; cancel?: JobRecord['cancel'] } {
  // Long enough early phases that a demo (or a test reading the world) sees each status.
  const timeline = planTimeline(rng, {
    ...base,
    createdAt: 0,
    createdMs: live === 'CREATED' ? rng.int(45 * SECOND, 90 * SECOND) : rng.int(400, 3 * SECOND),
    pendingMs:
      live === 'PENDING' ? rng.int(30 * SECOND, 60 * SECOND) : rng.int(2 * SECOND, 9 * SECOND),
    provisioningMs:
      live === 'PROVISIONING'
        ? rng.int(30 * SECOND, 60 * SECOND)
        : rng.int(8 * SECOND, 35 * SECOND),
  });
  let from: number;
  let to: number;
  switch (live) {
    case 'CREATED':
      [from, to] = [timeline.createdAt, timeline.pendingAt];
      break;
    case 'PENDING':
      [from, to] = [timeline.pendingAt, timeline.provisioningAt];
      break;
    case 'PROVISIONING':
      [from, to] = [timeline.provisioningAt, timeline.runningAt];
      break;
    case 'RUNNING':
    case 'CANCELLING':
      [from, to] = [timeline.runningAt, timeline.endAt];
      break;
  }
  const point = from + Math.floor((to - from) * (0.2 + rng.next() * 0.3));
  const shifted = shiftTimeline(timeline, startMs - point);
  if (live !== 'CANCELLING') return { timeline: shifted };
  const requestedAt = Math.max(shifted.runningAt + 1, startMs - rng.int(1 * SECOND, 4 * SECOND));
  return {
    timeline: shifted,
    cancel: { requestedAt, completedAt: startMs + rng.int(30 * SECOND, 60 * SECOND) },
  };
}

interface ForcedJob {
  readonly jobType?: JobType;
  readonly outcome?: Outcome | 'CANCELLED';
}

/** The first branch of each repository app shows every type and terminal status early on. */
const SHOWCASE: readonly ForcedJob[] = [
  { jobType: 'RELEASE', outcome: 'SUCCEED' },
  { jobType: 'WEB_HOOK', outcome: 'FAILED' },
  { jobType: 'RETRY', outcome: 'SUCCEED' },
  { jobType: 'WEB_HOOK', outcome: 'CANCELLED' },
];

function seedBranchJobs(
  config: WorldConfig,
  artifacts: Map<string, ArtifactRecord>,
  branch: BranchRecord,
  live: LiveStatus | undefined,
  showcase: boolean,
): void {
  const app = branch.app;
  const rng = rngFor(config.seed, 'branch-jobs', app.appId, branch.branchName);
  const total = rng.int(30, 60);
  const stepNames = stepNamesFor(app);
  const base = { stepNames, slowBuild: app.platform === 'WEB_COMPUTE' };

  let liveJob: { timeline: Timeline; cancel?: JobRecord['cancel'] } | undefined;
  if (live !== undefined) {
    liveJob = liveTimeline(rng, config.startMs, live, {
      ...base,
      outcome: rng.chance(0.8) ? 'SUCCEED' : 'FAILED',
    });
  }
  const historical = live === undefined ? total : total - 1;
  // Creation times, newest first, then reversed: gaps of hours between builds.
  const times: number[] = [];
  let cursor =
    liveJob !== undefined
      ? liveJob.timeline.createdAt - rng.int(1 * HOUR, 10 * HOUR)
      : config.startMs - rng.int(20 * MINUTE, 8 * HOUR);
  for (let i = 0; i < historical; i++) {
    times.push(cursor - rng.int(0, 999));
    cursor -= rng.int(90 * MINUTE, 20 * HOUR);
  }
  times.reverse();
  const firstAt = times[0] ?? liveJob?.timeline.createdAt ?? config.startMs;
  // Records are built before their jobs; fix the branch's own times now.
  branch.createdAt = firstAt - rng.int(10 * MINUTE, 2 * DAY) - rng.int(0, 999);
  branch.updatedAt = branch.createdAt;

  let head: Commit | undefined;
  let previous: { job: JobRecord; commit: Commit; outcome: Outcome | 'CANCELLED' } | undefined;
  for (let i = 0; i < historical; i++) {
    const createdAt = times[i]!;
    const forced = showcase ? SHOWCASE[i] : undefined;
    const outcome: Outcome | 'CANCELLED' =
      forced?.outcome ?? rng.weighted({ SUCCEED: 75, FAILED: 15, CANCELLED: 10 });
    let jobType: JobType;
    if (app.manualDeploy) jobType = 'MANUAL';
    else if (forced?.jobType !== undefined) jobType = forced.jobType;
    else if (i === 0) jobType = 'RELEASE';
    else if (previous !== undefined && previous.outcome !== 'SUCCEED' && rng.chance(0.6)) {
      jobType = 'RETRY';
    } else jobType = rng.chance(0.8) ? 'WEB_HOOK' : 'RELEASE';

    let commit: Commit;
    if (jobType === 'RETRY' && previous !== undefined) commit = previous.commit;
    else if (jobType === 'RELEASE' && head !== undefined) commit = head;
    else if (jobType === 'RELEASE') commit = newCommit(rng, createdAt - rng.int(1 * HOUR, 3 * DAY));
    else commit = newCommit(rng, createdAt - rng.int(3 * SECOND, 90 * SECOND));
    head = commit;

    const planned = planTimeline(rng, {
      ...base,
      createdAt,
      outcome: outcome === 'CANCELLED' ? 'SUCCEED' : outcome,
    });
    let cancel: JobRecord['cancel'];
    if (outcome === 'CANCELLED') {
      const requestedAt =
        planned.pendingAt + Math.floor((planned.endAt - planned.pendingAt) * rng.next() * 0.8);
      cancel = { requestedAt, completedAt: requestedAt + rng.int(2 * SECOND, 9 * SECOND) };
    }
    const job = addJob(
      config,
      artifacts,
      branch,
      jobFields(rng, app, branch, jobType, commit, createdAt),
      planned,
      { viaApi: false, ...(cancel === undefined ? {} : { cancel }) },
    );
    previous = { job, commit, outcome };
  }
  if (liveJob !== undefined) {
    const createdAt = liveJob.timeline.createdAt;
    const jobType: JobType = app.manualDeploy ? 'MANUAL' : 'WEB_HOOK';
    const commit = newCommit(rng, createdAt - rng.int(3 * SECOND, 60 * SECOND));
    addJob(
      config,
      artifacts,
      branch,
      jobFields(rng, app, branch, jobType, commit, createdAt),
      liveJob.timeline,
      { viaApi: false, ...(liveJob.cancel === undefined ? {} : { cancel: liveJob.cancel }) },
    );
  }
}

function jobFields(
  rng: Rng,
  app: AppRecord,
  branch: BranchRecord,
  jobType: JobType,
  commit: Commit,
  createdAt: number,
): JobFields {
  if (jobType === 'MANUAL') {
    return {
      jobType,
      commitId: 'HEAD',
      commitMessage: 'Manual deploy',
      commitTime: createdAt,
      ...manualSource(rng, app, branch, branch.nextJobNumber),
    };
  }
  return { jobType, commitId: commit.id, commitMessage: commit.message, commitTime: commit.time };
}

const QUIRKS_BLUEPRINT: AppBlueprint = {
  name: QUIRKS_APP_NAME,
  description: '',
  platform: 'WEB',
  framework: 'Web',
  hasTests: false,
  manualDeploy: false,
  gen2Backend: false,
  buildComputeType: 'STANDARD_8GB',
  environmentVariables: {},
  tags: { purpose: 'live-service-deviations' },
  buildCommand: 'npm run build',
  packageName: 'quirks',
  branches: [
    branch('main', 'NONE', 'Stage NONE, as seen from the live service'),
    branch('legacy', 'DEVELOPMENT', '', { enableAutoBuild: false }),
  ],
};

function seedQuirksApp(
  config: WorldConfig,
  artifacts: Map<string, ArtifactRecord>,
  seq: number,
): { app: AppRecord; quirkJobs: QuirkJobRef[]; quirkBranches: BranchRecord[] } {
  const rng = rngFor(config.seed, 'app', QUIRKS_APP_NAME);
  const app = createApp(config, seq, QUIRKS_BLUEPRINT, rng, true);
  const main = createBranch(config, app, QUIRKS_BLUEPRINT.branches[0]!, false, false);
  const legacy = createBranch(config, app, QUIRKS_BLUEPRINT.branches[1]!, false, true);
  const t0 = config.startMs;
  for (const branch of [main, legacy]) {
    branch.createdAt = t0 - 30 * DAY - rng.int(0, DAY);
    branch.updatedAt = branch.createdAt;
  }
  const stepNames = stepNamesFor(app);
  const plan = (createdAt: number, outcome: Outcome) =>
    planTimeline(rng, { createdAt, stepNames, outcome, slowBuild: false });
  const commitJob = (
    branch: BranchRecord,
    timeline: Timeline,
    quirk?: QuirkKind,
    extra?: Partial<JobFields>,
  ) => {
    const commit = newCommit(rng, timeline.createdAt - rng.int(5 * SECOND, 60 * SECOND));
    return addJob(
      config,
      artifacts,
      branch,
      { ...jobFields(rng, app, branch, 'WEB_HOOK', commit, timeline.createdAt), ...extra },
      timeline,
      { viaApi: false, ...(quirk === undefined ? {} : { quirk }) },
    );
  };

  // 1: an ordinary job, for contrast.
  commitJob(main, plan(t0 - 3 * DAY - rng.int(0, HOUR), 'SUCCEED'));
  // 2: summary with only jobArn, jobId and status (seen from start-deployment); pinned PENDING.
  const sparseAt = t0 - 40 * SECOND - rng.int(0, 999);
  const pinned = t0 + PINNED_FOR;
  const sparse = commitJob(
    main,
    {
      createdAt: sparseAt,
      pendingAt: sparseAt + 700,
      provisioningAt: pinned,
      runningAt: pinned,
      steps: [],
      endAt: pinned,
      outcome: 'SUCCEED',
    },
    'sparseSummary',
  );
  // 3: values outside the enums in status, jobType, sourceUrlType and one step status.
  const weird = commitJob(main, plan(t0 - 2 * DAY - rng.int(0, HOUR), 'SUCCEED'), 'unknownEnums', {
    sourceUrl: `s3://quirks-${app.appId}/source/archive.tar.gz`,
    sourceUrlType: 'ZIP',
  });
  // 4: empty-string URLs on finished steps.
  const empty = commitJob(main, plan(t0 - 1 * DAY - rng.int(0, HOUR), 'SUCCEED'), 'emptyUrls');
  // 5: RUNNING for good, its DEPLOY step running without endTime.
  const runAt = t0 - 3 * MINUTE - rng.int(0, 999);
  const base = plan(runAt, 'SUCCEED');
  const build = base.steps[0]!;
  const deployStart = build.endAt + 400;
  const running = commitJob(
    main,
    {
      ...base,
      steps: [build, { name: 'DEPLOY', startAt: deployStart, endAt: pinned, outcome: 'SUCCEED' }],
      endAt: pinned + 1,
    },
    'runningStepWithoutEndTime',
  );
  for (let i = 0; i < 3; i++)
    commitJob(legacy, plan(t0 - (10 - i) * DAY - rng.int(0, HOUR), 'SUCCEED'));
  // legacy 4: finished, its BUILD log a few MiB long. Newer than the other legacy jobs, so job
  // numbers still grow with time; drawn last, so nothing drawn before it changes.
  const huge = commitJob(legacy, plan(t0 - 12 * HOUR - rng.int(0, HOUR), 'SUCCEED'), 'hugeLog');
  return {
    app,
    quirkJobs: [
      { kind: 'sparseSummary', job: sparse },
      { kind: 'unknownEnums', job: weird },
      { kind: 'emptyUrls', job: empty },
      { kind: 'runningStepWithoutEndTime', job: running },
      { kind: 'hugeLog', job: huge },
    ],
    quirkBranches: [main, legacy],
  };
}

export function generateWorld(config: WorldConfig): WorldData {
  const artifacts = new Map<string, ArtifactRecord>();
  const apps: AppRecord[] = [];
  const usedIds = new Set<string>();
  for (const blueprint of APP_BLUEPRINTS) {
    const rng = rngFor(config.seed, 'app', blueprint.name);
    const app = createApp(config, apps.length + 1, blueprint, rng, false);
    if (usedIds.has(app.appId)) throw new Error(`appId collision for seed ${config.seed}`);
    usedIds.add(app.appId);
    apps.push(app);
    blueprint.branches.forEach((branchBlueprint, index) => {
      const branch = createBranch(config, app, branchBlueprint, blueprint.gen2Backend, false);
      const showcase = index === 0 && !app.manualDeploy;
      seedBranchJobs(config, artifacts, branch, branchBlueprint.live, showcase);
    });
  }
  const quirks = seedQuirksApp(config, artifacts, apps.length + 1);
  apps.push(quirks.app);
  return { apps, quirkJobs: quirks.quirkJobs, quirkBranches: quirks.quirkBranches, artifacts };
}
