/**
 * The estimate half of the upstream-call budget (MAX_UPSTREAM_CALLS_PER_OPERATION): before an
 * operation runs, count the most Amplify calls it can cause from its document and variables, so
 * an operation over budget is refused without a single call. The same walk counts what else an
 * operation is bounded by before it runs ({@link Tally}: the bytes of step logs it can answer,
 * federation representations, control fields; and introspection root fields). The loaders enforce the same budget
 * while it runs (src/loaders/call-budget.ts).
 *
 * What each field costs comes from an {@link UpstreamCostTable}; fields not in it cost nothing
 * (they read what their parent already fetched). The walk follows the operation the way execution
 * does: fragments and inline fragments expanded, `@skip`/`@include` applied with the variables,
 * list fields multiplying the calls of everything below them by their page size.
 */
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  GraphQLIncludeDirective,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import { LRUCache } from 'lru-cache';

type Args = Record<string, unknown>;

/** A field on the path from the operation down to the field being costed, nearest last. */
export interface Ancestor {
  /** `Type.field`, e.g. `Query.branch`. */
  field: string;
  /** Its argument values (variables applied). */
  args: Args;
  /** How many times it resolves in the whole operation (its multiplicity). */
  times: number;
}

/**
 * Quantities an operation is bounded by besides its calls, counted once per copy of the field in
 * the answer (aliases, list entries and repeated representations included):
 * - `responseBytes`: the most bytes the field can put in the answer (a step log's text);
 * - `representations`: federation representations `_entities` resolves;
 * - `controlFields`: fields that change something in Amplify (`startJob`, `stopJob`).
 */
export type Tally = 'responseBytes' | 'representations' | 'controlFields';

/** How one field turns into Amplify calls each time it resolves. */
export interface FieldUpstreamCost {
  /**
   * Identities of the calls one resolution makes, e.g. `GetJob ["d1","main","7"]`. A call whose
   * identity appears anywhere else in the operation is made once (the per-request DataLoader), so
   * `Query.job` over 12 distinct jobs costs 12 however many aliases repeat them. When `keys`
   * names any, `calls` is not counted.
   */
  keys?: (args: Args, ancestors: readonly Ancestor[]) => readonly string[];
  /** Calls one resolution makes that nothing shares, e.g. the pages of a list. */
  calls?: (args: Args, ancestors: readonly Ancestor[]) => number;
  /**
   * Count `calls` once per resolution of the nearest of these enclosing fields rather than once
   * per resolution of this one: every job of one `Branch.jobs` page has the same app, so their
   * `app` costs one GetApp per page.
   */
  sharedWithin?: readonly string[];
  /**
   * Count this field's calls only when the field that produced its parent object is one of these
   * (`Job.steps` costs a GetJob only for a job from a `Branch.jobs` page; `job(...)` already read
   * its steps).
   */
  onlyFrom?: readonly string[];
  /**
   * How many times the selection under this field resolves per resolution: a list's page size
   * (its `first` argument or default). The calls of every field below are multiplied by it.
   */
  fanOut?: (args: Args) => number;
  /**
   * How many copies of the selection under this field the answer holds per resolution, when that
   * is more than `fanOut`: `_entities` resolves a repeated representation once (one call) but
   * answers it as often as it was asked (its bytes count every time). Default: `fanOut`.
   */
  copies?: (args: Args) => number;
  /** What one copy of this field adds to each {@link Tally}. */
  tally?: Readonly<Partial<Record<Tally, (args: Args) => number>>>;
  /**
   * What is wrong with the arguments that execution would not answer as the caller's mistake
   * (federation representations of no entity type, or holding more than scalars), or would
   * answer only after its ancestors' calls (an out-of-range `first` or `tailLines` below another
   * field): the operation is refused with BAD_USER_INPUT before it runs.
   */
  problems?: (args: Args, ancestors: readonly Ancestor[]) => readonly string[];
}

/** Costs by `Type.field` (e.g. `Query.job`, `Branch.jobs`). */
export type UpstreamCostTable = Readonly<Record<string, FieldUpstreamCost>>;

