/**
 * Wire shapes (restJson1, as the AWS SDK parses them) and the conversion from records. Rules that
 * matter to the SDK: timestamps are epoch seconds as JSON numbers with millisecond fractions (an
 * ISO string fails deserialization), member names equal the model's, and no `__type` anywhere in a
 * success payload (it would make the SDK copy unknown keys into the output).
 */
import { CYPRESS_SPECS, SCREENSHOT_DEVICES } from './catalog.js';
import { type DerivedJob, type DerivedStep, deriveJob } from './job-state.js';
import type { AppRecord, BranchRecord, JobRecord } from './model.js';
import type { AppWire, BranchWire, JobSummaryWire, JobWire, StepWire } from './wire-types.js';

/** Epoch milliseconds -> epoch seconds with a millisecond fraction, e.g. 1731412805.456. */
export function toEpochSeconds(ms: number): number {
  return ms / 1000;
}

/** URLs of downloadable files served by the emulator itself under /_files/. */
export class FileUrls {
  constructor(public base: string) {}

  #jobPath(job: JobRecord): string {
    const branch = job.branch;
    return `${branch.app.appId}/${encodeURIComponent(branch.branchName)}/${job.jobId}`;
  }

  log(job: JobRecord, step: string): string {
    return `${this.base}/_files/logs/${this.#jobPath(job)}/${step}.log`;
  }

  buildArtifacts(job: JobRecord, step: string): string {
    return `${this.base}/_files/artifacts/${this.#jobPath(job)}/${step}.zip`;
  }

  testArtifacts(job: JobRecord): string {
    return `${this.base}/_files/test-artifacts/${this.#jobPath(job)}/TEST.zip`;
  }

  testConfig(job: JobRecord): string {
    return `${this.base}/_files/test-config/${this.#jobPath(job)}/TEST.yml`;
  }

  screenshot(job: JobRecord, step: string, name: string): string {
    return `${this.base}/_files/screenshots/${this.#jobPath(job)}/${step}/${encodeURIComponent(name)}`;
  }

  thumbnail(branch: BranchRecord): string {
    return `${this.base}/_files/thumbnails/${branch.app.appId}/${encodeURIComponent(branch.branchName)}.png`;
  }

  artifact(artifactId: string): string {
    return `${this.base}/_files/artifact/${artifactId}`;
  }
}

export function testSpecsOf(job: JobRecord): string[] {
  const specs: string[] = [];
  for (const artifact of job.artifacts) {
    const match = artifact.artifactFileName.startsWith('cypress/videos/')
      ? artifact.artifactFileName.slice('cypress/videos/'.length, -'.mp4'.length)
      : undefined;
    if (match !== undefined && CYPRESS_SPECS.includes(match)) specs.push(match);
  }
  return specs;
}

export function summaryWire(job: JobRecord, derived: DerivedJob): JobSummaryWire {
  const summary: JobSummaryWire = {
    jobArn: job.jobArn,
    jobId: job.jobId,
    commitId: job.commitId,
    commitMessage: job.commitMessage,
    commitTime: toEpochSeconds(job.commitTime),
    startTime: toEpochSeconds(job.createdAt),
    status: derived.status,
  };
  if (derived.endAt !== undefined) summary.endTime = toEpochSeconds(derived.endAt);
  summary.jobType = job.jobType;
  if (job.sourceUrl !== undefined) summary.sourceUrl = job.sourceUrl;
  if (job.sourceUrlType !== undefined) summary.sourceUrlType = job.sourceUrlType;
  return applySummaryQuirk(job, summary);
}

