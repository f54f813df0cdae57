import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import {
  createLogger,
  LOG_FLUSH_INTERVAL_MS,
  logDestination,
} from '../../src/observability/logger.js';
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

describe('ACCESS_LOG: which requests get an access-log line', () => {
  const stacks: Stack[] = [];
  afterAll(async () => {
    for (const stack of stacks) await stack.close();
  });

  /**
   * A gateway with this ACCESS_LOG, asked the same three things: a finished job twice (the second
   * answer comes from the fast path) and a body that is not JSON (400). Returns its `request`
   * lines and every line that names one of these requests.
   */
  async function askThree(accessLog: string) {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const stack = await startStack({
      // The caches are off in tests unless asked for; the fast path needs both.
      env: {
        ACCESS_LOG: accessLog,
        CACHE_MAX_ENTRIES: '1000',
        RESPONSE_CACHE_MAX_BYTES: '1048576',
      },
      log: pino({ level: 'info' }, sink),
    });
    stacks.push(stack);
    const running = await stack.listen();
    const job = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0]!;
    const post = (requestId: string, body: string) =>
      fetch(`${running.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body,
      });
    const query = JSON.stringify({
      query: `{ job(appId: "${job.appId}", branchName: "${job.branchName}", jobId: "${job.jobId}") { jobId summary { status } } }`,
    });
    const statuses = [
      (await post(`${accessLog}-first`, query)).status,
      (await post(`${accessLog}-repeat`, query)).status,
      (await post(`${accessLog}-bad`, '{"query": ')).status,
    ];
    expect(statuses).toEqual([200, 200, 400]);
    // Lines are written when the response finishes, after the client may have its answer.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const requests = lines.filter((line) => line.msg === 'request');
    return { requests, ids: requests.map((line) => line.reqId) };
  }

  it('all (the default): one line per request, the fast-path answer marked as a hit', async () => {
    const { requests, ids } = await askThree('all');
    expect(ids).toEqual(['all-first', 'all-repeat', 'all-bad']);
    expect(requests[1]).toMatchObject({ status: 200, cache: 'hit' });
    expect(requests[2]).toMatchObject({ status: 400 });
  });

  it('errors: only the answer with a status of 400 or more', async () => {
    const { requests, ids } = await askThree('errors');
    expect(ids).toEqual(['errors-bad']);
    expect(requests[0]).toMatchObject({ method: 'POST', path: '/graphql', status: 400 });
  });

  it('off: no access-log line at all', async () => {
    const { ids } = await askThree('off');
    expect(ids).toEqual([]);
  });
});

describe('LOG_BUFFER_BYTES: log lines gathered before a write', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-logs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

  it('writes each line at once with 0', async () => {
    const file = join(dir, 'unbuffered.log');
    const log = createLogger('info', logDestination(0, file));
    log.info('first');
    await settle();
    expect(readFileSync(file, 'utf8')).toMatch(/"msg":"first"/);
  });

  it('gathers lines until the buffer fills, flush() or the interval', async () => {
    const file = join(dir, 'buffered.log');
    const log = createLogger('info', logDestination(4096, file));
    log.info('first');
    await settle();
    expect(readFileSync(file, 'utf8')).toBe('');
    log.flush();
    await settle();
    expect(readFileSync(file, 'utf8')).toMatch(/"msg":"first"/);

    for (let i = 0; i < 40; i++) log.info({ i, padding: 'x'.repeat(100) }, 'line');
    await settle();
    // About 6 KB: the first 4 KB are out without waiting; the rest waits for the interval.
    const written = readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
    expect(written).toBeGreaterThan(1);
    expect(written).toBeLessThan(41);
    await new Promise((resolve) => setTimeout(resolve, LOG_FLUSH_INTERVAL_MS + 200));
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(41);
  });

  it('takes the largest buffer the configuration allows (16 KB)', () => {
    const file = join(dir, 'largest.log');
    const log = createLogger('info', logDestination(16 * 1024, file));
    log.info('kept');
    log.flush();
    expect(readFileSync(file, 'utf8')).toMatch(/"msg":"kept"/);
  });

  it('writes the gathered lines when the process dies of an uncaught error', () => {
    // A process of its own: the lines are on its stdout although it never flushed them.
    const script = `
      const { createLogger, logDestination } = await import('./src/observability/logger.ts');
      const log = createLogger('info', logDestination(4096));
      log.info('before the crash');
      setImmediate(() => { throw new Error('crash on purpose'); });
    `;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8', timeout: 30_000 },
    );
    expect(child.status).toBe(1);
    expect(child.stderr).toContain('crash on purpose');
    expect(child.stdout).toMatch(/"msg":"before the crash"/);
  });
});
