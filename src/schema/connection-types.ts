/**
 * The GraphQL side of Relay cursor connections: `PageInfo`, and for each node type its `XEdge`
 * (`cursor`, `node`) and `XConnection` (`edges`, `nodes`, `pageInfo`), plus the `first`/`after`
 * arguments of a list field. The paging itself is in connection.ts.
 *
 * Failures stay in their entry, as in Relay's and GitHub's schemas: `nodes` is `[X]!`, `edges`
 * `[XEdge]!` and `XEdge.node` nullable, so an entry whose own field fails (a job whose GetJob is
 * refused, an app whose ListBranches is denied) becomes null with its error, and the rest of the
 * page, and of the answer, stands.
 */
import type { ArgBuilder, ObjectRef } from '@pothos/core';
import { builder } from './builder.js';
import type { Connection, Edge, PageInfoShape } from './connection.js';
import { LIST_FIELD_COSTS, type ListField } from './list-costs.js';

type Types = typeof builder.$inferSchemaTypes;

export const PageInfoRef = builder.objectRef<PageInfoShape>('PageInfo').implement({
  description:
    'Where a page of a connection sits in its list (Relay cursor connections). Lists walk forward only: pass `endCursor` as `after` for the next page.',
  // A value type other subgraphs commonly define too.
  shareable: true,
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', {
      description: 'More entries follow this page: ask again with `after: endCursor`.',
    }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', {
      description:
        'Entries come before this page (true whenever `after` was given). Lists cannot be walked backwards.',
    }),
    startCursor: t.exposeString('startCursor', {
      nullable: true,
      description: 'Cursor of the first entry of this page; null when the page is empty.',
    }),
    endCursor: t.exposeString('endCursor', {
      nullable: true,
      description:
        'Pass it as `after` to get the next page. Null when the page is empty and nothing follows.',
    }),
  }),
});

/** The `first`/`after` arguments of a list field, with its default and maximum page size. */
export function connectionArgs(arg: ArgBuilder<Types>, field: ListField, entries: string) {
  const cost = LIST_FIELD_COSTS[field];
  return {
    first: arg.int({
      defaultValue: cost.defaultSize,
      description: `How many ${entries} to return: 1 to ${cost.maxSize} (Amplify's ${cost.operation} maximum per call). A page can hold fewer; \`pageInfo.hasNextPage\` says whether more follow.`,
    }),
    after: arg.string({
      description: `Start after this cursor: \`pageInfo.endCursor\` (or an edge's \`cursor\`) of a page of this same list. A cursor of another list or an altered one is refused with BAD_USER_INPUT.`,
    }),
  };
}

/** `XEdge` and `XConnection` for node type `name`. */
export function connectionTypes<T extends object>(
  name: string,
  nodeRef: ObjectRef<Types, T>,
  entries: string,
): ObjectRef<Types, Connection<T>> {
  const edgeRef = builder.objectRef<Edge<T>>(`${name}Edge`).implement({
    description: `One entry of a page of ${entries}, with its cursor.`,
    fields: (t) => ({
      cursor: t.string({
        description: `Opaque position of this entry in its list: pass it as \`after\` to continue after it.`,
        resolve: (edge, _args, context) => context.cursors.encode(edge.list, edge.position),
      }),
      node: t.field({
        type: nodeRef,
        nullable: true,
        description: `The entry itself; null when it could not be read (the error in \`errors\` says why, with this entry's path), so one failed entry never fails its page.`,
        // Pothos cannot resolve its conditional result type for a generic T; Edge<T>.node is a T.
        resolve: (edge) => edge.node as never,
      }),
    }),
  });
  return builder.objectRef<Connection<T>>(`${name}Connection`).implement({
    description: `One page of ${entries} (a Relay cursor connection).`,
    fields: (t) => ({
      edges: t.field({
        type: [edgeRef],
        nullable: { list: false, items: true },
        description: `The entries of this page with their cursors, in list order. An entry that could not be read keeps its cursor and has a null \`node\`, with an error naming its path; the others are unaffected.`,
        resolve: (connection) => connection.edges,
      }),
      nodes: t.field({
        type: [nodeRef],
        nullable: { list: false, items: true },
        description: `The entries of this page, in list order (the edges' nodes, without cursors). An entry that could not be read (e.g. its own Amplify call was refused) is null, with an error naming its path; the others are unaffected.`,
        resolve: (connection) => connection.edges.map((edge) => edge.node),
      }),
      pageInfo: t.field({
        type: PageInfoRef,
        description: 'Where this page sits in the list, and the cursor to continue.',
        resolve: (connection) => connection.pageInfo,
      }),
    }),
  });
}
