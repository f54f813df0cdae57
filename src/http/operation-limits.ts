/**
 * Limits every operation must pass before it runs, on by default and sized to this schema:
 *
 * - graphql-armor: aliases, depth (introspection included, fragments flattened), tokens (while
 *   parsing), directives and cost, each refused with OPERATION_LIMIT_EXCEEDED naming the limit;
 * - the upstream-call budget: the most Amplify calls the operation can cause, estimated from its
 *   document and variables (src/schema/upstream-budget.ts), refused over
 *   MAX_UPSTREAM_CALLS_PER_OPERATION before any call is made; subscriptions too, as they start;
 * - from the same walk: the most bytes of step logs the answer can hold, repeats included
 *   (MAX_RESPONSE_BYTES), federation representations (MAX_ENTITY_REPRESENTATIONS), at most
 *   {@link MAX_INTROSPECTION_FIELDS} introspection root fields and {@link MAX_CONTROL_FIELDS}
 *   control field (startJob, stopJob), and representations of no entity type (BAD_USER_INPUT);
 * - the answer's size, measured before it is written (MAX_RESPONSE_BYTES): whatever the estimate
 *   could not see;
 * - nesting: a document nested more than {@link MAX_NESTING} levels of braces, brackets or
 *   parentheses is refused while parsing (graphql-js's parser recurses and would overflow the
 *   stack), and variables or extensions nested more than that before anything walks them;
 * - with INTROSPECTION off, `__schema` and `__type` are refused (graphql-js's own rule) and "Did
 *   you mean ...?" suggestions are cut from every error message (validation, variable coercion).
 *
 * A refused operation never reaches execution, so it costs no Amplify call. Refusals are counted
 * from the results (metrics.ts), since Yoga caches validation results per document.
 */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  Lexer,
  NoSchemaIntrospectionCustomRule,
  Source,
  TokenKind,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';
import type { OperationLimit } from '../observability/metrics.js';
import type { GatewayContext } from '../schema/context.js';
import { createUpstreamEstimator, type UpstreamCostTable } from '../schema/upstream-budget.js';
import { logRequestErrors } from './graphql-errors.js';

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

type ConfiguredLimit = Exclude<
  OperationLimit,
  'trusted_documents' | 'introspection' | 'control_fields'
>;

const VARIABLE_OF: Record<ConfiguredLimit, string> = {
  aliases: 'MAX_ALIASES',
  depth: 'MAX_DEPTH',
  tokens: 'MAX_TOKENS',
  directives: 'MAX_DIRECTIVES',
  cost: 'MAX_COST',
  upstream_calls: 'MAX_UPSTREAM_CALLS_PER_OPERATION',
  response_bytes: 'MAX_RESPONSE_BYTES',
  entities: 'MAX_ENTITY_REPRESENTATIONS',
};

/**
 * Most `__schema` and `__type` fields in one operation, aliases included. A tool asks for one
 * `__schema` (GraphiQL, codegen) or a type or two; each can answer megabytes, built in memory
 * before anything can measure it.
 */
export const MAX_INTROSPECTION_FIELDS = 2;

/** Most fields that change something in Amplify (startJob, stopJob) in one operation. */
export const MAX_CONTROL_FIELDS = 1;

/**
 * Deepest nesting of braces, brackets and parentheses in a document, and of lists and objects in
 * variables and extensions. Far above what MAX_DEPTH lets a valid operation use, far below what
 * overflows the recursive parser and the walks after it (a few thousand levels).
 */
export const MAX_NESTING = 256;

/**
 * graphql-js's "Did you mean ...?" suggestions (field, argument, type and enum value names), which
 * reveal the schema; with introspection off they are cut from every message: validation, variable
 * coercion, execution. Names cannot hold a `?`, so the suggestion ends at the first one.
 */
const SUGGESTION = / ?Did you mean [^?]*\?/;
const SUGGESTIONS = new RegExp(SUGGESTION.source, 'g');

function withoutSuggestion(error: GraphQLError): GraphQLError {
  if (!SUGGESTION.test(error.message)) return error;
  return new GraphQLError(error.message.replace(SUGGESTIONS, ''), {
    nodes: error.nodes ?? null,
    source: error.source ?? null,
    positions: error.positions ?? null,
    path: error.path ?? null,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

/** A request error: 400 for application/graphql-response+json, 200 for application/json. */
function badInput(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: ErrorCode.BAD_USER_INPUT,
      retryable: false,
      http: { status: 400, spec: true },
    },
  });
}

/**
 * Whether `source` nests braces, brackets or parentheses deeper than `max`, read with
 * graphql-js's own lexer (no recursion). A syntax error is left to the parser, which reports it
 * better; so is a document over `maxTokens` (the token limit refuses it).
 */
