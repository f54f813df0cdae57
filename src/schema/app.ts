import { ErrorCode, GatewayError } from '../errors.js';
import type { AppRecord, ProductionBranchRecord } from '../upstream/app-shapes.js';
import type { BranchRecord } from '../upstream/branch-shapes.js';
import { appIdProblems } from '../upstream/keys.js';
import { builder } from './builder.js';
import {
  appsList,
  branchesList,
  checkConnectionArgs,
  loadConnection,
  preflightChildConnections,
} from './connection.js';
import { connectionArgs } from './connection-types.js';
import { AppConnectionRef, AppRef, BranchConnectionRef } from './refs.js';

export const ProductionBranchRef = builder
  .objectRef<ProductionBranchRecord>('ProductionBranch')
  .implement({
    description:
      "Amplify's summary of an app's production branch, as kept on the app. Every field can be null.",
    fields: (t) => ({
      branchName: t.exposeString('branchName', {
        nullable: true,
        description: 'The production branch, e.g. `main`.',
      }),
      status: t.exposeString('status', {
        nullable: true,
        description: "Amplify's word for its last deployment, e.g. `SUCCEED` or `FAILED`.",
      }),
      lastDeployTime: t.expose('lastDeployTime', {
        type: 'DateTime',
        nullable: true,
        description: 'When the production branch was last deployed.',
      }),
      thumbnailUrl: t.expose('thumbnailUrl', {
        type: 'URL',
        nullable: true,
        description:
          'A screenshot of the deployed site. On AWS a presigned URL that works for a limited time (see the `URL` scalar).',
      }),
    }),
  });

AppRef.implement({
  description:
    'An Amplify Hosting app: one repository (or manual deployment) with its branches. Secrets Amplify keeps on an app (environment variables, basic-auth credentials, build spec, access tokens) are never exposed.',
  fields: (t) => ({
    appId: t.exposeID('appId', {
      description: 'The app id, e.g. `d1a2b3c4d5e6f7`: what `app`, `branch` and `job` take.',
    }),
    appArn: t.exposeString('appArn', {
      nullable: true,
      description: "The app's Amazon Resource Name.",
    }),
    name: t.exposeString('name', { nullable: true, description: "The app's name." }),
    description: t.exposeString('description', {
      nullable: true,
      description: "The app's description; null when it has none.",
    }),
    repository: t.expose('repository', {
      type: 'URL',
      nullable: true,
      description:
        'The Git repository the app builds from; null for apps deployed by hand (no repository).',
    }),
    platform: t.exposeString('platform', {
      nullable: true,
      description:
        '`WEB` (static), `WEB_DYNAMIC` (server-side rendering, Next.js 11 and older) or `WEB_COMPUTE` (server-side rendering).',
    }),
    defaultDomain: t.exposeString('defaultDomain', {
      nullable: true,
      description:
        "The app's domain on Amplify, e.g. `d1a2b3c4d5e6f7.amplifyapp.com`; each branch is served at `<branch display name>.<defaultDomain>`.",
    }),
    createTime: t.expose('createTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the app was created.',
    }),
    updateTime: t.expose('updateTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the app was last updated.',
    }),
    productionBranch: t.expose('productionBranch', {
      type: ProductionBranchRef,
      nullable: true,
      description: "Amplify's summary of the production branch; null when the app has none.",
    }),
    branches: t.field({
      type: BranchConnectionRef,
      description:
        "The app's branches, in Amplify's order. One ListBranches call per page; its branches need no further call.",
      args: connectionArgs(t.arg, 'App.branches', 'branches'),
      resolve: (app, args, context) => {
        const list = branchesList(app.appId);
        const spec = checkConnectionArgs('App.branches', list, args, context.cursors);
        return loadConnection<BranchRecord>(
          {
            field: 'App.branches',
            list,
            idOf: (branch) => branch.branchName,
            fetch: (page) => context.loaders.branchPage.load({ appId: app.appId, ...page }),
          },
          spec,
          context.cursors,
        );
      },
    }),
  }),
});

builder.asEntity(AppRef, {
  key: builder.selection<{ appId: string }>('appId'),
  // Same per-request loader as Query.app and Job.app: representations of one app cost one GetApp.
  resolveReference: async (ref, context) => {
    // Representations are `_Any`: check in this entry only (async, so the rejection stays here).
    const problems = appIdProblems(ref.appId);
    if (problems.length > 0) {
      throw new GatewayError(ErrorCode.BAD_USER_INPUT, `App representation: ${problems[0]}`);
    }
    return context.loaders.app.load({ appId: ref.appId });
  },
});

builder.queryField('app', (t) =>
  t.field({
    type: AppRef,
    nullable: true,
    description: 'One app. Null, with a NOT_FOUND error, when Amplify has no such app.',
    args: {
      appId: t.arg.id({
        required: true,
        description: 'The Amplify app id, e.g. `d1a2b3c4d5e6f7`.',
      }),
    },
    resolve: (_root, args, context, info) => {
      const appId = String(args.appId);
      const problems = appIdProblems(appId);
      if (problems.length > 0) {
        throw new GatewayError(ErrorCode.BAD_USER_INPUT, problems.join('; '));
      }
      // A bad page size or cursor on `branches` fails here, before GetApp.
      preflightChildConnections(info, 'branches', 'App.branches', branchesList(appId), context);
      return context.loaders.app.load({ appId });
    },
  }),
);

builder.queryField('apps', (t) =>
  t.field({
    type: AppConnectionRef,
    description:
      "The apps the gateway's AWS credentials can see in its Region, in Amplify's order. One ListApps call per page; their branches and jobs are one call per list.",
    args: connectionArgs(t.arg, 'Query.apps', 'apps'),
    resolve: (_root, args, context) => {
      const list = appsList();
      const spec = checkConnectionArgs('Query.apps', list, args, context.cursors);
      return loadConnection<AppRecord>(
        {
          field: 'Query.apps',
          list,
          idOf: (app) => app.appId,
          fetch: (page) => context.loaders.appPage.load(page),
        },
        spec,
        context.cursors,
      );
    },
  }),
);
