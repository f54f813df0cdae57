import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import { type Stack, startStack } from '../support/stack.js';

const SECRET = 'router-secret-value-0123456789';

describe('structured logs', () => {
  const lines: Array<Record<string, unknown>> = [];
  let stack: Stack;
  let la: LocalAmplify;
  let running: RunningServer;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const log = pino({ level: 'debug' }, sink);
    stack = await startStack({ env: { ROUTER_SECRET: SECRET }, log });
    la = stack.la;
    running = await stack.listen();
  });
  afterAll(() => stack?.close());

  it('logs each request and each error with the request id, and never the secrets', async () => {
    const response = await fetch(`${running.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-router-secret': SECRET,
        'x-request-id': 'req-log-1',
        authorization: 'Bearer caller-token-should-not-appear',
      },
      body: JSON.stringify({
        query: '{ job(appId: "dnosuchapp0001", branchName: "main", jobId: "1") { jobId } }',
      }),
    });
    expect(
      ((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]
        ?.extensions.code,
    ).toBe('NOT_FOUND');
    const mine = lines.filter((line) => line.reqId === 'req-log-1');
    expect(mine).toContainEqual(
      expect.objectContaining({ msg: 'request', method: 'POST', path: '/graphql', status: 200 }),
    );
    expect(mine).toContainEqual(expect.objectContaining({ code: 'NOT_FOUND' }));
    const text = JSON.stringify(lines);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('caller-token-should-not-appear');
    expect(text).not.toContain(la.clientConfig().credentials.secretAccessKey);
  });
});