export function nestsDeeperThan(source: string | Source, max: number, maxTokens: number): boolean {
  const lexer = new Lexer(typeof source === 'string' ? new Source(source) : source);
  let depth = 0;
  try {
    for (
      let token = lexer.advance(), n = 0;
      token.kind !== TokenKind.EOF;
      token = lexer.advance()
    ) {
      n += 1;
      if (n > maxTokens) return false;
      if (
        token.kind === TokenKind.BRACE_L ||
        token.kind === TokenKind.BRACKET_L ||
        token.kind === TokenKind.PAREN_L
      ) {
        depth += 1;
        if (depth > max) return true;
      } else if (
        token.kind === TokenKind.BRACE_R ||
        token.kind === TokenKind.BRACKET_R ||
        token.kind === TokenKind.PAREN_R
      ) {
        depth -= 1;
      }
    }
  } catch {
    return false;
  }
  return false;
}

/** Whether a JSON value nests lists and objects deeper than `max` (walked without recursion). */
export function jsonNestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Whether the answer would take more than `max` bytes as JSON, counted without building it and
 * without recursion, stopping as soon as it is over. Strings count their UTF-8 bytes (JSON escapes
 * come on top), so the measure never exceeds the real size by much and stops early either way.
 * Most answers are far below the limit: a first walk that counts every string as 3 bytes per
 * UTF-16 unit (never less than its UTF-8 bytes) settles them without measuring any string.
 */
export function answerExceeds(result: ExecutionResult, max: number): boolean {
  return sizeExceeds(result, max, false) && sizeExceeds(result, max, true);
}

/** {@link answerExceeds}'s walk; `exact`: strings count their UTF-8 bytes, else an upper bound. */
function sizeExceeds(result: ExecutionResult, max: number, exact: boolean): boolean {
  const measure = (text: string) => (exact ? Buffer.byteLength(text) : 3 * text.length);
  let bytes = 0;
  for (const error of result.errors ?? []) bytes += measure(error.message) + 100;
  const stack: unknown[] = [result.data];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') bytes += measure(value) + 2;
    else if (typeof value === 'object' && value !== null) {
      if (Array.isArray(value)) {
        bytes += 1 + value.length;
        for (const item of value) stack.push(item);
      } else {
        // Result objects are plain (often prototype-less): `for...in` sees their own keys only,
        // without the array of pairs Object.entries would build for each.
        for (const key in value) {
          bytes += key.length + 4;
          stack.push((value as Record<string, unknown>)[key]);
        }
        bytes += 2;
      }
    } else bytes += 5;
    if (bytes > max) return true;
  }
  return false;
}

export interface OperationLimitsOptions {
  limits: Config['limits'];
  introspection: boolean;
  costs: UpstreamCostTable;
}

/** Logs a refused operation at debug with its request's logger (the gateway's context has one). */
function logRefusal(context: object, refused: readonly Error[]): void {
  const { log } = context as Partial<GatewayContext>;
  if (log !== undefined) logRequestErrors(log, refused);
}

