/**
 * No secret in the logs: the logger the gateway runs with (createLogger) censors credentials
 * wherever a log line could carry them, and errors from Redis are logged without the arguments of
 * their command (ioredis attaches them; AUTH's is the password, sent again on every reconnection).
 */
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { until } from '../support/live.js';
import { redisTestsRun, startRedis, type TestRedis } from '../support/redis.js';
import { type Stack, startStack } from '../support/stack.js';

function sink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((line) => line !== ''),
      );
      done();
    },
  });
}

describe('createLogger', () => {
  it('censors credentials in headers (at the top or nested), AWS credentials and configured secrets', () => {
    const lines: string[] = [];
    const log = createLogger('info', sink(lines));
    const secrets = {
      apiKey: 'ajg_api_key_value_0001',
      bearer: 'Bearer jwt-or-key-0002',
      router: 'router-secret-0003',
      events: 'events-secret-0004',
      metrics: 'metrics-token-0005',
      aws: 'aws-secret-access-key-0006',
      redis: 'redis://:redis-password-0007@redis:6379',
      routerFallback: 'router-fallback-0008',
      cursorFallback: 'cursor-fallback-0009',
    };
    const headers = {
      'x-api-key': secrets.apiKey,
      authorization: secrets.bearer,
      'x-router-secret': secrets.router,
      'x-amplify-events-secret': secrets.events,
    };
    log.info({ headers }, 'top-level headers');
    log.info({ req: { method: 'POST', headers } }, 'nested headers');
    log.info({ client: { credentials: { secretAccessKey: secrets.aws } } }, 'aws');
    log.info(
      { config: { metrics: { token: secrets.metrics }, redis: { url: secrets.redis } } },
      'config',
    );
    log.info({ metricsToken: secrets.metrics, password: 'redis-password-0007' }, 'loose');
    log.info(
      {
        config: { routerSecretFallback: secrets.routerFallback },
        cursorSecretFallback: secrets.cursorFallback,
      },
      'fallbacks',
    );

    const text = lines.join('\n');
    expect(lines).toHaveLength(6);
    for (const value of Object.values(secrets)) expect(text).not.toContain(value);
    expect(text).not.toContain('redis-password-0007');
    // The keys stay, so a line still says what was sent.
    const nested = JSON.parse(lines[1] ?? '{}') as { req: { headers: Record<string, string> } };
    expect(nested.req.headers).toEqual({
      'x-api-key': '[redacted]',
      authorization: '[redacted]',
      'x-router-secret': '[redacted]',
      'x-amplify-events-secret': '[redacted]',
    });
  });
});

describe.skipIf(!redisTestsRun())('Redis errors in the log', () => {
  let redis: TestRedis;
  let stack: Stack;
  const lines: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    // The server wants a password the gateway does not have: every (re)connection's AUTH fails.
    const admin = new Redis(redis.url);
    await admin.config('SET', 'requirepass', 'the-right-password-42');
    admin.disconnect();
    stack = await startStack({
      env: {
        REDIS_URL: `redis://:wrong-secret-pw-0123@127.0.0.1:${redis.port}`,
        CACHE_MAX_ENTRIES: '100',
        CURSOR_SECRET: 'test-cursor-secret-0123456789',
      },
      log: createLogger('debug', sink(lines)),
    });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.close();
  });

  it('never carry the password of REDIS_URL, though AUTH fails on every reconnection', async () => {
    await until(
      () => lines.filter((line) => line.includes('Redis connection error')).length >= 2,
      'AUTH to fail twice',
    );
    const failure = lines.find((line) => line.includes('Redis connection error')) ?? '{}';
    expect(JSON.parse(failure)).toMatchObject({
      redisError: {
        type: 'ReplyError',
        command: 'auth',
        message: expect.stringMatching(/WRONGPASS/),
      },
    });
    expect(lines.join('\n')).not.toContain('wrong-secret-pw-0123');
  });
});
