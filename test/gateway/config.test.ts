import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  accessControlProblem,
  CONFIG_TABLE_MARKERS,
  CONFIG_VARIABLES,
  configTable,
  loadConfig,
  loadDemoConfig,
  productionWarnings,
  rateLimitSummary,
} from '../../src/config.js';

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
      readinessProbe: { timeoutMs: 1000 },
      cursorSecret: null,
      upstream: {
        connectTimeoutMs: 1000,
        requestTimeoutMs: 5000,
        maxAttempts: 3,
        maxConcurrency: 10,
        maxSockets: 50,
        stepLogMaxBytes: 1048576,
        stepLogTimeoutMs: 10000,
      },
      introspection: true,
      auth: { optional: false, apiKeys: null, jwt: null },
      trustedDocuments: null,
      limits: {
        maxAliases: 100,
        maxDepth: 16,
        maxTokens: 8000,
        maxDirectives: 50,
        maxCost: 10000,
        maxUpstreamCalls: 50,
      },
      circuitBreaker: { failures: 5, openMs: 10000 },
      throttlePauseMs: 1000,
      metrics: { token: null },
      tracing: null,
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
        CURSOR_SECRET: 'short',
        STEP_LOG_MAX_BYTES: '100',
        STEP_LOG_TIMEOUT_MS: '10m',
      },
    );
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.problems).toHaveLength(9);
    expect(loaded.problems.join('\n')).toMatch(/CURSOR_SECRET must be at least 16/);
    expect(loaded.problems.join('\n')).toMatch(
      /STEP_LOG_MAX_BYTES must be a whole number from 256/,
    );
    expect(loaded.problems.join('\n')).toMatch(/STEP_LOG_TIMEOUT_MS.*"10m"/);
    expect(loaded.problems.join('\n')).toMatch(/PORT.*"eighty"/);
    expect(loaded.problems.join('\n')).toMatch(/LOG_LEVEL/);
    expect(loaded.problems.join('\n')).toMatch(
      /UPSTREAM_MAX_CONCURRENCY must be a whole number from 1/,
    );
    expect(loaded.problems.join('\n')).toMatch(/CORS_ORIGINS.*"not a url"/);
    expect(loaded.problems.join('\n')).toMatch(/GRAPHIQL/);
    expect(loaded.problems.join('\n')).toMatch(/ROUTER_SECRET/);
  });

  it('lists problems of single values and problems across variables in the same run', () => {
    const loaded = loadConfig(
      {},
      {
        PORT: 'abc',
        JWT_JWKS_URL: 'https://idp.example.com/jwks.json',
        REDIS_URL: 'redis://r:6379',
      },
    );
    expect(loaded).toEqual({
      ok: false,
      problems: [
        'PORT must be a whole number from 0 to 65535 (got "abc")',
        'JWT_JWKS_URL, JWT_ISSUER and JWT_AUDIENCE must be set together',
        expect.stringMatching(/^REDIS_URL is set .* but CURSOR_SECRET is not/),
      ],
    });
    // A bad value of a variable that takes part in a cross check still counts as set.
    const bad = loadConfig({}, { JWT_JWKS_URL: 'ftp://idp.example.com/jwks' });
    expect(bad.ok ? [] : bad.problems).toEqual([
      'JWT_JWKS_URL must be an https URL (http only on 127.0.0.1 or localhost)',
      'JWT_JWKS_URL, JWT_ISSUER and JWT_AUDIENCE must be set together',
    ]);
  });

  it('refuses REDIS_URL without CURSOR_SECRET, and accepts it with one', () => {
    const refused = loadConfig({}, { REDIS_URL: 'redis://redis:6379' });
    expect(refused.ok ? [] : refused.problems).toEqual([
      "REDIS_URL is set (replicas sharing Redis) but CURSOR_SECRET is not: each replica would sign cursors with a key of its own and refuse the others' cursors. Set the same CURSOR_SECRET on every replica.",
    ]);
    const accepted = loadConfig(
      {},
      { REDIS_URL: 'redis://redis:6379', CURSOR_SECRET: 'cursor-secret-0123456789' },
    );
    expect(accepted.ok && accepted.config.redis?.url).toBe('redis://redis:6379');
  });

  it('never echoes the credentials, query or fragment of a bad URL', () => {
    const loaded = loadConfig(
      {},
      {
        JWT_JWKS_URL: 'https://user:hunter2@idp example.com/jwks?token=abc123',
        JWT_ISSUER: 'i',
        JWT_AUDIENCE: 'a',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://user:hunter2@collector:4318/?api_key=abc123#frag',
        CORS_ORIGINS: 'https://user:hunter2@app.example.com',
      },
    );
    const problems = loaded.ok ? [] : loaded.problems;
    expect(problems).toEqual([
      'CORS_ORIGINS entries must be origins like https://app.example.com (got "https://…@app.example.com")',
      'JWT_JWKS_URL must be a URL (got "https://…@idp example.com/jwks…")',
      'OTEL_EXPORTER_OTLP_ENDPOINT must be an http or https URL (got "ftp://…@collector:4318/…")',
    ]);
    expect(problems.join('\n')).not.toMatch(/hunter2|abc123|user|frag/);
  });

  it('warns, once each, about combinations the README advises against', () => {
    const quiet = loadConfig({}, {});
    expect(quiet.ok && quiet.warnings).toEqual([]);
    const loaded = loadConfig(
      {},
      {
        LIVE_POLL_INTERVAL_MS: '1000',
        CACHE_ACTIVE_TTL_MS: '2000',
        LIVE_POLL_MAX_INTERVAL_MS: '500',
      },
    );
    expect(loaded.ok && loaded.warnings).toEqual([
      expect.stringMatching(
        /^LIVE_POLL_INTERVAL_MS \(1000\) is not above CACHE_ACTIVE_TTL_MS \(2000\)/,
      ),
      expect.stringMatching(
        /^LIVE_POLL_MAX_INTERVAL_MS \(500\) is below LIVE_POLL_INTERVAL_MS \(1000\)/,
      ),
    ]);
    expect(loaded.ok && loaded.config.live.maxPollIntervalMs).toBe(1000);
    // No cache of running jobs: polls cannot read a stale answer, so nothing to warn about.
    const uncached = loadConfig({}, { LIVE_POLL_INTERVAL_MS: '1000', CACHE_ACTIVE_TTL_MS: '0' });
    expect(uncached.ok && uncached.warnings).toEqual([]);
  });

  it('reads TRUSTED_PROXIES as addresses, ranges and names, and refuses anything else', () => {
    const off = loadConfig({}, {});
    expect(off.ok && off.config.trustedProxies).toBeNull();
    const on = loadConfig({}, { TRUSTED_PROXIES: ' 10.0.0.0/8, fd00::/8 ,loopback,192.0.2.7' });
    expect(on.ok && on.config.trustedProxies).toEqual([
      '10.0.0.0/8',
      'fd00::/8',
      'loopback',
      '192.0.2.7',
    ]);
    // Everyone (/0) would let any client name any address: not a valid range for proxy-addr either.
    for (const value of ['10.0.0.0/33', 'ingress.example.com', '0.0.0.0/0', '10.0.0.0/8,nope']) {
      const refused = loadConfig({}, { TRUSTED_PROXIES: value });
      expect(refused.ok ? [] : refused.problems, value).toEqual([
        expect.stringMatching(/^TRUSTED_PROXIES entries must be IP addresses, CIDR ranges/),
      ]);
    }
  });

  it('checks the rate limit, and warns when only the router, which it never limits, can call', () => {
    const on = loadConfig({}, { RATE_LIMIT_REQUESTS: '600', RATE_LIMIT_WINDOW_S: '30' });
    expect(on.ok && on.config.rateLimit).toEqual({ requests: 600, windowS: 30 });
    const off = loadConfig({}, {});
    expect(off.ok && off.config.rateLimit).toBeNull();
    for (const [name, value] of [
      ['RATE_LIMIT_REQUESTS', '-1'],
      ['RATE_LIMIT_REQUESTS', '1e3'],
      ['RATE_LIMIT_WINDOW_S', '0'],
      ['RATE_LIMIT_WINDOW_S', '86401'],
    ] as const) {
      const refused = loadConfig({}, { [name]: value });
      expect(refused.ok ? [] : refused.problems).toEqual([expect.stringContaining(name)]);
    }
    const secret = 'a-router-secret-of-32-characters-x';
    const routerOnly = loadConfig({}, { RATE_LIMIT_REQUESTS: '10', ROUTER_SECRET: secret });
    expect(routerOnly.ok && routerOnly.warnings).toEqual([
      expect.stringMatching(/^RATE_LIMIT_REQUESTS has no effect: with ROUTER_SECRET alone/),
    ]);
    const withKeys = loadConfig(
      {},
      { RATE_LIMIT_REQUESTS: '10', ROUTER_SECRET: secret, API_KEYS: `a:read:${'0'.repeat(64)}` },
    );
    expect(withKeys.ok && withKeys.warnings).toEqual([]);
    // The start-up line says the same.
    const summary = (env: Record<string, string>) => {
      const loaded = loadConfig({}, env);
      if (!loaded.ok) throw new Error(loaded.problems.join('; '));
      return rateLimitSummary(loaded.config);
    };
    expect(summary({})).toBe('off');
    expect(summary({ RATE_LIMIT_REQUESTS: '1' })).toBe(
      '1 request per 60 s per caller, per replica',
    );
    expect(
      summary({
        RATE_LIMIT_REQUESTS: '5',
        REDIS_URL: 'redis://127.0.0.1:6379',
        CURSOR_SECRET: 'a-cursor-secret-of-32-characters-xx',
      }),
    ).toBe('5 requests per 60 s per caller, shared through Redis');
    expect(summary({ RATE_LIMIT_REQUESTS: '10', ROUTER_SECRET: secret })).toMatch(
      /^off: with ROUTER_SECRET alone/,
    );
  });

  it('warns npm start about AUTH=none and a missing CURSOR_SECRET, and about nothing when both are set', () => {
    const open = loadConfig({}, { AUTH: 'none', CONTROL_MUTATIONS: 'true' });
    if (!open.ok) throw new Error(open.problems.join('; '));
    expect(productionWarnings(open.config)).toEqual([
      expect.stringMatching(/^AUTH=none: serving without access control.*start and stop builds/),
      expect.stringMatching(/^CURSOR_SECRET is not set/),
    ]);
    const set = loadConfig(
      {},
      { ROUTER_SECRET: 'router-secret-0123456789', CURSOR_SECRET: 'cursor-secret-0123456789' },
    );
    if (!set.ok) throw new Error(set.problems.join('; '));
    expect(productionWarnings(set.config)).toEqual([]);
  });

  it('says in the table what booleans and secrets accept', () => {
    const row = (name: string) =>
      configTable()
        .split('\n')
        .find((r) => r.startsWith(`| \`${name}\``));
    for (const name of ['GRAPHIQL', 'METRICS', 'CONTROL_MUTATIONS', 'OTEL_SDK_DISABLED']) {
      expect(row(name), name).toContain('true/false, 1/0, yes/no or on/off');
    }
    for (const name of [
      'ROUTER_SECRET',
      'ROUTER_SECRET_FALLBACK',
      'CURSOR_SECRET',
      'CURSOR_SECRET_FALLBACK',
      'METRICS_TOKEN',
      'AMPLIFY_EVENTS_SECRET',
    ]) {
      expect(row(name), name).toContain('at least 16 printable ASCII characters');
    }
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
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const missing = CONFIG_VARIABLES.filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('has the README configuration table generated from the declarations (npm run docs:config)', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const [start, end] = CONFIG_TABLE_MARKERS;
    const section = readme.slice(readme.indexOf(start) + start.length, readme.indexOf(end));
    expect(section.trim()).toBe(configTable());
  });
});

