/**
 * Trusted documents (TRUSTED_DOCUMENTS): with a manifest, only its operations run, sent by hash;
 * any other operation, and any operation text, is refused before parsing with zero Amplify calls.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadTrustedDocuments } from '../../src/http/trusted-documents.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { metricValue } from '../support/metrics.js';
import { type Gateway, type Stack, startStack } from '../support/stack.js';
import { jobsFromDistinctBranches } from '../support/world.js';

const JOB =
  'query Job($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId summary { status } } }';
const TYPENAME = 'query Ping { __typename }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('trusted documents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trusted-'));
  let stack: Stack;
  let apollo: Gateway;
  let map: Gateway;
  let job: JobKey;

  beforeAll(async () => {
    const apolloPath = join(dir, 'apollo.json');
    writeFileSync(
      apolloPath,
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [JOB, TYPENAME].map((body) => ({
          id: sha256(body),
          name: body.split(/[ ({]/)[1],
          type: 'query',
          body,
        })),
      }),
    );
    const mapPath = join(dir, 'persisted-documents.json');
    writeFileSync(mapPath, JSON.stringify({ [sha256(JOB)]: JOB }));
    stack = await startStack();
    apollo = await stack.gateway({ TRUSTED_DOCUMENTS: apolloPath });
    map = await stack.gateway({ TRUSTED_DOCUMENTS: mapPath });
    [job] = jobsFromDistinctBranches(stack.la, 1) as [JobKey];
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => stack.la.stats.reset());

  const variables = () => ({ a: job.appId, b: job.branchName, j: job.jobId });

  it('runs a manifest operation sent by its hash (Apollo persisted query extension)', async () => {
    const reply = await apollo.post({
      variables: variables(),
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(JOB) } },
    });

    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data).toMatchObject({ job: { jobId: job.jobId } });
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });

  it('runs a manifest operation sent as documentId, from a hash-to-document map', async () => {
    const reply = await map.post({ documentId: `sha256:${sha256(JOB)}`, variables: variables() });

    expect(reply.body.data).toMatchObject({ job: { jobId: job.jobId } });
  });

  it('refuses a hash that is not in the manifest, and any operation text, with zero calls', async () => {
    const unknown = await apollo.post({
      variables: variables(),
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(`${JOB} `) } },
    });
    // A request error: 400 (the gateway answers application/graphql-response+json by default).
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.[0]).toMatchObject({
      message:
        'This operation is not one of the trusted documents this API accepts (TRUSTED_DOCUMENTS).',
      extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST', retryable: false },
    });

    // The very text of a trusted operation is refused too: only hashes are accepted.
    const text = await apollo.post({ query: JOB, variables: variables() });
    expect(text.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ONLY');
    const legacy = await apollo.post(
      { query: JOB, variables: variables() },
      { accept: 'application/json' },
    );
    expect(legacy.status).toBe(200);
    expect(stack.la.stats.calls()).toBe(0);
    expect(
      await metricValue(apollo.app.metrics, 'graphql_operations_rejected_total', {
        limit: 'trusted_documents',
      }),
    ).toBe(3);
  });

  it('still applies the limits to trusted operations', async () => {
    const limited = await stack.gateway({
      TRUSTED_DOCUMENTS: join(dir, 'apollo.json'),
      MAX_DEPTH: '1',
    });
    const reply = await limited.post({
      variables: variables(),
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(JOB) } },
    });

    expect(reply.body.errors?.[0]?.extensions).toMatchObject({ limit: 'depth' });
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('without a manifest, answers an operation sent by hash only with the standard PERSISTED_QUERY_NOT_SUPPORTED, so routers fall back to the text', async () => {
    const server = await stack.listen();
    const hashOnly = {
      variables: variables(),
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(JOB) } },
    };
    const ask = (body: object) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const refused = await ask(hashOnly);
    expect(refused.status).toBe(200);
    expect(await refused.json()).toEqual({
      errors: [
        {
          message: 'PersistedQueryNotSupported',
          extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED', retryable: false },
        },
      ],
    });
    expect(stack.la.stats.calls()).toBe(0);

    // The router's retry: the same request with the text runs.
    const retried = await ask({ ...hashOnly, query: JOB });
    expect(await retried.json()).toEqual({
      data: { job: { jobId: job.jobId, summary: { status: expect.any(String) } } },
    });
  });

  it('refuses to start on a manifest that is unreadable, empty, or whose ids are not its hashes', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    expect(() => loadTrustedDocuments(bad)).toThrow(/cannot read .*bad\.json as JSON/);
    writeFileSync(bad, '{}');
    expect(() => loadTrustedDocuments(bad)).toThrow(/lists no operation/);
    writeFileSync(
      bad,
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: sha256(TYPENAME), name: 'Job', type: 'query', body: JOB }],
      }),
    );
    expect(() => loadTrustedDocuments(bad)).toThrow(/is not the SHA-256 of its body/);
    expect(() => loadTrustedDocuments(join(dir, 'missing.json'))).toThrow(/cannot read/);
  });
});
