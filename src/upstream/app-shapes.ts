/**
 * What the gateway keeps of an Amplify app: the public facts a dashboard shows. Secret members
 * (environment variables, basic-auth credentials, build spec, OAuth and access tokens) and
 * configuration the schema does not expose are never copied, so nothing above the seam can leak
 * them. Every member the live service may omit is `null` (API notes §7).
 */
import type { App, ProductionBranch } from '@aws-sdk/client-amplify';
import { text, time, url } from './shapes.js';

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

function toProductionBranchRecord(
  branch: ProductionBranch | undefined | null,
): ProductionBranchRecord | null {
  if (typeof branch !== 'object' || branch === null) return null;
  return {
    branchName: text(branch.branchName),
    status: text(branch.status),
    lastDeployTime: time(branch.lastDeployTime),
    thumbnailUrl: url(branch.thumbnailUrl),
  };
}

/**
 * Maps one app. `appId` is the id the caller asked for (GetApp) or the entry's own (ListApps, which
 * skips entries without one): the record is always keyed.
 */
export function toAppRecord(appId: string, app: App | undefined | null): AppRecord {
  const a = typeof app === 'object' && app !== null ? app : ({} as Partial<App>);
  return {
    appId,
    appArn: text(a.appArn),
    name: text(a.name),
    description: text(a.description),
    repository: url(a.repository),
    platform: text(a.platform),
    defaultDomain: text(a.defaultDomain),
    createTime: time(a.createTime),
    updateTime: time(a.updateTime),
    productionBranch: toProductionBranchRecord(a.productionBranch),
  };
}