describe('access control settings', () => {
  const hash = createHash('sha256').update('some-api-key').digest('hex');

  it('parses API_KEYS into ids, scopes and hashes', () => {
    const loaded = loadConfig(
      {},
      { API_KEYS: ` ci:read:${hash} , ops:read+write:${hash.toUpperCase().replace(/.$/, '0')}` },
    );
    expect(loaded.ok ? loaded.config.auth.apiKeys : loaded.problems).toEqual([
      { id: 'ci', scopes: ['read'], sha256: Buffer.from(hash, 'hex') },
      { id: 'ops', scopes: ['read', 'write'], sha256: Buffer.from(`${hash.slice(0, -1)}0`, 'hex') },
    ]);
  });

  it('lists every bad API_KEYS entry, without echoing hashes', () => {
    const loaded = loadConfig(
      {},
      {
        API_KEYS: `ci:read:${hash},ci:read+write:${hash.replace(/^./, 'f')},web:admin:${hash.replace(/^./, 'e')},bad id:read:${hash},x:read:1234,nocolons`,
      },
    );
    expect(loaded.ok ? [] : loaded.problems).toEqual([
      'API_KEYS entry 2 ("ci"): the id is listed twice',
      'API_KEYS entry 3 ("web"): scopes must be read or read+write',
      'API_KEYS entry 4: the id must be 1 to 64 of A-Z a-z 0-9 _ . -',
      'API_KEYS entry 4: the same key hash is listed twice',
      'API_KEYS entry 5 ("x"): the hash must be 64 hex digits (SHA-256)',
      'API_KEYS entry 6 ("nocolons") must be id:scopes:sha256hex',
    ]);
  });

  it('needs JWT_JWKS_URL, JWT_ISSUER and JWT_AUDIENCE together, and an https key set URL', () => {
    expect(loadConfig({}, { JWT_JWKS_URL: 'https://idp.example.com/jwks.json' })).toEqual({
      ok: false,
      problems: ['JWT_JWKS_URL, JWT_ISSUER and JWT_AUDIENCE must be set together'],
    });
    expect(
      loadConfig(
        {},
        { JWT_JWKS_URL: 'http://idp.example.com/jwks', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' },
      ),
    ).toEqual({
      ok: false,
      problems: ['JWT_JWKS_URL must be an https URL (http only on 127.0.0.1 or localhost)'],
    });
    const loaded = loadConfig(
      {},
      {
        JWT_JWKS_URL: 'https://idp.example.com/jwks.json',
        JWT_ISSUER: 'https://idp.example.com/',
        JWT_AUDIENCE: 'jobs',
      },
    );
    expect(loaded.ok && loaded.config.auth.jwt).toEqual({
      jwksUrl: 'https://idp.example.com/jwks.json',
      issuer: 'https://idp.example.com/',
      audience: 'jobs',
      jwksCooldownMs: 30000,
    });
  });

  it('refuses to serve with no mechanism unless AUTH=none, naming every option in one line', () => {
    const bare = loadConfig({}, {});
    if (!bare.ok) throw new Error(bare.problems.join('; '));
    expect(accessControlProblem(bare.config)).toBe(
      'Refusing to start without access control: set API_KEYS, JWT_JWKS_URL (with JWT_ISSUER and JWT_AUDIENCE) or ROUTER_SECRET, or AUTH=none to serve anyone who can reach the port.',
    );
    for (const env of [
      { AUTH: 'none' },
      { API_KEYS: `ci:read:${hash}` },
      { ROUTER_SECRET: 'router-secret-0123456789' },
      { JWT_JWKS_URL: 'https://idp.example.com/jwks', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' },
    ]) {
      const loaded = loadConfig({}, env);
      if (!loaded.ok) throw new Error(loaded.problems.join('; '));
      expect(accessControlProblem(loaded.config), JSON.stringify(env)).toBeNull();
    }
  });
});

describe('traces and breaker settings', () => {
  it('sends traces to <endpoint>/v1/traces, or to the traces endpoint when given', () => {
    const base = loadConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    expect(base.ok && base.config.tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'amplify-jobs-graphql',
    });
    const full = loadConfig(
      {},
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp/traces',
        OTEL_SERVICE_NAME: 'jobs',
      },
    );
    expect(full.ok && full.config.tracing).toEqual({
      tracesUrl: 'https://traces.example.com/otlp/traces',
      serviceName: 'jobs',
    });
  });

  it("leaves V8's memory reducer alone unless MEMORY_REDUCER_WAKE_MS asks, at most once a second", () => {
    const off = loadConfig({}, {});
    expect(off.ok && off.config.memoryReducerWakeMs).toBeNull();
    const on = loadConfig({}, { MEMORY_REDUCER_WAKE_MS: '5000' });
    expect(on.ok && on.config.memoryReducerWakeMs).toBe(5000);
    const tooOften = loadConfig({}, { MEMORY_REDUCER_WAKE_MS: '500' });
    expect(tooOften.ok).toBe(false);
    expect(tooOften.ok ? '' : tooOften.problems.join('\n')).toMatch(
      /MEMORY_REDUCER_WAKE_MS.*must be 0 \(off\) or from 1000 to 60000/,
    );
  });

  it('logs every request unless ACCESS_LOG says errors or off, and names the choices', () => {
    const all = loadConfig({}, {});
    expect(all.ok && all.config.accessLog).toBe('all');
    const errors = loadConfig({}, { ACCESS_LOG: 'errors' });
    expect(errors.ok && errors.config.accessLog).toBe('errors');
    const wrong = loadConfig({}, { ACCESS_LOG: 'none' });
    expect(wrong.ok).toBe(false);
    expect(wrong.ok ? '' : wrong.problems.join('\n')).toMatch(/ACCESS_LOG.*all.*errors.*off/);
  });

  it('turns the circuit breaker and the throttle pause off with 0', () => {
    const loaded = loadConfig({}, { CIRCUIT_BREAKER_FAILURES: '0', THROTTLE_PAUSE_MS: '0' });
    expect(loaded.ok && loaded.config.circuitBreaker).toBeNull();
    expect(loaded.ok && loaded.config.throttlePauseMs).toBeNull();
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
      'ROUTER_SECRET must be at least 16 printable ASCII characters, without spaces, when set',
    ]);
  });
});

