/**
 * Builds the subgraph schema. Type modules register themselves on import; this module only
 * gathers them, so adding a type is one new file and one import.
 */
import { printSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './enums.js';
import './job-summary.js';
import './step.js';
import './job.js';
import './app.js';
import './branch.js';
import './live.js';
import './control.js';

builder.queryType({
  description:
    'Read Amplify Hosting apps, branches and jobs. Start at `apps` to find your apps, then walk to their branches and jobs.',
});

/** The Federation 2 spec version the SDL links to; pinned so the supergraph does not drift. */
export const FEDERATION_LINK = 'https://specs.apollo.dev/federation/v2.6';

let schema: GraphQLSchema | null = null;

/** The executable subgraph schema (with `_entities` and `_service`), built once per process. */
export function buildSchema(): GraphQLSchema {
  schema ??= buildSchemaCopy();
  return schema;
}

/**
 * A new copy of the subgraph schema: the same types, fields and resolvers as {@link buildSchema}'s,
 * in objects of its own, so a plugin that wraps every field's resolver (federated tracing) can do so
 * on the copy without slowing down the schema the other requests run on.
 */
export function buildSchemaCopy(): GraphQLSchema {
  return builder.toSubGraphSchema({ linkUrl: FEDERATION_LINK });
}

/**
 * The subgraph SDL, as `_service { sdl }` returns it and `rover subgraph publish` takes it.
 * graphql's own printSchema would drop @link and @key.
 */
export function printSubgraphSdl(): string {
  return `${printSubgraphSchema(buildSchema()).trimEnd()}\n`;
}