export function useOperationLimits(options: OperationLimitsOptions): Plugin[] {
  const { limits } = options;
  const estimateCalls = createUpstreamEstimator(options.costs);

  /** graphql-armor's message without its misleading "Syntax Error:" prefix, plus the variable. */
  const refusal = (
    limit: Exclude<ConfiguredLimit, 'upstream_calls' | 'response_bytes' | 'entities'>,
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
      // Suggestions are masked below, in every kind of error, not only field names.
      blockFieldSuggestion: { enabled: false },
    }),
    {
      onParse({ parseFn, setParseFn }) {
        setParseFn((source, parseOptions) => {
          if (nestsDeeperThan(source, MAX_NESTING, limits.maxTokens)) {
            // A GraphQLError from the parser: Yoga answers GRAPHQL_PARSE_FAILED, HTTP 400.
            throw new GraphQLError(
              `Syntax Error: the document nests braces, brackets or parentheses more than ${MAX_NESTING} levels deep.`,
            );
          }
          return parseFn(source, parseOptions);
        });
      },
      onParams({ params }) {
        if (jsonNestsDeeperThan(params.variables, MAX_NESTING)) {
          throw badInput(
            `Variables must not nest lists and objects more than ${MAX_NESTING} levels deep.`,
          );
        }
        if (jsonNestsDeeperThan(params.extensions, MAX_NESTING)) {
          throw badInput(
            `Extensions must not nest lists and objects more than ${MAX_NESTING} levels deep.`,
          );
        }
      },
      onExecute({ args, setResultAndStopExecution }) {
        if (refusedEarly(args, setResultAndStopExecution)) return;
        return {
          onExecuteDone({ result, setResult }) {
            if (Symbol.asyncIterator in result) return;
            if (answerExceeds(result, limits.maxResponseBytes)) setResult(tooLarge());
          },
        };
      },
      onSubscribe({ args, setResultAndStopExecution }) {
        if (refusedEarly(args, setResultAndStopExecution)) return;
        return {
          onSubscribeResult() {
            return {
              onNext({ result, setResult }) {
                if (answerExceeds(result, limits.maxResponseBytes)) setResult(tooLarge());
              },
            };
          },
        };
      },
    },
  ];

  /** The answer dropped for its size: `data: null` and why (the operation did run). */
  function tooLarge(): ExecutionResult {
    return {
      data: null,
      errors: [
        new GraphQLError(
          `The answer is larger than ${limits.maxResponseBytes} bytes (${VARIABLE_OF.response_bytes}), so none of it is sent. Ask for fewer jobs or step logs, or use log(tailLines: ...), or split the operation.`,
          {
            extensions: {
              code: ErrorCode.OPERATION_LIMIT_EXCEEDED,
              retryable: false,
              limit: 'response_bytes',
              max: limits.maxResponseBytes,
            },
          },
        ),
      ],
    };
  }

  /**
   * Refuses an operation the walk finds over a limit before it executes or subscribes: its
   * errors are the result (logged at debug); true when refused.
   */
  function refusedEarly(
    args: Parameters<typeof refusals>[0] & { contextValue: object },
    stop: (result: { errors: GraphQLError[] }) => void,
  ): boolean {
    const refused = refusals(args);
    if (refused.length === 0) return false;
    logRefusal(args.contextValue, refused);
    stop({ errors: refused });
    return true;
  }

  /** Why the operation may not run, from the walk of its document and variables; [] if it may. */
  function refusals(args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName?: string | null | undefined;
    variableValues?: Record<string, unknown> | null | undefined;
  }): GraphQLError[] {
    const estimate = estimateCalls(
      args.schema,
      args.document,
      args.operationName,
      args.variableValues,
    );
    if (estimate.kind === 'invalid') return [];
    if (estimate.kind === 'too-large') {
      return [
        limitError(
          'upstream_calls',
          `This operation is too large to estimate its Amplify calls; the limit is ${limits.maxUpstreamCalls} (${VARIABLE_OF.upstream_calls}). Nothing was sent to Amplify.`,
          { max: limits.maxUpstreamCalls },
        ),
      ];
    }
    if (estimate.problems.length > 0) return [badInput([...new Set(estimate.problems)].join('; '))];
    const refused: GraphQLError[] = [];
    const { calls, tallies, introspection } = estimate;
    if (introspection > MAX_INTROSPECTION_FIELDS) {
      refused.push(
        limitError(
          'introspection',
          `This operation asks for ${introspection} introspection fields (__schema, __type); at most ${MAX_INTROSPECTION_FIELDS} are answered per operation.`,
          { max: MAX_INTROSPECTION_FIELDS, estimated: introspection },
        ),
      );
    }
    if (tallies.controlFields > MAX_CONTROL_FIELDS) {
      refused.push(
        limitError(
          'control_fields',
          `This operation holds ${tallies.controlFields} startJob/stopJob fields; send one per operation (each changes something in Amplify and is never retried).`,
          { max: MAX_CONTROL_FIELDS, estimated: tallies.controlFields },
        ),
      );
    }
    if (tallies.representations > limits.maxEntityRepresentations) {
      refused.push(
        limitError(
          'entities',
          `This operation asks for ${tallies.representations} entity representations; the limit is ${limits.maxEntityRepresentations} per operation (${VARIABLE_OF.entities}). Nothing was sent to Amplify.`,
          { max: limits.maxEntityRepresentations, estimated: tallies.representations },
        ),
      );
    }
    if (calls > limits.maxUpstreamCalls) {
      refused.push(
        limitError(
          'upstream_calls',
          `This operation could make up to ${calls} Amplify calls; the limit is ${limits.maxUpstreamCalls} per operation (${VARIABLE_OF.upstream_calls}). Nothing was sent to Amplify: ask for fewer distinct jobs or smaller pages, or split the operation.`,
          { max: limits.maxUpstreamCalls, estimated: calls },
        ),
      );
    }
    if (tallies.responseBytes > limits.maxResponseBytes) {
      refused.push(
        limitError(
          'response_bytes',
          `This operation could answer up to ${tallies.responseBytes} bytes of step logs (each log's text counted as STEP_LOG_MAX_BYTES, every time it appears); the limit is ${limits.maxResponseBytes} bytes (${VARIABLE_OF.response_bytes}). Nothing was sent to Amplify: ask for fewer logs, or split the operation.`,
          { max: limits.maxResponseBytes, estimated: tallies.responseBytes },
        ),
      );
    }
    return refused;
  }
  if (!options.introspection) {
    plugins.push({
      onValidate({ addValidationRule }) {
        addValidationRule(NoSchemaIntrospectionCustomRule);
      },
      onResultProcess({ result, setResult }) {
        if (Array.isArray(result) || Symbol.asyncIterator in result) return;
        if (!result.errors?.some((error) => SUGGESTION.test(error.message))) return;
        setResult({ ...result, errors: result.errors.map(withoutSuggestion) });
      },
    });
  }
  return plugins;
}