describe('secret fallbacks (rotation)', () => {
  const value = 'a-secret-of-enough-length-0123';
  it.each(['ROUTER_SECRET', 'CURSOR_SECRET'])('refuses %s_FALLBACK without %s', (name) => {
    const loaded = loadConfig({}, { [`${name}_FALLBACK`]: value, AUTH: 'none' });
    expect(loaded.ok ? [] : loaded.problems).toEqual([
      `${name}_FALLBACK is set but ${name} is not: a fallback is accepted beside the secret, never instead of it`,
    ]);
  });

  it('warns while a fallback is set, and when it equals its secret', () => {
    const warningsOf = (env: Record<string, string>) => {
      const loaded = loadConfig({}, env);
      return loaded.ok ? loaded.warnings : loaded.problems;
    };
    expect(warningsOf({ ROUTER_SECRET: `${value}-new`, ROUTER_SECRET_FALLBACK: value })).toEqual([
      expect.stringMatching(/^ROUTER_SECRET_FALLBACK is set: a rotation is under way/),
    ]);
    expect(
      warningsOf({ CURSOR_SECRET: value, CURSOR_SECRET_FALLBACK: value, AUTH: 'none' }),
    ).toEqual([
      expect.stringMatching(
        /^CURSOR_SECRET_FALLBACK equals CURSOR_SECRET: the rotation changes nothing/,
      ),
    ]);
    expect(warningsOf({ ROUTER_SECRET: value })).toEqual([]);
  });

  it('takes both values, checked like the secret itself', () => {
    const loaded = loadConfig(
      {},
      {
        ROUTER_SECRET: `${value}-new`,
        ROUTER_SECRET_FALLBACK: value,
        CURSOR_SECRET: `${value}-new`,
        CURSOR_SECRET_FALLBACK: value,
      },
    );
    expect(loaded.ok && loaded.config.routerSecretFallback).toBe(value);
    expect(loaded.ok && loaded.config.cursorSecretFallback).toBe(value);
    const short = loadConfig({}, { ROUTER_SECRET: value, ROUTER_SECRET_FALLBACK: 'short' });
    expect(short.ok ? [] : short.problems).toEqual([
      'ROUTER_SECRET_FALLBACK must be at least 16 printable ASCII characters, without spaces, when set',
    ]);
  });
});

