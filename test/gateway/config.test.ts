import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('uses documented defaults when nothing is set', () => {
    const loaded = loadConfig({}, {});
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.config).toMatchObject({
      port: 4000,
      host: '0.0.0.0',
      logLevel: 'info',
      corsOrigins: null,
      graphiql: true,
      maxBodyBytes: 102400,
      routerSecret: null,
      readinessProbe: true,
      upstream: {
        connectTimeoutMs: 1000,
        requestTimeoutMs: 5000,
        maxAttempts: 3,
        maxConcurrency: 10,
        maxSockets: 50,
      },
    });
  });

  it('lists every problem at once instead of stopping at the first', () => {
    const loaded = loadConfig(
      {},
      {
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        UPSTREAM_MAX_CONCURRENCY: '0',
        CORS_ORIGINS: 'https://ok.example.com,not a url',
        GRAPHIQL: 'maybe',
        ROUTER_SECRET: 'short',
      },
    );
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.problems).toHaveLength(6);
    expect(loaded.problems.join('\n')).toMatch(/PORT.*"eighty"/);
    expect(loaded.problems.join('\n')).toMatch(/LOG_LEVEL/);
    expect(loaded.problems.join('\n')).toMatch(
      /UPSTREAM_MAX_CONCURRENCY must be a whole number from 1/,
    );
    expect(loaded.problems.join('\n')).toMatch(/CORS_ORIGINS.*"not a url"/);
    expect(loaded.problems.join('\n')).toMatch(/GRAPHIQL/);
    expect(loaded.problems.join('\n')).toMatch(/ROUTER_SECRET/);
  });

  it('lets the environment win over a caller default, and parses lists', () => {
    const loaded = loadConfig(
      { HOST: '127.0.0.1', PORT: '5000' },
      { PORT: '0', CORS_ORIGINS: ' https://a.example.com , http://localhost:3000 ' },
    );
    expect(loaded.ok && loaded.config.port).toBe(0);
    expect(loaded.ok && loaded.config.host).toBe('127.0.0.1');
    expect(loaded.ok && loaded.config.corsOrigins).toEqual([
      'https://a.example.com',
      'http://localhost:3000',
    ]);
  });

  it('documents every variable it reads in the README', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const missing = CONFIG_VARIABLES.filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});

describe('ROUTER_SECRET', () => {
  it.each([
    ['shorter than 16 characters', 'too-short'],
    ['not ASCII', 'geheimnis-schlüssel-1234'],
    ['containing spaces', 'a secret with spaces inside'],
  ])('is rejected when %s', (_why, value) => {
    const loaded = loadConfig({}, { ROUTER_SECRET: value });
    expect(loaded.ok ? [] : loaded.problems).toEqual([
      'ROUTER_SECRET must be at least 16 printable ASCII characters when set',
    ]);
  });
});
