/**
 * The schema builder: the whole type-level contract of the schema (context, scalars, plugins)
 * lives here. Plugin order matters: directives first, federation last (stack notes).
 */
import SchemaBuilder from '@pothos/core';
import DirectivePlugin from '@pothos/plugin-directives';
import FederationPlugin from '@pothos/plugin-federation';
import type { GatewayContext } from './context.js';

export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    URL: { Input: string; Output: string };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [DirectivePlugin, FederationPlugin],
  defaultFieldNullability: false,
});