function stepWire(job: JobRecord, step: DerivedStep, urls: FileUrls): StepWire {
  const wire: StepWire = {
    stepName: step.name,
    startTime: toEpochSeconds(step.startAt),
    status: step.status,
  };
  if (step.endAt !== undefined) wire.endTime = toEpochSeconds(step.endAt);
  wire.logUrl = urls.log(job, step.name);
  const succeeded = step.completed && step.status === 'SUCCEED';
  if (step.name === 'BUILD' && succeeded) wire.artifactsUrl = urls.buildArtifacts(job, step.name);
  if (step.name === 'TEST' && step.completed) {
    wire.testArtifactsUrl = urls.testArtifacts(job);
    wire.testConfigUrl = urls.testConfig(job);
    const screenshots: Record<string, string> = {};
    for (const spec of testSpecsOf(job)) {
      screenshots[`${spec}.png`] = urls.screenshot(job, step.name, `${spec}.png`);
    }
    wire.screenshots = screenshots;
  }
  if (step.name === 'VERIFY' && succeeded) {
    const screenshots: Record<string, string> = {};
    for (const device of SCREENSHOT_DEVICES) {
      screenshots[device] = urls.screenshot(job, step.name, device);
    }
    wire.screenshots = screenshots;
  }
  if (step.statusReason !== undefined) wire.statusReason = step.statusReason;
  if (step.plan.context !== undefined) wire.context = step.plan.context;
  return wire;
}

export function jobWire(job: JobRecord, now: number, urls: FileUrls): JobWire {
  const derived = deriveJob(job, now);
  const wire: JobWire = {
    summary: summaryWire(job, derived),
    steps: derived.steps.map((step) => stepWire(job, step, urls)),
  };
  return applyJobQuirk(job, wire);
}

/** The live-service deviations of spec §7, applied to pinned sample jobs only. */
function applySummaryQuirk(job: JobRecord, summary: JobSummaryWire): JobSummaryWire {
  switch (job.quirk) {
    case 'sparseSummary':
      return { jobArn: summary.jobArn, jobId: summary.jobId, status: summary.status };
    case 'unknownEnums':
      return {
        ...summary,
        status: 'WEIRD_NEW_STATUS',
        jobType: 'SCHEDULED',
        sourceUrlType: 'GIT_ARCHIVE',
      };
    default:
      return summary;
  }
}

function applyJobQuirk(job: JobRecord, wire: JobWire): JobWire {
  switch (job.quirk) {
    case 'sparseSummary':
      return { summary: wire.summary, steps: [] };
    case 'unknownEnums': {
      const steps = wire.steps.map((step, index) =>
        index === 1 ? { ...step, status: 'WEIRD_STEP_STATUS' } : step,
      );
      return { summary: wire.summary, steps };
    }
    case 'emptyUrls':
      return {
        summary: wire.summary,
        steps: wire.steps.map((step) => ({
          ...step,
          logUrl: '',
          ...(step.stepName === 'BUILD' ? { artifactsUrl: '' } : {}),
        })),
      };
    default:
      return wire;
  }
}

/** The status a job reports on the wire (quirk samples report values outside the enum). */
export function wireStatus(job: JobRecord, status: string): string {
  if (job.quirk === 'unknownEnums') return 'WEIRD_NEW_STATUS';
  return status;
}

export function wireJobType(job: JobRecord): string | undefined {
  if (job.quirk === 'sparseSummary') return undefined;
  if (job.quirk === 'unknownEnums') return 'SCHEDULED';
  return job.jobType;
}

function newestSettledDeploy(
  branch: BranchRecord,
  now: number,
): { endAt: number; status: string } | undefined {
  for (let i = branch.jobs.length - 1; i >= 0; i--) {
    const derived = deriveJob(branch.jobs[i]!, now);
    if (
      (derived.status === 'SUCCEED' || derived.status === 'FAILED') &&
      derived.endAt !== undefined
    ) {
      return { endAt: derived.endAt, status: derived.status };
    }
  }
  return undefined;
}

function hasSucceeded(branch: BranchRecord, now: number): boolean {
  for (let i = branch.jobs.length - 1; i >= 0; i--) {
    if (deriveJob(branch.jobs[i]!, now).status === 'SUCCEED') return true;
  }
  return false;
}

