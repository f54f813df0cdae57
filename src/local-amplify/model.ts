/**
 * Internal records of the demo world. These are not wire shapes: times are epoch milliseconds of
 * the virtual clock, and a job stores its whole planned timeline so its state at any instant can
 * be derived without timers (see job-state.ts).
 */
import type { JobSummaryWire } from './wire-types.js';

export const JOB_STATUSES = [
  'CREATED',
  'PENDING',
  'PROVISIONING',
  'RUNNING',
  'FAILED',
  'SUCCEED',
  'CANCELLING',
  'CANCELLED',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JOB_TYPES = ['RELEASE', 'RETRY', 'MANUAL', 'WEB_HOOK'] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const SOURCE_URL_TYPES = ['ZIP', 'BUCKET_PREFIX'] as const;
export type SourceUrlType = (typeof SOURCE_URL_TYPES)[number];

export type StepName = 'BUILD' | 'TEST' | 'DEPLOY' | 'VERIFY';
export type Outcome = 'SUCCEED' | 'FAILED';

const TERMINAL: ReadonlySet<string> = new Set(['SUCCEED', 'FAILED', 'CANCELLED']);
export function isTerminalStatus(status: string): boolean {
  return TERMINAL.has(status);
}

/** Which live-service deviation (spec §7) a pinned sample job reproduces. */
export type QuirkKind =
  | 'sparseSummary'
  | 'unknownEnums'
  | 'emptyUrls'
  | 'runningStepWithoutEndTime'
  | 'hugeLog';

export interface StepPlan {
  readonly name: StepName;
  readonly startAt: number;
  readonly endAt: number;
  readonly outcome: Outcome;
  /** Only on a FAILED step. */
  readonly statusReason?: string;
  /** Only on BUILD: the build image. */
  readonly context?: string;
}

export interface JobRecord {
  readonly branch: BranchRecord;
  readonly jobNumber: number;
  readonly jobId: string;
  readonly jobArn: string;
  readonly jobType: JobType;
  readonly commitId: string;
  readonly commitMessage: string;
  readonly commitTime: number;
  readonly sourceUrl?: string;
  readonly sourceUrlType?: SourceUrlType;
  readonly jobReason?: string;
  /** summary.startTime: when the job was created. */
  readonly createdAt: number;
  readonly pendingAt: number;
  readonly provisioningAt: number;
  readonly runningAt: number;
  /** The steps that will run; a failing step is the last one. */
  readonly steps: readonly StepPlan[];
  /** Outcome and end if nobody stops the job (the last step's outcome). */
  readonly outcome: Outcome;
  readonly endAt: number;
  /** Set by StopJob (or seeded): progress freezes at requestedAt, CANCELLED from completedAt. */
  cancel?: { readonly requestedAt: number; readonly completedAt: number };
  /** Started through StartJob/StartDeployment: counts towards the concurrent-jobs quota. */
  readonly viaApi: boolean;
  /** A pinned live-service sample: served with the deviation applied, never progresses. */
  readonly quirk?: QuirkKind;
  /** Test artifacts listed by ListArtifacts once the TEST step has ended. */
  readonly artifacts: readonly ArtifactRecord[];
  /** GetJob body, cached once the job can no longer change. */
  settledBody?: Buffer;
  /** Its summary (no URLs in it), cached likewise for ListJobs. */
  settledSummary?: JobSummaryWire;
}

export interface ArtifactRecord {
  readonly artifactId: string;
  readonly artifactFileName: string;
  readonly job: JobRecord;
}

export interface BranchRecord {
  readonly app: AppRecord;
  /** Creation order inside the app; pagination cursors use it. */
  readonly seq: number;
  readonly branchName: string;
  readonly branchArn: string;
  readonly description?: string;
  readonly stage: string;
  readonly displayName: string;
  readonly framework?: string;
  /** Set once the branch's first job time is known (seeding). */
  createdAt: number;
  updatedAt: number;
  readonly environmentVariables?: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly enableAutoBuild: boolean;
  readonly enableNotification: boolean;
  readonly enableBasicAuth: boolean;
  readonly enablePerformanceMode: boolean;
  readonly enableSkewProtection: boolean;
  readonly enablePullRequestPreview: boolean;
  readonly ttl: string;
  readonly customDomains?: readonly string[];
  readonly pullRequest?: {
    readonly sourceBranch: string;
    readonly destinationBranch: string;
    readonly environmentName: string;
  };
  readonly backendStackArn?: string;
  /** Omits activeJobId (like some live get-branch outputs, spec §7). */
  readonly sparse: boolean;
  /** Ascending by jobNumber. */
  readonly jobs: JobRecord[];
  readonly jobsById: Map<string, JobRecord>;
  nextJobNumber: number;
}

export interface AppRecord {
  readonly seq: number;
  readonly appId: string;
  readonly appArn: string;
  readonly name: string;
  readonly description?: string;
  readonly repository?: string;
  readonly platform: 'WEB' | 'WEB_DYNAMIC' | 'WEB_COMPUTE';
  readonly framework: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly hasTests: boolean;
  /** No Git repository: jobs are MANUAL deployments (DEPLOY, VERIFY). */
  readonly manualDeploy: boolean;
  readonly quirks: boolean;
  readonly environmentVariables: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly iamServiceRoleArn?: string;
  readonly computeRoleArn?: string;
  readonly customRules: readonly { source: string; target: string; status: string }[];
  readonly autoBranchCreationPatterns?: readonly string[];
  readonly buildComputeType: 'STANDARD_8GB' | 'LARGE_16GB' | 'XLARGE_72GB';
  readonly webhookCreateTime?: number;
  readonly productionBranchName?: string;
  readonly branches: Map<string, BranchRecord>;
  /** Creation order. */
  readonly branchList: BranchRecord[];
}
