/**
 * One handler per Amplify operation: validate every input first (400), then look things up (404),
 * then act. Handlers return either a ready-made body (Buffer) or a plain object to serialize.
 */
import { badRequest, notFound } from './errors.js';
import { deriveJob } from './job-state.js';
import { pageAfter } from './pagination.js';
import type { Labels, OperationName } from './router.js';
import {
  parseMaxResults,
  validateAppId,
  validateArtifactId,
  validateBranchName,
  validateJobId,
  validateNextToken,
  validateStartDeploymentBody,
  validateStartJobBody,
} from './validation.js';
import { appWire, branchWire } from './wire.js';
import type { World } from './world.js';

/** Default and maximum page sizes (the model's maxima). */
export const PAGE_SIZE = {
  ListJobs: 50,
  ListBranches: 50,
  ListArtifacts: 50,
  ListApps: 100,
} as const;

export interface OperationContext {
  readonly world: World;
  readonly labels: Labels;
  readonly query: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** Virtual time of this request. */
  readonly now: number;
}

export type OperationHandler = (ctx: OperationContext) => Buffer | object;

function label(labels: Labels, name: keyof Labels): string {
  // The router always sets the labels its route declares.
  return labels[name] ?? '';
}

function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw badRequest(
      `Could not parse request body into json: ${error instanceof Error ? error.message : 'invalid JSON'}`,
    );
  }
}

function pageInput(ctx: OperationContext, operation: keyof typeof PAGE_SIZE) {
  const size =
    parseMaxResults(ctx.query.get('maxResults'), PAGE_SIZE[operation]) ?? PAGE_SIZE[operation];
  const token = validateNextToken(ctx.query.get('nextToken'));
  return { size, token: token === '' ? undefined : token };
}

function jobKey(ctx: OperationContext) {
  const appId = label(ctx.labels, 'appId');
  const branchName = label(ctx.labels, 'branchName');
  const jobId = label(ctx.labels, 'jobId');
  validateAppId(appId);
  validateBranchName(branchName);
  validateJobId(jobId);
  return { appId, branchName, jobId };
}

function branchKey(ctx: OperationContext) {
  const appId = label(ctx.labels, 'appId');
  const branchName = label(ctx.labels, 'branchName');
  validateAppId(appId);
  validateBranchName(branchName);
  return { appId, branchName };
}

