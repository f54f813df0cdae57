/**
 * What the gateway keeps of an Amplify app: the public facts a dashboard shows. Secret members
 * (environment variables, basic-auth credentials, build spec, OAuth and access tokens) and
 * configuration the schema does not expose are never copied, so nothing above the seam can leak
 * them. Every member is read through the shape check (wire-check.ts): one the live service omits,
 * or sends with the wrong type, is `null` (API notes §7).
 */
import type { App, GetAppCommandOutput } from '@aws-sdk/client-amplify';
import { type AnswerContext, readAnswer, type WireObject } from './wire-check.js';

/** The app's production branch as Amplify summarises it on the app. */
export interface ProductionBranchRecord {
  branchName: string | null;
  /** Amplify's word for the last deployment, e.g. `SUCCEED` or `FAILED` (3 to 7 characters). */
  status: string | null;
  lastDeployTime: Date | null;
  thumbnailUrl: string | null;
}

export interface AppRecord {
  appId: string;
  appArn: string | null;
  name: string | null;
  description: string | null;
  repository: string | null;
  /** WEB, WEB_DYNAMIC or WEB_COMPUTE; kept as text so a new platform never fails an app. */
  platform: string | null;
  defaultDomain: string | null;
  createTime: Date | null;
  updateTime: Date | null;
  productionBranch: ProductionBranchRecord | null;
}

/**
 * One app (GetApp's `app`, or an entry of ListApps) whose id is `appId`: the id asked for, or the
 * entry's own. A repository that is not an absolute URL (an SSH remote) reads as null.
 */
export function appFrom(app: WireObject<App>, appId: string): AppRecord {
  const production = app.object('productionBranch');
  return {
    appId,
    appArn: app.text('appArn'),
    name: app.text('name'),
    description: app.text('description'),
    repository: app.url('repository'),
    platform: app.text('platform'),
    defaultDomain: app.text('defaultDomain'),
    createTime: app.time('createTime'),
    updateTime: app.time('updateTime'),
    productionBranch:
      production === null
        ? null
        : {
            branchName: production.text('branchName'),
            status: production.text('status'),
            lastDeployTime: production.time('lastDeployTime'),
            thumbnailUrl: production.url('thumbnailUrl'),
          },
  };
}

/**
 * Maps one GetApp answer for the app asked for. Without an object `app`, or with an `app.appId`
 * naming another app: UPSTREAM_INVALID_RESPONSE.
 */
export function toAppRecord(key: { appId: string }, answer: unknown, context: AnswerContext) {
  const app = readAnswer<GetAppCommandOutput>(answer, context).entity('app', 'app');
  app.expectId('appId', key.appId);
  return appFrom(app, key.appId);
}
