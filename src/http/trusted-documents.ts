/**
 * Trusted documents (TRUSTED_DOCUMENTS): only the operations of a manifest built with the client
 * at its build time may run, sent by their hash instead of their text. The strongest guard for
 * first-party dashboards: nobody can send a query the dashboard does not already make. Yoga's
 * persisted-operations plugin does the work; this module reads the manifest.
 *
 * Manifest formats (JSON):
 * - Apollo's persisted query manifest: `{ "format": "apollo-persisted-query-manifest",
 *   "version": 1, "operations": [{ "id": "<sha256 of body>", "name", "type", "body" }] }`
 *   (`@apollo/generate-persisted-query-manifest`); each id is checked against its body.
 * - A map of hash to document, `{ "<hash>": "query ..." }` (GraphQL Code Generator's client
 *   preset `persisted-documents.json`, Relay's persisted queries).
 *
 * Clients send the hash as `extensions.persistedQuery.sha256Hash` (Apollo Client's persisted
 * queries link, version 1) or as `documentId` (the GraphQL-over-HTTP proposal; a `sha256:` prefix
 * is allowed).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type ExtractPersistedOperationId,
  usePersistedOperations,
} from '@graphql-yoga/plugin-persisted-operations';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { z } from 'zod';
import type { GatewayMetrics } from '../observability/metrics.js';

const apolloManifest = z.object({
  format: z.literal('apollo-persisted-query-manifest'),
  version: z.literal(1),
  operations: z.array(z.object({ id: z.string().min(1), body: z.string().min(1) })),
});
const documentMap = z.record(z.string().min(1), z.string().min(1));

/** Reads and checks a manifest; throws an Error naming the file and the problem. */
export function loadTrustedDocuments(path: string): ReadonlyMap<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(
      `TRUSTED_DOCUMENTS: cannot read ${path} as JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const documents = new Map<string, string>();
  const apollo = apolloManifest.safeParse(json);
  if (apollo.success) {
    for (const { id, body } of apollo.data.operations) {
      if (createHash('sha256').update(body).digest('hex') !== id) {
        throw new Error(
          `TRUSTED_DOCUMENTS: in ${path}, operation ${id} is not the SHA-256 of its body`,
        );
      }
      documents.set(id, body);
    }
  } else {
    const map = documentMap.safeParse(json);
    if (!map.success) {
      throw new Error(
        `TRUSTED_DOCUMENTS: ${path} is neither an Apollo persisted query manifest nor a {"hash": "document"} map`,
      );
    }
    for (const [id, body] of Object.entries(map.data)) documents.set(id, body);
  }
  if (documents.size === 0) throw new Error(`TRUSTED_DOCUMENTS: ${path} lists no operation`);
  return documents;
}

const extractId: ExtractPersistedOperationId = (params) => {
  const persisted = (params.extensions as { persistedQuery?: unknown } | undefined)?.persistedQuery;
  if (typeof persisted === 'object' && persisted !== null) {
    const { version, sha256Hash } = persisted as { version?: unknown; sha256Hash?: unknown };
    if (version === 1 && typeof sha256Hash === 'string') return sha256Hash;
  }
  const documentId = (params as { documentId?: unknown }).documentId;
  return typeof documentId === 'string' ? documentId.replace(/^sha256:/, '') : null;
};

/** Refusals in the catalog's shape; codes as Apollo's and Yoga's persisted queries use them. */
const refusal = (message: string, code: string) =>
  createGraphQLError(message, {
    extensions: { code, retryable: false, http: { status: 400, spec: true } },
  });

/** Only the manifest's operations run; anything else is refused before parsing. */
export function useTrustedDocuments(
  documents: ReadonlyMap<string, string>,
  metrics: GatewayMetrics,
): Plugin {
  const refused = (message: string, code: string) => () => {
    metrics.operationRejected('trusted_documents');
    return refusal(message, code);
  };
  return usePersistedOperations({
    allowArbitraryOperations: false,
    extractPersistedOperationId: extractId,
    getPersistedOperation: (id) => documents.get(id) ?? null,
    customErrors: {
      notFound: refused(
        'This operation is not one of the trusted documents this API accepts (TRUSTED_DOCUMENTS).',
        'PERSISTED_QUERY_NOT_IN_LIST',
      ),
      persistedQueryOnly: refused(
        "This API runs only trusted documents: send the operation's hash (extensions.persistedQuery.sha256Hash or documentId), not its text.",
        'PERSISTED_QUERY_ONLY',
      ),
      keyNotFound: refused(
        "Send the operation's hash in extensions.persistedQuery.sha256Hash or documentId.",
        'PERSISTED_QUERY_ID_REQUIRED',
      ),
    },
  });
}

/**
 * Without trusted documents, a request that names an operation by hash only (Automatic Persisted
 * Queries: `extensions.persistedQuery` and no `query`) gets the standard refusal, message
 * `PersistedQueryNotSupported` and code PERSISTED_QUERY_NOT_SUPPORTED with HTTP 200, as Apollo
 * Server answers it: Apollo Client and the Apollo Router (`apq.subgraph`) then send the query
 * text, instead of failing on "Must provide query string". A request with both is simply run.
 */
export function usePersistedQueryNotSupported(): Plugin {
  return {
    onParams({ params }) {
      const persisted = (params.extensions as { persistedQuery?: unknown } | undefined)
        ?.persistedQuery;
      const hasQuery = typeof params.query === 'string' && params.query !== '';
      if (hasQuery || typeof persisted !== 'object' || persisted === null) return;
      throw createGraphQLError('PersistedQueryNotSupported', {
        extensions: {
          code: 'PERSISTED_QUERY_NOT_SUPPORTED',
          retryable: false,
          http: { status: 200 },
        },
      });
    },
  };
}
