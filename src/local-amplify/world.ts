/**
 * The world's state and its rules: lookups with useful NotFound messages, job creation, stopping
 * and deletion, the concurrent-jobs quota, and cached wire bodies for jobs that can no longer
 * change (the GetJob hot path then costs a map lookup and a socket write).
 */
import { createHash } from 'node:crypto';
import { COMMIT_MESSAGES } from './catalog.js';
import { AmplifyError, badRequest, notFound, quoteValue } from './errors.js';
import { planTimeline, stepNamesFor } from './job-plan.js';
import { deriveJob, jobStatusAt } from './job-state.js';
import {
  type AppRecord,
  type ArtifactRecord,
  type BranchRecord,
  isTerminalStatus,
  type JobRecord,
  type JobType,
  type QuirkKind,
} from './model.js';
import { PageTokens } from './pagination.js';
import { rngFor } from './random.js';
import {
  addBranch,
  addJob,
  generateWorld,
  type JobFields,
  type QuirkJobRef,
  type WorldConfig,
} from './seed.js';
import type { StartDeploymentInput, StartJobInput } from './validation.js';
import { FileUrls, jobWire, summaryWire, wireJobType, wireStatus } from './wire.js';
import type { JobSummaryWire, JobWire } from './wire-types.js';

/** How long a stopped job stays CANCELLING before it is CANCELLED (virtual time). */
export const CANCEL_DELAY_MS = 5000;

export interface JobKeyFilter {
  readonly status?: string;
  readonly jobType?: string;
  readonly appId?: string;
  readonly branchName?: string;
}

/** A job's key and its wire status and type as of now. */
export interface JobKeyInfo {
  readonly appId: string;
  readonly branchName: string;
  readonly jobId: string;
  readonly status: string;
  readonly jobType: string | undefined;
}

export class World {
  readonly config: WorldConfig;
  readonly urls: FileUrls;
  readonly tokens: PageTokens;
  readonly apps: readonly AppRecord[];
  readonly quirks: readonly QuirkJobRef[];
  readonly quirkBranches: readonly BranchRecord[];
  readonly artifacts: Map<string, ArtifactRecord>;
  readonly concurrentJobsLimit: number;
  readonly #appsById = new Map<string, AppRecord>();
  /** Jobs started through the API that may still be running (pruned lazily). */
  readonly #apiJobs = new Set<JobRecord>();
  /** Called with each job StartJob or StartDeployment creates (the event publisher watches it). */
  onJobCreated: ((job: JobRecord) => void) | undefined;

  constructor(config: WorldConfig, concurrentJobsLimit: number, baseUrl: string) {
    this.config = config;
    this.concurrentJobsLimit = concurrentJobsLimit;
    this.urls = new FileUrls(baseUrl);
    this.tokens = new PageTokens(
      createHash('sha256').update(`local-amplify page tokens\u0000${config.seed}`).digest(),
    );
    const data = generateWorld(config);
    this.apps = data.apps;
    this.quirks = data.quirkJobs;
    this.quirkBranches = data.quirkBranches;
    this.artifacts = data.artifacts;
    for (const app of data.apps) this.#appsById.set(app.appId, app);
  }

  /** Where the emulator serves files; set once the listening port is known. */
  setBaseUrl(baseUrl: string): void {
    this.urls.base = baseUrl;
    for (const app of this.apps) {
      for (const branch of app.branchList) {
        for (const job of branch.jobs) job.settledBody = undefined;
      }
    }
  }

  app(appId: string): AppRecord {
    const app = this.#appsById.get(appId);
    if (app === undefined) throw notFound(`App ${appId} not found`);
    return app;
  }

  branch(appId: string, branchName: string): BranchRecord {
    const branch = this.app(appId).branches.get(branchName);
    if (branch === undefined) {
      throw notFound(`Branch ${quoteValue(branchName)} not found for app ${appId}`);
    }
    return branch;
  }

