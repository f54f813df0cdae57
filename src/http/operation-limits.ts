/**
 * Limits every operation must pass before it runs, on by default and sized to this schema:
 *
 * - graphql-armor: aliases, depth (introspection included, fragments flattened), tokens (while
 *   parsing), directives and cost, each refused with OPERATION_LIMIT_EXCEEDED naming the limit;
 * - the upstream-call budget: the most Amplify calls the operation can cause, estimated from its
 *   document and variables (src/schema/upstream-budget.ts), refused over
 *   MAX_UPSTREAM_CALLS_PER_OPERATION before any call is made;
 * - with INTROSPECTION off, `__schema` and `__type` are refused (graphql-js's own rule) and "Did
 *   you mean ...?" suggestions are hidden from validation errors.
 *
 * A refused operation never reaches execution, so it costs no Amplify call. Refusals are counted
 * from the results (metrics.ts), since Yoga caches validation results per document.
 */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';
import type { OperationLimit } from '../observability/metrics.js';
import { estimateUpstreamCalls, type UpstreamCostTable } from '../schema/upstream-budget.js';

/** graphql-armor's rejection callback, as its plugin's options declare it. */
type ArmorRejectCallback = NonNullable<
  NonNullable<NonNullable<Parameters<typeof EnvelopArmorPlugin>[0]>['maxAliases']>['onReject']
>[number];

/** A refusal before execution, in the catalog's shape (`extensions.limit` names the limit). */
export function limitError(
  limit: OperationLimit,
  message: string,
  extra: Record<string, number> = {},
): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: ErrorCode.OPERATION_LIMIT_EXCEEDED,
      retryable: false,
      limit,
      ...extra,
      // A request error: 400 for application/graphql-response+json, 200 for legacy
      // application/json clients (GraphQL over HTTP); Yoga strips this from the answer.
      http: { status: 400, spec: true },
    },
  });
}

const VARIABLE_OF: Record<Exclude<OperationLimit, 'trusted_documents'>, string> = {
  aliases: 'MAX_ALIASES',
  depth: 'MAX_DEPTH',
  tokens: 'MAX_TOKENS',
  directives: 'MAX_DIRECTIVES',
  cost: 'MAX_COST',
  upstream_calls: 'MAX_UPSTREAM_CALLS_PER_OPERATION',
};

export interface OperationLimitsOptions {
  limits: Config['limits'];
  introspection: boolean;
  costs: UpstreamCostTable;
}

export function useOperationLimits(options: OperationLimitsOptions): Plugin[] {
  const { limits } = options;

  /** graphql-armor's message without its misleading "Syntax Error:" prefix, plus the variable. */
  const refusal = (
    limit: Exclude<OperationLimit, 'trusted_documents' | 'upstream_calls'>,
    max: number,
  ) => {
    const text = (error: GraphQLError) =>
      `${error.message.replace(/^Syntax Error:\s*/, '')} (${VARIABLE_OF[limit]})`;
    const report: ArmorRejectCallback = (validation, error) => {
      const refused = limitError(limit, text(error), { max });
      // Validation rules report into their context; the token limit runs inside the parser, which
      // has none, so it throws (Yoga answers it as a parse error, keeping these extensions).
      if (validation === null) throw refused;
      validation.reportError(refused);
    };
    return { onReject: [report], propagateOnRejection: false };
  };

  const plugins: Plugin[] = [
    EnvelopArmorPlugin({
      maxAliases: { n: limits.maxAliases, ...refusal('aliases', limits.maxAliases) },
      // Introspection counts too (a 200-level `ofType` chain is refused); fragments do not add a
      // level, so the standard introspection query (depth 15) passes.
      maxDepth: {
        n: limits.maxDepth,
        ignoreIntrospection: false,
        flattenFragments: true,
        ...refusal('depth', limits.maxDepth),
      },
      maxTokens: { n: limits.maxTokens, ...refusal('tokens', limits.maxTokens) },
      maxDirectives: { n: limits.maxDirectives, ...refusal('directives', limits.maxDirectives) },
      costLimit: { maxCost: limits.maxCost, ...refusal('cost', limits.maxCost) },
      blockFieldSuggestion: { enabled: !options.introspection, mask: '' },
    }),
    {
      onExecute({ args, setResultAndStopExecution }) {
        const estimate = estimateUpstreamCalls(
          args.schema,
          args.document,
          args.operationName,
          args.variableValues,
          options.costs,
        );
        if (estimate.kind === 'invalid') return;
        const calls = estimate.kind === 'estimate' ? estimate.calls : null;
        if (calls !== null && calls <= limits.maxUpstreamCalls) return;
        setResultAndStopExecution({
          errors: [
            limitError(
              'upstream_calls',
              calls === null
                ? `This operation is too large to estimate its Amplify calls; the limit is ${limits.maxUpstreamCalls} (${VARIABLE_OF.upstream_calls}). Nothing was sent to Amplify.`
                : `This operation could make up to ${calls} Amplify calls; the limit is ${limits.maxUpstreamCalls} per operation (${VARIABLE_OF.upstream_calls}). Nothing was sent to Amplify: ask for fewer distinct jobs or smaller pages, or split the operation.`,
              { max: limits.maxUpstreamCalls, ...(calls === null ? {} : { estimated: calls }) },
            ),
          ],
        });
      },
    },
  ];
  if (!options.introspection) {
    plugins.push({
      onValidate({ addValidationRule }) {
        addValidationRule(NoSchemaIntrospectionCustomRule);
      },
    });
  }
  return plugins;
}
