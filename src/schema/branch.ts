import { isJobId } from '../upstream/keys.js';
import type { JobListItem } from '../upstream/page-shapes.js';
import { builder } from './builder.js';
import {
  checkConnectionArgs,
  jobsList,
  loadConnection,
  preflightChildConnections,
} from './connection.js';
import { connectionArgs } from './connection-types.js';
import { branchKeyArgs, checkBranchKey, toBranchKey } from './key-args.js';
import { AppRef, BranchRef, JobConnectionRef, JobRef } from './refs.js';

BranchRef.implement({
  description:
    'A branch of an Amplify app, built and deployed by its jobs. Secrets Amplify keeps on a branch (environment variables, basic-auth credentials, build spec) are never exposed.',
  fields: (t) => ({
    appId: t.exposeID('appId', { description: 'The app the branch belongs to.' }),
    branchName: t.exposeString('branchName', {
      description: 'The branch name exactly as in the repository (may contain `/`).',
    }),
    branchArn: t.exposeString('branchArn', {
      nullable: true,
      description: "The branch's Amazon Resource Name.",
    }),
    displayName: t.exposeString('displayName', {
      nullable: true,
      description:
        "The name used in the branch's web address: the branch name with `/` and spaces turned into `-`.",
    }),
    description: t.exposeString('description', {
      nullable: true,
      description: "The branch's description; null when it has none.",
    }),
    stage: t.exposeString('stage', {
      nullable: true,
      description:
        '`PRODUCTION`, `BETA`, `DEVELOPMENT`, `EXPERIMENTAL` or `PULL_REQUEST`; the live service also sends `NONE`.',
    }),
    framework: t.exposeString('framework', {
      nullable: true,
      description: 'The framework Amplify builds the branch with, e.g. `Next.js - SSR`.',
    }),
    enableAutoBuild: t.exposeBoolean('enableAutoBuild', {
      nullable: true,
      description: 'A push to the branch starts a job.',
    }),
    createTime: t.expose('createTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the branch was connected.',
    }),
    updateTime: t.expose('updateTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the branch was last updated.',
    }),
    customDomains: t.exposeStringList('customDomains', {
      nullable: true,
      description: 'Custom domains that serve the branch, e.g. `www.example.com`.',
    }),
    pullRequestEnvironmentName: t.exposeString('pullRequestEnvironmentName', {
      nullable: true,
      description: 'For pull-request previews: the Amplify backend environment of the preview.',
    }),
    totalNumberOfJobs: t.exposeInt('totalNumberOfJobs', {
      nullable: true,
      description: 'How many jobs the branch has, as Amplify counts them.',
    }),
    url: t.field({
      type: 'URL',
      nullable: true,
      description:
        "The branch's deployed site on Amplify's domain: `https://<displayName>.<app defaultDomain>` (custom domains are in `customDomains`). Reads the app (one GetApp per app, batched).",
      resolve: async (branch, _args, context) => {
        if (branch.displayName === null || branch.displayName === '') return null;
        const app = await context.loaders.app.load({ appId: branch.appId });
        if (app.defaultDomain === null) return null;
        const site = `https://${branch.displayName}.${app.defaultDomain}`;
        return URL.canParse(site) ? site : null;
      },
    }),
    activeJob: t.field({
      type: JobRef,
      nullable: true,
      description:
        "The job Amplify names as the branch's active one (its latest job, running or not); null when there is none. One GetJob, shared with every other use of the job in the request.",
      resolve: (branch, _args, context) =>
        branch.activeJobId !== null && isJobId(branch.activeJobId)
          ? context.loaders.job.load({
              appId: branch.appId,
              branchName: branch.branchName,
              jobId: branch.activeJobId,
            })
          : null,
    }),
    app: t.field({
      type: AppRef,
      description:
        'The app the branch belongs to. Batched: any number of branches of one app cost one GetApp per request (none after `apps`).',
      resolve: (branch, _args, context) => context.loaders.app.load({ appId: branch.appId }),
    }),
    jobs: t.field({
      type: JobConnectionRef,
      description:
        "The branch's jobs, newest first. One ListJobs call per page; a job's `steps` or `failedStep` costs one GetJob per job (at most one per job per request).",
      args: connectionArgs(t.arg, 'Branch.jobs', 'jobs'),
      resolve: (branch, args, context) => {
        const list = jobsList(branch.appId, branch.branchName);
        const spec = checkConnectionArgs('Branch.jobs', list, args, context.cursors);
        return loadConnection<JobListItem>(
          {
            field: 'Branch.jobs',
            list,
            idOf: (job) => job.key.jobId,
            fetch: (page) =>
              context.loaders.jobPage.load({
                appId: branch.appId,
                branchName: branch.branchName,
                ...page,
              }),
          },
          spec,
          context.cursors,
        );
      },
    }),
  }),
});

builder.asEntity(BranchRef, {
  key: builder.selection<{ appId: string; branchName: string }>('appId branchName'),
  // Same per-request loader as Query.branch and Job.branch.
  resolveReference: async (ref, context) => {
    // Representations are `_Any`: check in this entry only (async, so the rejection stays here).
    const key = { appId: ref.appId, branchName: ref.branchName };
    return context.loaders.branch.load(checkBranchKey(key, 'Branch representation'));
  },
});

builder.queryField('branch', (t) =>
  t.field({
    type: BranchRef,
    nullable: true,
    description:
      'One branch of one app. Null, with a NOT_FOUND error, when Amplify has no such branch (or app).',
    args: branchKeyArgs(t.arg),
    resolve: (_root, args, context, info) => {
      const key = toBranchKey(args);
      // A bad page size or cursor on `jobs` fails here, before GetBranch.
      preflightChildConnections(
        info,
        'jobs',
        'Branch.jobs',
        jobsList(key.appId, key.branchName),
        context,
      );
      return context.loaders.branch.load(key);
    },
  }),
);