  /**
   * Adds a branch with no jobs to an app, as a team pushing a new branch would (not an operation
   * of the Amplify API this emulator serves; the control API's POST /_local/branches). Throws
   * NotFoundException for an unknown app, BadRequestException for a name Amplify would refuse
   * (empty, longer than 255 characters) or one the app already has.
   */
  addBranch(appId: string, branchName: string, now: number): BranchRecord {
    const app = this.app(appId);
    if (branchName.length === 0 || branchName.length > 255) {
      throw badRequest('branchName must be 1 to 255 characters long');
    }
    if (app.branches.has(branchName)) {
      throw badRequest(`Branch ${branchName} already exists in app ${appId}`);
    }
    return addBranch(this.config, app, branchName, now);
  }

  job(appId: string, branchName: string, jobId: string): JobRecord {
    const job = this.branch(appId, branchName).jobsById.get(jobId);
    if (job === undefined) throw notFound(`Job ${jobId} not found`);
    return job;
  }

  jobWire(job: JobRecord, now: number): JobWire {
    return jobWire(job, now, this.urls);
  }

  summary(job: JobRecord, now: number): JobSummaryWire {
    // Shared, not copied: callers serialize it and never change it.
    if (job.settledSummary !== undefined) return job.settledSummary;
    const derived = deriveJob(job, now);
    const summary = summaryWire(job, derived);
    if (derived.settled && job.quirk === undefined) job.settledSummary = summary;
    return summary;
  }

  /** The exact GetJob response body; cached once the job is terminal (it cannot change then). */
  getJobBody(job: JobRecord, now: number): Buffer {
    if (job.settledBody !== undefined) return job.settledBody;
    const body = Buffer.from(JSON.stringify({ job: this.jobWire(job, now) }));
    if (job.quirk === undefined && isTerminalStatus(jobStatusAt(job, now))) job.settledBody = body;
    return body;
  }

  /** Non-terminal jobs started through the API, across the whole account (the quota's count). */
  activeApiJobs(now: number): number {
    let active = 0;
    for (const job of this.#apiJobs) {
      if (isTerminalStatus(jobStatusAt(job, now))) this.#apiJobs.delete(job);
      else active++;
    }
    return active;
  }