export const OPERATIONS: Readonly<Record<OperationName, OperationHandler>> = {
  GetJob(ctx) {
    const { appId, branchName, jobId } = jobKey(ctx);
    return ctx.world.getJobBody(ctx.world.job(appId, branchName, jobId), ctx.now);
  },

  ListJobs(ctx) {
    const { appId, branchName } = branchKey(ctx);
    const { size, token } = pageInput(ctx, 'ListJobs');
    const branch = ctx.world.branch(appId, branchName);
    const scope = `ListJobs\u0000${appId}\u0000${branchName}`;
    const cursor = token === undefined ? undefined : ctx.world.tokens.decode(token, scope);
    // Newest first; the cursor is the last job number served, and job numbers only grow.
    const newestFirst = branch.jobs.slice().reverse();
    const page = pageAfter(newestFirst, (job) => job.jobNumber, cursor, size, true);
    return {
      jobSummaries: page.items.map((job) => ctx.world.summary(job, ctx.now)),
      ...(page.nextCursor === undefined
        ? {}
        : { nextToken: ctx.world.tokens.encode(scope, page.nextCursor) }),
    };
  },

  StartJob(ctx) {
    const { appId, branchName } = branchKey(ctx);
    const input = validateStartJobBody(parseJsonBody(ctx.body));
    const branch = ctx.world.branch(appId, branchName);
    const job = ctx.world.startJob(branch, input, ctx.now);
    return { jobSummary: ctx.world.summary(job, ctx.now) };
  },

  StopJob(ctx) {
    const { appId, branchName, jobId } = jobKey(ctx);
    const job = ctx.world.stopJob(ctx.world.job(appId, branchName, jobId), ctx.now);
    return { jobSummary: ctx.world.summary(job, ctx.now) };
  },

  DeleteJob(ctx) {
    const { appId, branchName, jobId } = jobKey(ctx);
    return { jobSummary: ctx.world.deleteJob(ctx.world.job(appId, branchName, jobId), ctx.now) };
  },

  GetApp(ctx) {
    const appId = label(ctx.labels, 'appId');
    validateAppId(appId);
    return { app: appWire(ctx.world.app(appId), ctx.now, ctx.world.urls) };
  },

  ListApps(ctx) {
    const { size, token } = pageInput(ctx, 'ListApps');
    const scope = 'ListApps';
    const cursor = token === undefined ? undefined : ctx.world.tokens.decode(token, scope);
    const page = pageAfter(ctx.world.apps, (app) => app.seq, cursor, size);
    return {
      apps: page.items.map((app) => appWire(app, ctx.now, ctx.world.urls)),
      ...(page.nextCursor === undefined
        ? {}
        : { nextToken: ctx.world.tokens.encode(scope, page.nextCursor) }),
    };
  },

  GetBranch(ctx) {
    const { appId, branchName } = branchKey(ctx);
    return { branch: branchWire(ctx.world.branch(appId, branchName), ctx.now, ctx.world.urls) };
  },

  ListBranches(ctx) {
    const appId = label(ctx.labels, 'appId');
    validateAppId(appId);
    const { size, token } = pageInput(ctx, 'ListBranches');
    const app = ctx.world.app(appId);
    const scope = `ListBranches\u0000${appId}`;
    const cursor = token === undefined ? undefined : ctx.world.tokens.decode(token, scope);
    const page = pageAfter(app.branchList, (branch) => branch.seq, cursor, size);
    return {
      branches: page.items.map((branch) => branchWire(branch, ctx.now, ctx.world.urls)),
      ...(page.nextCursor === undefined
        ? {}
        : { nextToken: ctx.world.tokens.encode(scope, page.nextCursor) }),
    };
  },

  ListArtifacts(ctx) {
    const { appId, branchName, jobId } = jobKey(ctx);
    const { size, token } = pageInput(ctx, 'ListArtifacts');
    const job = ctx.world.job(appId, branchName, jobId);
    const scope = `ListArtifacts\u0000${job.jobArn}`;
    const cursor = token === undefined ? undefined : ctx.world.tokens.decode(token, scope);
    const test = deriveJob(job, ctx.now).steps.find((s) => s.name === 'TEST');
    // Test artifacts exist once the TEST step has run to its end.
    const available =
      test?.completed === true ? job.artifacts.map((a, index) => ({ a, index })) : [];
    const page = pageAfter(available, (item) => item.index, cursor, size);
    return {
      artifacts: page.items.map(({ a }) => ({
        artifactFileName: a.artifactFileName,
        artifactId: a.artifactId,
      })),
      ...(page.nextCursor === undefined
        ? {}
        : { nextToken: ctx.world.tokens.encode(scope, page.nextCursor) }),
    };
  },

  GetArtifactUrl(ctx) {
    const artifactId = label(ctx.labels, 'artifactId');
    validateArtifactId(artifactId);
    const artifact = ctx.world.artifacts.get(artifactId);
    const test =
      artifact === undefined
        ? undefined
        : deriveJob(artifact.job, ctx.now).steps.find((s) => s.name === 'TEST');
    if (artifact === undefined || test?.completed !== true) {
      throw notFound(`Artifact ${artifactId} not found`);
    }
    return { artifactId, artifactUrl: ctx.world.urls.artifact(artifactId) };
  },

  StartDeployment(ctx) {
    const { appId, branchName } = branchKey(ctx);
    const input = validateStartDeploymentBody(parseJsonBody(ctx.body));
    const branch = ctx.world.branch(appId, branchName);
    const job = ctx.world.startDeployment(branch, input, ctx.now);
    return { jobSummary: ctx.world.summary(job, ctx.now) };
  },
};
