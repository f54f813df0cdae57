/**
 * Wire shapes (restJson1, as the AWS SDK parses them): plain interfaces with no imports, so the
 * record types in model.ts can name them without depending on the conversion code in wire.ts.
 * Timestamps are epoch seconds (JSON numbers with millisecond fractions); member names equal the
 * model's.
 */

export interface JobSummaryWire {
  jobArn: string;
  jobId: string;
  commitId?: string;
  commitMessage?: string;
  commitTime?: number;
  startTime?: number;
  status: string;
  endTime?: number;
  jobType?: string;
  sourceUrl?: string;
  sourceUrlType?: string;
}

export interface StepWire {
  stepName: string;
  startTime: number;
  status: string;
  endTime?: number;
  logUrl?: string;
  artifactsUrl?: string;
  testArtifactsUrl?: string;
  testConfigUrl?: string;
  screenshots?: Record<string, string>;
  statusReason?: string;
  context?: string;
}

export interface JobWire {
  summary: JobSummaryWire;
  steps: StepWire[];
}

export interface AppWire {
  appId: string;
  appArn: string;
  name: string;
  tags: Record<string, string>;
  description?: string;
  repository?: string;
  platform: string;
  createTime: number;
  updateTime: number;
  computeRoleArn?: string;
  iamServiceRoleArn?: string;
  environmentVariables: Record<string, string>;
  defaultDomain: string;
  enableBranchAutoBuild: boolean;
  enableBranchAutoDeletion: boolean;
  enableBasicAuth: boolean;
  customRules: { source: string; target: string; status: string }[];
  productionBranch?: {
    lastDeployTime?: number;
    status?: string;
    thumbnailUrl?: string;
    branchName: string;
  };
  enableAutoBranchCreation: boolean;
  autoBranchCreationPatterns?: string[];
  autoBranchCreationConfig?: {
    stage: string;
    framework: string;
    enableAutoBuild: boolean;
    environmentVariables: Record<string, string>;
    enableBasicAuth: boolean;
    enablePullRequestPreview: boolean;
  };
  cacheConfig: { type: string };
  webhookCreateTime?: number;
  jobConfig: { buildComputeType: string };
}

export interface BranchWire {
  branchArn: string;
  branchName: string;
  description?: string;
  tags: Record<string, string>;
  stage: string;
  displayName: string;
  enableNotification: boolean;
  createTime: number;
  updateTime: number;
  environmentVariables?: Record<string, string>;
  enableAutoBuild: boolean;
  enableSkewProtection: boolean;
  customDomains?: string[];
  framework?: string;
  activeJobId?: string;
  totalNumberOfJobs: string;
  enableBasicAuth: boolean;
  enablePerformanceMode: boolean;
  thumbnailUrl?: string;
  ttl: string;
  enablePullRequestPreview: boolean;
  pullRequestEnvironmentName?: string;
  destinationBranch?: string;
  sourceBranch?: string;
  backend?: { stackArn: string };
  computeRoleArn?: string;
}