describe('bad values', () => {
  it.each([
    ['PORT', '65536', 'PORT must be a whole number from 0 to 65535 (got "65536")'],
    ['PORT', '-1', 'PORT must be a whole number from 0 to 65535 (got "-1")'],
    ['HOST', ' ', 'HOST must not be empty'],
    [
      'LOG_LEVEL',
      'LOUD',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    ],
    [
      'UPSTREAM_REQUEST_TIMEOUT_MS',
      '1.5',
      'UPSTREAM_REQUEST_TIMEOUT_MS must be a whole number from 1 to 300000 (got "1.5")',
    ],
    [
      'UPSTREAM_MAX_ATTEMPTS',
      '11',
      'UPSTREAM_MAX_ATTEMPTS must be a whole number from 1 to 10 (got "11")',
    ],
    [
      'MAX_BODY_BYTES',
      '1000',
      'MAX_BODY_BYTES must be a whole number from 1024 to 10485760 (got "1000")',
    ],
    ['GRAPHIQL', 'maybe', 'GRAPHIQL must be true or false (got "maybe")'],
    ['READINESS_PROBE', 'always', 'READINESS_PROBE must be one of upstream, off (got "always")'],
    [
      'CORS_ORIGINS',
      'https://a.example/path',
      'CORS_ORIGINS entries must be origins like https://app.example.com (got "https://a.example/path")',
    ],
  ])(
    '%s=%j is refused with a message naming the variable and the value',
    (name, value, message) => {
      const loaded = loadConfig({}, { [name]: value });
      expect(loaded.ok ? [] : loaded.problems).toEqual([message]);
    },
  );

  it('accepts the usual spellings of booleans, in any case', () => {
    for (const [text, value] of [
      ['TRUE', true],
      ['on', true],
      ['Yes', true],
      ['1', true],
      ['off', false],
      ['No', false],
      ['0', false],
    ] as const) {
      const loaded = loadConfig({}, { GRAPHIQL: text });
      expect(loaded.ok && loaded.config.graphiql, text).toBe(value);
    }
  });

  it('reads READINESS_PROBE=off as a disabled probe', () => {
    const loaded = loadConfig({}, { READINESS_PROBE: 'OFF' });
    expect(loaded.ok && loaded.config.readinessProbe).toBeNull();
  });
});

describe('the demo settings', () => {
  it('default to seed 1, real time, and a free port for the local Amplify', () => {
    expect(loadDemoConfig({})).toEqual({ ok: true, demo: { seed: '1', speed: 1, amplifyPort: 0 } });
  });

  it('list every bad demo value at once', () => {
    const loaded = loadDemoConfig({
      DEMO_SEED: ' ',
      DEMO_SPEED: 'fast',
      DEMO_AMPLIFY_PORT: '99999',
    });
    expect(loaded.ok ? [] : loaded.problems).toEqual([
      'DEMO_SEED must not be empty',
      'DEMO_SPEED must be a number from 0 to 10000 (got "fast")',
      'DEMO_AMPLIFY_PORT must be a whole number from 0 to 65535 (got "99999")',
    ]);
  });
});
