/**
 * Keeps Yoga's answers exactly as the GraphQL spec and GraphQL-over-HTTP say, where Yoga 5.24 and
 * its executor depart from them. Each departure was found, and is pinned, by the differential test
 * test/gateway/spec-conformance.test.ts, which runs a corpus of operations through this app and
 * through graphql-js alone:
 *
 * 1. Operation Type Existence (GraphQL spec draft, §5.2.1; graphql-js 17 ships it as
 *    KnownOperationTypesRule): `mutation { __typename }` on a schema without a mutation type is a
 *    validation error, not an "Unexpected error." or a `data: null` answer.
 * 2. Operation resolution (GetOperation) in graphql-js's order and words: Yoga checks it while
 *    parsing, before validation, and always says "Could not determine what operation to
 *    execute." with HTTP 400. Here the document is validated first, and then the error is
 *    graphql-js's ("Unknown operation named …", "Must provide operation name if query contains
 *    multiple operations.").
 * 3. Status codes: a request error of a well-formed request (variable coercion, operation
 *    resolution) answers 200 with `application/json` and 400 with
 *    `application/graphql-response+json`, and a variable coercion error gets the code
 *    BAD_USER_INPUT (Yoga gives it none); a request that is not well formed (no `query`) answers
 *    400 with both.
 * 4. Media type: since 2025-01-01 a request without `Accept` (or with `Accept: *\/*`) is answered
 *    as `application/graphql-response+json`; Yoga would pick `application/json`.
 */
import {
  type ASTVisitor,
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  Kind,
  specifiedRules,
  type ValidationContext,
  type ValidationRule,
  validate,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * The spec's Operation Type Existence rule: every operation's root type must exist in the schema.
 * Same message and location as graphql-js 17's KnownOperationTypesRule.
 */
export function KnownOperationTypesRule(context: ValidationContext): ASTVisitor {
  const schema = context.getSchema();
  return {
    OperationDefinition(node) {
      if (!schema.getRootType(node.operation)) {
        context.reportError(
          new GraphQLError(`The ${node.operation} operation is not supported by the schema.`, {
            nodes: node,
          }),
        );
      }
    },
  };
}

/** The validation rules of this server: graphql-js 16's, and the one the spec has added since. */
export const VALIDATION_RULES: readonly ValidationRule[] = [
  ...specifiedRules,
  KnownOperationTypesRule,
];

/** What graphql-js's buildExecutionContext says when it cannot pick the operation to run. */
function operationResolutionError(
  document: DocumentNode,
  operationName: string | null | undefined,
): GraphQLError {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const message =
    operationName != null
      ? `Unknown operation named "${operationName}".`
      : operations.length > 1
        ? 'Must provide operation name if query contains multiple operations.'
        : 'Must provide an operation.';
  return new GraphQLError(message, {
    extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400, spec: true } },
  });
}

interface HttpExtension {
  status?: number;
  spec?: boolean;
  headers?: Record<string, string>;
}

/** Marks a request error so that `application/json` answers 200 and graphql-response+json 400. */
function markRequestError(error: GraphQLError): void {
  const extensions = error.extensions as Record<string, unknown>;
  const http = (extensions.http ?? {}) as HttpExtension;
  extensions.http = { ...http, status: 400, spec: true };
}

/** The plugin; `schema` is the schema Yoga serves (for validating ahead of GetOperation). */
export function useGraphQLConformance(schema: GraphQLSchema): Plugin {
  return {
    onRequest({ request }) {
      const accept = request.headers.get('accept');
      if (accept === null || accept.trim() === '*/*') {
        // Listed first, so Yoga's negotiation picks it; */* keeps event streams possible.
        request.headers.set('accept', 'application/graphql-response+json, */*');
      }
    },
    onValidate({ addValidationRule }) {
      addValidationRule(KnownOperationTypesRule);
    },
    onParse() {
      // Runs before Yoga's own operation check (user plugins come first), so that an operation
      // that cannot be determined gets graphql-js's order (validation first) and words.
      return ({ result, context, replaceParseResult }) => {
        if (result === null || result instanceof Error) return;
        const document = result as DocumentNode;
        const { params } = context as { params?: { operationName?: string | null } };
        const operationName = params?.operationName;
        if (getOperationAST(document, operationName) !== null) return;
        const invalid = validate(schema, document, VALIDATION_RULES);
        for (const error of invalid) {
          const extensions = error.extensions as Record<string, unknown>;
          extensions.code ??= 'GRAPHQL_VALIDATION_FAILED';
          markRequestError(error);
        }
        replaceParseResult(
          invalid.length > 0
            ? new AggregateError(invalid, 'GraphQL validation failed')
            : operationResolutionError(document, operationName),
        );
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result }) {
          // No `data` means the operation was not executed: a request error. With the operation
          // checked while parsing, what is left is variable coercion: the caller's input.
          if ('errors' in result && result.errors !== undefined && !('data' in result)) {
            for (const error of result.errors) {
              markRequestError(error);
              (error.extensions as Record<string, unknown>).code ??= 'BAD_USER_INPUT';
            }
          }
        },
      };
    },
    onResultProcess({ result }) {
      // Yoga marks a missing `query` as a spec 200 for application/json; a request without a
      // query is not well formed, which GraphQL-over-HTTP answers 400 whatever the media type.
      if (Array.isArray(result) || !('errors' in result) || result.errors === undefined) return;
      for (const error of result.errors) {
        const extensions = error.extensions as Record<string, unknown> | undefined;
        const http = extensions?.http as HttpExtension | undefined;
        if (extensions?.code === 'BAD_REQUEST' && http?.spec === true) {
          extensions.http = { ...http, spec: false };
        }
      }
    },
  };
}