export function appWire(app: AppRecord, now: number, urls: FileUrls): AppWire {
  const wire: AppWire = {
    appId: app.appId,
    appArn: app.appArn,
    name: app.name,
    tags: { ...app.tags },
    platform: app.platform,
    createTime: toEpochSeconds(app.createdAt),
    updateTime: toEpochSeconds(app.updatedAt),
    environmentVariables: { ...app.environmentVariables },
    defaultDomain: `${app.appId}.amplifyapp.com`,
    enableBranchAutoBuild: !app.manualDeploy,
    enableBranchAutoDeletion: false,
    enableBasicAuth: false,
    customRules: app.customRules.map((rule) => ({ ...rule })),
    enableAutoBranchCreation: app.autoBranchCreationPatterns !== undefined,
    cacheConfig: { type: 'AMPLIFY_MANAGED' },
    jobConfig: { buildComputeType: app.buildComputeType },
  };
  // The live service has been seen omitting these "required" members (spec §7).
  if (app.description !== undefined) wire.description = app.description;
  if (app.repository !== undefined) wire.repository = app.repository;
  if (app.computeRoleArn !== undefined) wire.computeRoleArn = app.computeRoleArn;
  if (app.iamServiceRoleArn !== undefined) wire.iamServiceRoleArn = app.iamServiceRoleArn;
  const production =
    app.productionBranchName === undefined ? undefined : app.branches.get(app.productionBranchName);
  if (production !== undefined) {
    const deploy = newestSettledDeploy(production, now);
    wire.productionBranch = {
      ...(deploy === undefined
        ? {}
        : { lastDeployTime: toEpochSeconds(deploy.endAt), status: deploy.status }),
      thumbnailUrl: urls.thumbnail(production),
      branchName: production.branchName,
    };
  }
  if (app.autoBranchCreationPatterns !== undefined) {
    wire.autoBranchCreationPatterns = [...app.autoBranchCreationPatterns];
    wire.autoBranchCreationConfig = {
      stage: 'DEVELOPMENT',
      framework: app.framework,
      enableAutoBuild: true,
      environmentVariables: {},
      enableBasicAuth: false,
      enablePullRequestPreview: false,
    };
  }
  if (app.webhookCreateTime !== undefined) {
    wire.webhookCreateTime = toEpochSeconds(app.webhookCreateTime);
  }
  return wire;
}

export function branchWire(branch: BranchRecord, now: number, urls: FileUrls): BranchWire {
  const newest = branch.jobs[branch.jobs.length - 1];
  const wire: BranchWire = {
    branchArn: branch.branchArn,
    branchName: branch.branchName,
    tags: { ...branch.tags },
    stage: branch.stage,
    displayName: branch.displayName,
    enableNotification: branch.enableNotification,
    createTime: toEpochSeconds(branch.createdAt),
    updateTime: toEpochSeconds(branch.updatedAt),
    enableAutoBuild: branch.enableAutoBuild,
    enableSkewProtection: branch.enableSkewProtection,
    totalNumberOfJobs: String(branch.jobs.length),
    enableBasicAuth: branch.enableBasicAuth,
    enablePerformanceMode: branch.enablePerformanceMode,
    ttl: branch.ttl,
    enablePullRequestPreview: branch.enablePullRequestPreview,
  };
  if (branch.description !== undefined) wire.description = branch.description;
  if (branch.environmentVariables !== undefined) {
    wire.environmentVariables = { ...branch.environmentVariables };
  }
  if (branch.customDomains !== undefined) wire.customDomains = [...branch.customDomains];
  if (branch.framework !== undefined) wire.framework = branch.framework;
  if (!branch.sparse && newest !== undefined) wire.activeJobId = newest.jobId;
  if (hasSucceeded(branch, now)) wire.thumbnailUrl = urls.thumbnail(branch);
  if (branch.pullRequest !== undefined) {
    wire.pullRequestEnvironmentName = branch.pullRequest.environmentName;
    wire.destinationBranch = branch.pullRequest.destinationBranch;
    wire.sourceBranch = branch.pullRequest.sourceBranch;
  }
  if (branch.backendStackArn !== undefined) wire.backend = { stackArn: branch.backendStackArn };
  if (branch.app.computeRoleArn !== undefined) wire.computeRoleArn = branch.app.computeRoleArn;
  return wire;
}