/**
 * Walking a document costs time in proportion to its expanded size. The cost limit (graphql-armor)
 * already refuses documents whose fragments expand exponentially; past this many selections the
 * estimate stops and reports the operation as over any budget.
 */
const MAX_SELECTIONS_WALKED = 100_000;

export type UpstreamEstimate =
  /**
   * The most calls the operation can make; its {@link Tally} totals; how many introspection
   * root fields (`__schema`, `__type`) it asks for, copies included; and the problems of its
   * arguments, if any.
   */
  | {
      kind: 'estimate';
      calls: number;
      tallies: Record<Tally, number>;
      introspection: number;
      problems: string[];
    }
  /** Variables do not coerce (execution will refuse them with its own error, making no call). */
  | { kind: 'invalid' }
  /** Too large to walk: treat as over budget. */
  | { kind: 'too-large' };

export function estimateUpstreamCalls(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Args | null | undefined,
  table: UpstreamCostTable,
): UpstreamEstimate {
  const operation = getOperationAST(document, operationName);
  if (operation === null || operation === undefined) return { kind: 'invalid' };
  const root = schema.getRootType(operation.operation);
  if (root === undefined || root === null) return { kind: 'invalid' };
  const coerced = getVariableValues(
    schema,
    operation.variableDefinitions ?? [],
    rawVariables ?? {},
  );
  if (coerced.errors !== undefined) return { kind: 'invalid' };
  const variables = coerced.coerced;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }

  const keyed = new Set<string>();
  let unkeyed = 0;
  let walked = 0;
  let introspection = 0;
  const tallies: Record<Tally, number> = { responseBytes: 0, representations: 0, controlFields: 0 };
  const problems: string[] = [];

  const included = (node: Parameters<typeof getDirectiveValues>[1]): boolean => {
    // Most selections carry no directive: nothing to look up.
    if (node.directives === undefined || node.directives.length === 0) return true;
    if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
    return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
  };

  /** The fields from the operation down to the selection being walked. */
  const ancestors: Ancestor[] = [];

  /**
   * `times`: how many times the selection resolves (for calls); `copies`: how many times it is in
   * the answer (for tallies), at least `times`.
   */
  const walk = (
    selectionSet: SelectionSetNode,
    parent: GraphQLCompositeType,
    times: number,
    copies: number,
  ): boolean => {
    const producer = ancestors.at(-1)?.field;
    for (const selection of selectionSet.selections) {
      walked += 1;
      if (walked > MAX_SELECTIONS_WALKED) return false;
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        // Introspection and __typename never reach Amplify; introspection is counted.
        if (name === '__schema' || name === '__type') introspection += copies;
        if (name.startsWith('__')) continue;
        if (!isObjectType(parent) && !isInterfaceType(parent)) continue;
        const field = parent.getFields()[name];
        if (field === undefined) continue;
        const coordinate = `${parent.name}.${name}`;
        const cost = table[coordinate];
        let args: Args = {};
        if (selection.arguments !== undefined && selection.arguments.length > 0) {
          try {
            args = getArgumentValues(field, selection, variables);
          } catch {
            // Execution refuses the field the same way, without a call.
            continue;
          }
        }
        let fanOut = 1;
        let copiesEach = 1;
        if (cost !== undefined) {
          if (cost.problems !== undefined) problems.push(...cost.problems(args, ancestors));
          if (cost.tally !== undefined) {
            for (const [tally, count] of Object.entries(cost.tally)) {
              tallies[tally as Tally] += copies * (count?.(args) ?? 0);
            }
          }
          if (cost.onlyFrom === undefined || (producer && cost.onlyFrom.includes(producer))) {
            const keys = cost.keys?.(args, ancestors) ?? [];
            for (const key of keys) keyed.add(key);
            if (keys.length === 0) {
              const shared = cost.sharedWithin
                ? ancestors.findLast((a) => cost.sharedWithin?.includes(a.field))
                : undefined;
              unkeyed += (shared?.times ?? times) * (cost.calls?.(args, ancestors) ?? 0);
            }
          }
          fanOut = cost.fanOut?.(args) ?? 1;
          copiesEach = Math.max(fanOut, cost.copies?.(args) ?? fanOut);
        }
        const type = getNamedType(field.type);
        if (selection.selectionSet !== undefined && isCompositeType(type)) {
          ancestors.push({ field: coordinate, args, times });
          const finished = walk(selection.selectionSet, type, times * fanOut, copies * copiesEach);
          ancestors.pop();
          if (!finished) return false;
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition
          ? schema.getType(selection.typeCondition.name.value)
          : parent;
        if (isCompositeType(condition) && !walk(selection.selectionSet, condition, times, copies)) {
          return false;
        }
      } else {
        const fragment = fragments.get(selection.name.value);
        const condition = fragment ? schema.getType(fragment.typeCondition.name.value) : undefined;
        if (
          fragment &&
          isCompositeType(condition) &&
          !walk(fragment.selectionSet, condition, times, copies)
        ) {
          return false;
        }
      }
    }
    return true;
  };

  if (!walk(operation.selectionSet, root, 1, 1)) return { kind: 'too-large' };
  return { kind: 'estimate', calls: keyed.size + unkeyed, tallies, introspection, problems };
}

