/**
 * The scope check's second line: right before execution, whatever validation did. Validation
 * refuses an operation the caller's scopes do not cover, and Yoga caches validation results; if a
 * result were ever handed to the wrong caller (or validation skipped), the check at execution
 * still refuses. Here validation is skipped on purpose, so only that second line stands.
 */
import { createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { useScopeCheck } from '../../src/http/auth.js';
import type { CallerIdentity } from '../../src/schema/identity.js';
import { buildSchema } from '../../src/schema/index.js';

const skipValidation: Plugin = {
  onValidate({ setResult }) {
    setResult([]);
  },
};

const caller = (...scopes: Array<'read' | 'write'>): CallerIdentity => ({
  kind: 'apiKey',
  principal: 'key:test',
  scopes: new Set(scopes),
});

describe('the scope check at execution', () => {
  const yoga = createYoga<{ caller: CallerIdentity }>({
    schema: buildSchema(),
    plugins: [skipValidation, useScopeCheck()],
    maskedErrors: false,
    logging: false,
  });
  const ask = async (who: CallerIdentity, query: string, accept = 'application/json') => {
    const response = await yoga.fetch(
      'http://gateway.test/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query }),
      },
      { caller: who },
    );
    return { status: response.status, text: await response.text() };
  };

  it('serves a caller whose scopes cover the operation', async () => {
    expect(await ask(caller('read'), '{ __typename }')).toEqual({
      status: 200,
      text: '{"data":{"__typename":"Query"}}',
    });
  });

  it('refuses a query to a caller without read, though validation was skipped', async () => {
    const reply = await ask(caller(), '{ __typename }');
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.text)).toMatchObject({
      errors: [{ extensions: { code: 'FORBIDDEN', requiredScope: 'read' } }],
    });
    expect(reply.text).not.toContain('"data"');
  });

  it('refuses a mutation to a caller without write, though validation was skipped', async () => {
    const reply = await ask(
      caller('read'),
      'mutation { stopJob(appId: "d1", branchName: "main", jobId: "1") { jobId } }',
    );
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.text)).toMatchObject({
      errors: [{ extensions: { code: 'FORBIDDEN', requiredScope: 'write' } }],
    });
  });

  it('refuses a subscription to a caller without read, though validation was skipped', async () => {
    const reply = await ask(
      caller(),
      'subscription { jobUpdated(appId: "d1", branchName: "main", jobId: "1") { jobId } }',
      'text/event-stream',
    );
    expect(reply.text).toContain('FORBIDDEN');
    expect(reply.text).not.toContain('"jobUpdated"');
  });
});
