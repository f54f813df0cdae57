/**
 * The arguments that name an app, a branch or a job, described once for GraphiQL, and their
 * conversion into checked keys: every root field, subscription and mutation that takes a key
 * (`job`, `branch`, `jobUpdated`, `jobsUpdated`'s `JobKeyInput`, `startJob`, `stopJob`) builds its
 * arguments here and checks them here, before any upstream call.
 */
import type { InputFieldBuilder, InputOrArgRef } from '@pothos/core';
import { ErrorCode, GatewayError } from '../errors.js';
import type { BranchKey } from '../upstream/branch-shapes.js';
import { branchKeyProblems, jobKeyProblems } from '../upstream/keys.js';
import type { JobKey } from '../upstream/shapes.js';
import type { builder } from './builder.js';

type Types = typeof builder.$inferSchemaTypes;

const APP_ID = 'The Amplify app id, e.g. `d1a2b3c4d5e6f7`.';
const BRANCH_NAME = 'The branch name exactly as in the repository, e.g. `main` or `feature/login`.';
const JOB_ID = 'The job number within its branch, e.g. `42`.';

/** What builds an argument or an input field: `t.arg` of a field, or `t` of an input type. */
type KeyFieldBuilder<Kind extends 'Arg' | 'InputObject'> = Pick<
  InputFieldBuilder<Types, Kind>,
  'id' | 'string'
>;

/** The refs of `appId: ID!` and `branchName: String!`, as arguments or input fields. */
type BranchKeyRefs<Kind extends 'Arg' | 'InputObject'> = {
  appId: InputOrArgRef<Types, string, Kind>;
  branchName: InputOrArgRef<Types, string, Kind>;
};

/** The same with `jobId: ID!`. */
type JobKeyRefs<Kind extends 'Arg' | 'InputObject'> = BranchKeyRefs<Kind> & {
  jobId: InputOrArgRef<Types, string, Kind>;
};

/** `appId: ID!` and `branchName: String!`, described: `args: branchKeyArgs(t.arg)`. */
export function branchKeyArgs(t: KeyFieldBuilder<'Arg'>): BranchKeyRefs<'Arg'>;
export function branchKeyArgs(t: KeyFieldBuilder<'InputObject'>): BranchKeyRefs<'InputObject'>;
export function branchKeyArgs(
  t: KeyFieldBuilder<'Arg'> | KeyFieldBuilder<'InputObject'>,
): BranchKeyRefs<'Arg'> | BranchKeyRefs<'InputObject'> {
  // Arguments and input fields take the same options; only the kind of ref differs.
  const b = t as KeyFieldBuilder<'Arg'>;
  return {
    appId: b.id({ required: true, description: APP_ID }),
    branchName: b.string({ required: true, description: BRANCH_NAME }),
  };
}

/**
 * `appId: ID!`, `branchName: String!` and `jobId: ID!`, described: `args: jobKeyArgs(t.arg)`, or
 * `fields: (t) => jobKeyArgs(t)` for an input type.
 */
export function jobKeyArgs(t: KeyFieldBuilder<'Arg'>): JobKeyRefs<'Arg'>;
export function jobKeyArgs(t: KeyFieldBuilder<'InputObject'>): JobKeyRefs<'InputObject'>;
export function jobKeyArgs(
  t: KeyFieldBuilder<'Arg'> | KeyFieldBuilder<'InputObject'>,
): JobKeyRefs<'Arg'> | JobKeyRefs<'InputObject'> {
  const b = t as KeyFieldBuilder<'Arg'>;
  return { ...branchKeyArgs(b), jobId: b.id({ required: true, description: JOB_ID }) };
}

/** A job key as GraphQL coerced the arguments (an `ID` may arrive as a number). */
export interface JobKeyArgs {
  appId: string | number;
  branchName: string;
  jobId: string | number;
}

/** The key the arguments name, unchecked (pair it with `jobKeyProblems`). */
export function jobKeyOf(args: JobKeyArgs): JobKey {
  return { appId: String(args.appId), branchName: args.branchName, jobId: String(args.jobId) };
}

function refuse(problems: string[], what: string | undefined): void {
  if (problems.length === 0) return;
  const text = problems.join('; ');
  throw new GatewayError(ErrorCode.BAD_USER_INPUT, what === undefined ? text : `${what}: ${text}`);
}

/**
 * `key` itself when well formed (members of any runtime type are checked: a federation
 * representation is `_Any`); otherwise throws BAD_USER_INPUT naming every problem, after `what`.
 */
export function checkJobKey(key: JobKey, what?: string): JobKey {
  refuse(jobKeyProblems(key), what);
  return key;
}

/** The same for a branch key. */
export function checkBranchKey(key: BranchKey, what?: string): BranchKey {
  refuse(branchKeyProblems(key), what);
  return key;
}

/** The job key the arguments name; throws BAD_USER_INPUT naming every problem. */
export function toJobKey(args: JobKeyArgs): JobKey {
  return checkJobKey(jobKeyOf(args));
}

/** The branch key the arguments name; throws BAD_USER_INPUT naming every problem. */
export function toBranchKey(args: { appId: string | number; branchName: string }): BranchKey {
  return checkBranchKey({ appId: String(args.appId), branchName: args.branchName });
}
