/**
 * Relay cursor connections over Amplify's paged lists, written by hand rather than with
 * @pothos/plugin-relay: Amplify's `nextToken` only walks forward, so `last`/`before` cannot be
 * served, and the plugin's global ids and `node` root fields have no use here.
 *
 * One page of a connection is one upstream list call asking for `skip + first` entries (capped at
 * the operation's maximum) from the upstream page the `after` cursor is in. The cursor of an entry
 * that ends an upstream page is Amplify's next token itself, so walking with the same `first`
 * never re-reads a page; a cursor inside a page (another `first`, or a cursor of an earlier edge)
 * re-reads its page from that page's token and skips to the entry after it, found by its id when
 * entries were added ahead of it. Either way a walk has no gaps and no repeats; a page can hold
 * fewer than `first` entries (when `skip + first` passes the operation's maximum) and
 * `hasNextPage` says whether more follow.
 */

import {
  GraphQLIncludeDirective,
  type GraphQLResolveInfo,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  isObjectType,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import { ErrorCode, GatewayError } from '../errors.js';
import type { Page, PageRequest } from '../upstream/page-shapes.js';
import { firstProblem } from './argument-checks.js';
import type { GatewayContext } from './context.js';
import { type CursorCodec, type CursorPosition, MAX_CURSOR_LENGTH } from './cursors.js';
import { LIST_FIELD_COSTS, type ListField } from './list-costs.js';

export interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** The first entry's cursor; null for an empty page. Made (signed) on each read. */
  readonly startCursor: string | null;
  /** Where the next page starts; null when the page is empty and nothing follows. Made on each read. */
  readonly endCursor: string | null;
}

/** An edge; its cursor is made only if asked for. */
export interface Edge<T> {
  node: T;
  list: string;
  position: CursorPosition;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfoShape;
}

/** `first` and `after` as GraphQL coerced them. */
export interface ConnectionArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
}

/** What one page asks for, once checked. */
export interface PageSpec {
  first: number;
  /** Where the page starts; null: the start of the list. */
  position: CursorPosition | null;
}

/** One of Amplify's lists, as a connection reads it. */
export interface ListSource<T> {
  field: ListField;
  /** The list's identity, which its cursors are bound to (see the `*List` helpers). */
  list: string;
  /** A stable id of an entry within the list. */
  idOf(item: T): string;
  /** One upstream list call. */
  fetch(request: PageRequest): Promise<Page<T>>;
}

/** Identity of the list of apps (cursors are bound to it). */
export const appsList = (): string => 'ListApps';
/** Identity of the list of one app's branches. */
export const branchesList = (appId: string): string => `ListBranches\u0000${appId}`;
/** Identity of the list of one branch's jobs. */
export const jobsList = (appId: string, branchName: string): string =>
  `ListJobs\u0000${appId}\u0000${branchName}`;

/**
 * Checks `first` and `after` of one list field, before any upstream call. Throws BAD_USER_INPUT:
 * `first` outside 1..the operation's maximum, or an `after` that is not a cursor of this list.
 */
export function checkConnectionArgs(
  field: ListField,
  list: string,
  args: ConnectionArgs,
  codec: CursorCodec,
): PageSpec {
  const first = args.first ?? LIST_FIELD_COSTS[field].defaultSize;
  const problem = firstProblem(field, first);
  if (problem !== null) throw new GatewayError(ErrorCode.BAD_USER_INPUT, problem);
  if (args.after === null || args.after === undefined) return { first, position: null };
  const position = args.after.length <= MAX_CURSOR_LENGTH ? codec.decode(list, args.after) : null;
  if (position === null) {
    throw new GatewayError(
      ErrorCode.BAD_USER_INPUT,
      `after is not a cursor of this list (${field}): it was altered, belongs to another list, or was made by a gateway with another CURSOR_SECRET. Start again without after.`,
    );
  }
  return { first, position };
}

/** Reads one page of a connection: one upstream list call. */
export async function loadConnection<T>(
  source: ListSource<T>,
  spec: PageSpec,
  codec: CursorCodec,
): Promise<Connection<T>> {
  const { maxSize } = LIST_FIELD_COSTS[source.field];
  const from = spec.position;
  const token = from?.token ?? null;
  const skip = from?.skip ?? 0;
  const page = await source.fetch({
    nextToken: token,
    maxResults: Math.min(maxSize, skip + spec.first),
  });
  const items = page.items;
  let start = skip;
  if (from !== null) {
    // Entries added or removed ahead of the cursor shift the page: find the entry again by id.
    const at = items.findIndex((item) => source.idOf(item) === from.after);
    if (at >= 0) start = at + 1;
  }
  start = Math.min(start, items.length);
  const end = Math.min(items.length, start + spec.first);
  const edges: Edge<T>[] = [];
  for (let i = start; i < end; i++) {
    const node = items[i]!;
    const endsPage = i === items.length - 1 && page.nextToken !== null;
    edges.push({
      node,
      list: source.list,
      position: endsPage
        ? { token: page.nextToken, skip: 0, after: source.idOf(node) }
        : { token, skip: i + 1, after: source.idOf(node) },
    });
  }
  const hasNextPage = end < items.length || page.nextToken !== null;
  const first = edges[0];
  const last = edges[edges.length - 1];
  // With no entry on this page but more to come (an empty upstream page with a token), the end
  // cursor still moves on, so a client can continue.
  const resume: CursorPosition | null =
    last?.position ??
    (hasNextPage && page.nextToken !== null
      ? { token: page.nextToken, skip: 0, after: from?.after ?? '' }
      : null);
  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: from !== null,
      // Signed when read, like an edge's cursor: most pages are asked for their nodes and
      // hasNextPage only, and two HMACs cost a history page about 3% of its CPU.
      get startCursor() {
        return first ? codec.encode(source.list, first.position) : null;
      },
      get endCursor() {
        return resume ? codec.encode(source.list, resume) : null;
      },
    },
  };
}

function included(
  node: { directives?: readonly unknown[] | undefined },
  info: GraphQLResolveInfo,
): boolean {
  if (!node.directives || node.directives.length === 0) return true;
  const n = node as Parameters<typeof getDirectiveValues>[1];
  if (getDirectiveValues(GraphQLSkipDirective, n, info.variableValues)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, n, info.variableValues)?.if !== false;
}

/**
 * Checks the `first`/`after` arguments of the list field `child` selected directly under the
 * field being resolved (through fragments, every alias), whose list is `list`. Root fields call it
 * before loading their own entity, so a bad cursor or page size costs no upstream call at all.
 */
export function preflightChildConnections(
  info: GraphQLResolveInfo,
  child: string,
  field: ListField,
  list: string,
  context: GatewayContext,
): void {
  const type = getNamedType(info.returnType);
  if (!isObjectType(type)) return;
  const definition = type.getFields()[child];
  if (definition === undefined) return;
  const visit = (selectionSet: SelectionSetNode | undefined): void => {
    for (const selection of selectionSet?.selections ?? []) {
      if (!included(selection, info)) continue;
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value !== child) continue;
        const args = getArgumentValues(definition, selection, info.variableValues);
        checkConnectionArgs(field, list, args as ConnectionArgs, context.cursors);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition?.name.value;
        if (on === undefined || on === type.name) visit(selection.selectionSet);
      } else {
        const fragment = info.fragments[selection.name.value];
        if (fragment?.typeCondition.name.value === type.name) visit(fragment.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet);
}
