/**
 * INTROSPECTION=false over real HTTP: no "Did you mean ...?" suggestion in any error message
 * (they name fields, arguments, types and enum values the caller did not know), whether the error
 * comes from validation or from coercing variables; `_service { sdl }` stays, by design, for
 * federation tooling. With introspection on, the same requests do get suggestions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { type GraphQLBody, type Stack, startStack } from '../support/stack.js';

/** Requests whose error messages carry a suggestion when introspection is on. */
const SUGGESTING: Array<[string, { query: string; variables?: Record<string, unknown> }]> = [
  ['a field', { query: '{ apps(first: 1) { nodes { appId nme } } }' }],
  ['an argument', { query: '{ app(appI: "d1") { appId } }' }],
  ['a type', { query: 'query($t: StartJobTyp!) { __typename }' }],
  [
    'an enum value in the document',
    { query: 'mutation { startJob(appId: "d1", branchName: "m", jobType: RELEAS) { jobId } }' },
  ],
  [
    'an enum value in the variables',
    {
      query:
        'mutation($t: StartJobType!) { startJob(appId: "d1", branchName: "m", jobType: $t) { jobId } }',
      variables: { t: 'RELEAS' },
    },
  ],
];

async function messages(server: RunningServer, request: object): Promise<string[]> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  const body = (await response.json()) as GraphQLBody;
  return (body.errors ?? []).map((e) => e.message);
}

describe('error messages and introspection', () => {
  let off: Stack;
  let offServer: RunningServer;
  let onServer: RunningServer;

  beforeAll(async () => {
    off = await startStack({ env: { INTROSPECTION: 'false' } });
    offServer = await off.listen();
    onServer = await (await off.gateway({ INTROSPECTION: 'true' })).listen();
  });
  afterAll(() => off?.close());

  it.each(SUGGESTING)('suggests with introspection on: %s', async (_what, request) => {
    expect((await messages(onServer, request)).join('\n')).toMatch(/Did you mean/);
  });

  it.each(SUGGESTING)(
    'hides every suggestion with INTROSPECTION=false: %s',
    async (_what, request) => {
      const found = await messages(offServer, request);
      expect(found.length).toBeGreaterThan(0);
      for (const message of found) expect(message).not.toMatch(/Did you mean|RELEASE/);
    },
  );

  it("ends a coerced variable's message where its suggestion was", async () => {
    const [request] = SUGGESTING.slice(-1).map(([, r]) => r);
    expect(await messages(offServer, request ?? {})).toEqual([
      'Variable "$t" got invalid value "RELEAS"; Value "RELEAS" does not exist in "StartJobType" enum.',
    ]);
  });

  it('keeps _service { sdl } for federation tooling', async () => {
    const response = await fetch(`${offServer.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ _service { sdl } }' }),
    });
    const body = (await response.json()) as GraphQLBody;
    const service = body.data?._service as { sdl: string } | undefined;
    expect(service?.sdl).toMatch(/type Job\s+@key\(fields: "appId branchName jobId"\)/);
  });
});