  #checkQuota(now: number): void {
    if (this.activeApiJobs(now) >= this.concurrentJobsLimit) {
      throw new AmplifyError(
        'LimitExceededException',
        `You have reached the limit of ${this.concurrentJobsLimit} concurrent jobs for this account. Wait for a job to finish or stop one, then try again.`,
      );
    }
  }

  #newJob(branch: BranchRecord, fields: JobFields, now: number): JobRecord {
    const app = branch.app;
    const rng = rngFor(
      this.config.seed,
      'api-job',
      app.appId,
      branch.branchName,
      branch.nextJobNumber,
    );
    const timeline = planTimeline(rng, {
      createdAt: now,
      stepNames: fields.jobType === 'MANUAL' ? ['DEPLOY', 'VERIFY'] : stepNamesFor(app),
      outcome: rng.chance(0.8) ? 'SUCCEED' : 'FAILED',
      slowBuild: app.platform === 'WEB_COMPUTE',
      // Jobs started through the API are PENDING straight away, as StartDeployment shows live.
      createdMs: 0,
    });
    const job = addJob(this.config, this.artifacts, branch, fields, timeline, { viaApi: true });
    this.#apiJobs.add(job);
    this.onJobCreated?.(job);
    return job;
  }

  startJob(branch: BranchRecord, input: StartJobInput, now: number): JobRecord {
    if (input.jobType === 'MANUAL') {
      // The live service's own wording (aws/aws-sdk#121).
      throw badRequest('The requested jobType MANUAL does not support.');
    }
    let base: { commitId: string; commitMessage: string; commitTime: number } | undefined;
    if (input.jobType === 'RETRY') {
      if (input.jobId === undefined) throw badRequest('jobId is required when jobType is RETRY');
      const original = branch.jobsById.get(input.jobId);
      if (original === undefined) throw notFound(`Job ${input.jobId} not found`);
      base = original;
    } else {
      // RELEASE builds the branch's latest change: the newest job's commit, if any.
      for (let i = branch.jobs.length - 1; i >= 0 && base === undefined; i--) {
        const job = branch.jobs[i]!;
        if (job.jobType !== 'MANUAL' && job.quirk === undefined) base = job;
      }
    }
    this.#checkQuota(now);
    const rng = rngFor(
      this.config.seed,
      'api-commit',
      branch.app.appId,
      branch.branchName,
      branch.nextJobNumber,
    );
    const jobType: JobType = input.jobType;
    return this.#newJob(
      branch,
      {
        jobType,
        commitId: input.commitId ?? base?.commitId ?? rng.hex(40),
        commitMessage: input.commitMessage ?? base?.commitMessage ?? rng.pick(COMMIT_MESSAGES),
        commitTime: input.commitTime ?? base?.commitTime ?? now,
        ...(input.jobReason === undefined ? {} : { jobReason: input.jobReason }),
      },
      now,
    );
  }

  startDeployment(branch: BranchRecord, input: StartDeploymentInput, now: number): JobRecord {
    if (input.sourceUrl === undefined) {
      throw badRequest(
        input.jobId === undefined
          ? 'Either sourceUrl or the jobId of a CreateDeployment must be provided'
          : `No pending deployment for job ${input.jobId}: the local Amplify does not implement CreateDeployment, pass sourceUrl instead`,
      );
    }
    this.#checkQuota(now);
    return this.#newJob(
      branch,
      {
        jobType: 'MANUAL',
        commitId: 'HEAD',
        commitMessage: 'Manual deploy',
        commitTime: now,
        sourceUrl: input.sourceUrl,
        sourceUrlType: input.sourceUrlType ?? 'ZIP',
      },
      now,
    );
  }

  stopJob(job: JobRecord, now: number): JobRecord {
    if (job.quirk !== undefined) {
      throw badRequest(`Job ${job.jobId} is a pinned live-service sample and cannot be stopped`);
    }
    const status = jobStatusAt(job, now);
    if (isTerminalStatus(status)) {
      throw badRequest(`Job ${job.jobId} has already finished (${status}) and cannot be stopped`);
    }
    // Stopping a job that is already CANCELLING changes nothing.
    if (status !== 'CANCELLING') {
      job.cancel = { requestedAt: now, completedAt: now + CANCEL_DELAY_MS };
    }
    return job;
  }

  deleteJob(job: JobRecord, now: number): JobSummaryWire {
    if (job.quirk !== undefined) {
      throw badRequest(`Job ${job.jobId} is a pinned live-service sample and cannot be deleted`);
    }
    const status = jobStatusAt(job, now);
    if (!isTerminalStatus(status)) {
      throw badRequest(
        `Job ${job.jobId} is ${status}: only finished jobs (SUCCEED, FAILED, CANCELLED) can be deleted; stop it first`,
      );
    }
    const summary = this.summary(job, now);
    const branch = job.branch;
    branch.jobsById.delete(job.jobId);
    const index = branch.jobs.indexOf(job);
    if (index >= 0) branch.jobs.splice(index, 1);
    for (const artifact of job.artifacts) this.artifacts.delete(artifact.artifactId);
    return summary;
  }

  listJobKeys(now: number, filter: JobKeyFilter = {}): JobKeyInfo[] {
    const out: JobKeyInfo[] = [];
    for (const app of this.apps) {
      if (filter.appId !== undefined && app.appId !== filter.appId) continue;
      for (const branch of app.branchList) {
        if (filter.branchName !== undefined && branch.branchName !== filter.branchName) continue;
        for (const job of branch.jobs) {
          const status = wireStatus(job, jobStatusAt(job, now));
          const jobType = wireJobType(job);
          if (filter.status !== undefined && status !== filter.status) continue;
          if (filter.jobType !== undefined && jobType !== filter.jobType) continue;
          out.push({
            appId: app.appId,
            branchName: branch.branchName,
            jobId: job.jobId,
            status,
            jobType,
          });
        }
      }
    }
    return out;
  }

  quirkJobs(): { kind: QuirkKind; appId: string; branchName: string; jobId: string }[] {
    return this.quirks.map(({ kind, job }) => ({
      kind,
      appId: job.branch.app.appId,
      branchName: job.branch.branchName,
      jobId: job.jobId,
    }));
  }
}
