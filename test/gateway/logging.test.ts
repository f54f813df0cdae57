import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkUpstream } from '../../src/amplify/upstream.js';
import { createGatewayApp } from '../../src/app.js';
import { type LocalAmplify, startLocalAmplify } from '../../src/local-amplify/index.js';
import { listen, type RunningServer } from '../../src/server.js';
import { testConfig } from '../support/stack.js';

const SECRET = 'router-secret-value-0123456789';

describe('structured logs', () => {
  const lines: Array<Record<string, unknown>> = [];
  let la: LocalAmplify;
  let running: RunningServer;
  let destroy: () => void;

  beforeAll(async () => {
    la = await startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 1, speed: 0 });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const log = pino({ level: 'debug' }, sink);
    const config = testConfig({ ROUTER_SECRET: SECRET, UPSTREAM_MAX_ATTEMPTS: '1' });
    const upstream = createSdkUpstream({
      config: config.upstream,
      ...la.clientConfig(),
      onUnknownValue: () => undefined,
    });
    destroy = () => upstream.destroy();
    running = await listen(
      createGatewayApp({ config, upstream, log }),
      { port: 0, host: '127.0.0.1', shutdownTimeoutMs: 1000 },
      log,
    );
  });
  afterAll(async () => {
    await running.close();
    destroy();
    await la.close();
  });

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