/** Most estimates an estimator keeps: one per document, operation and variables seen lately. */
export const MAX_KEPT_ESTIMATES = 500;
/** Variables longer than this as JSON (a long `_entities` list, say) are walked each time. */
export const MAX_KEPT_VARIABLES_CHARS = 1024;
/** Operation names longer than this are walked each time (real ones are a few words). */
export const MAX_KEPT_NAME_CHARS = 128;

/** {@link estimateUpstreamCalls} for one cost table, keeping recent estimates. */
export type UpstreamEstimator = (
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Args | null | undefined,
) => UpstreamEstimate;

/** Whether a JSON-parsed value holds Infinity or NaN (`1e400` parses to Infinity). */
function holdsNonFiniteNumber(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'number' && !Number.isFinite(current)) return true;
    if (typeof current === 'object' && current !== null) stack.push(...Object.values(current));
  }
  return false;
}

/**
 * {@link estimateUpstreamCalls} over `table`, keeping the estimates of recent requests: the walk
 * depends only on the document, the operation's name and the variables, and a dashboard sends the
 * same few again and again (Yoga's parser cache hands back the same document object for the same
 * text). Bounded: {@link MAX_KEPT_ESTIMATES} entries in an LRU. Walked every time, never kept:
 * variables longer than {@link MAX_KEPT_VARIABLES_CHARS} characters as JSON, names longer than
 * {@link MAX_KEPT_NAME_CHARS}, and variables holding Infinity or NaN, which JSON writes as `null`
 * (their key would be that of a null variable). Variables that do not coerce are not kept either:
 * execution refuses them, and such an estimate must never stand for other variables. Documents are
 * told apart by identity; one estimator serves one schema.
 */
export function createUpstreamEstimator(table: UpstreamCostTable): UpstreamEstimator {
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;
  const kept = new LRUCache<string, UpstreamEstimate>({ max: MAX_KEPT_ESTIMATES });
  return (schema, document, operationName, variables) => {
    const walk = () => estimateUpstreamCalls(schema, document, operationName, variables, table);
    // No name (the only operation) and an empty one (none) are different operations.
    const name = operationName === null || operationName === undefined ? '' : `:${operationName}`;
    if (name.length > MAX_KEPT_NAME_CHARS + 1) return walk();
    const text = variables === null || variables === undefined ? '' : JSON.stringify(variables);
    if (text.length > MAX_KEPT_VARIABLES_CHARS) return walk();
    if (text.includes('null') && holdsNonFiniteNumber(variables)) return walk();
    let id = documentIds.get(document);
    if (id === undefined) {
      id = nextDocumentId++;
      documentIds.set(document, id);
    }
    const key = `${id}\u0000${name}\u0000${text}`;
    let estimate = kept.get(key);
    if (estimate === undefined) {
      estimate = walk();
      if (estimate.kind !== 'invalid') kept.set(key, estimate);
    }
    return estimate;
  };
}
