/**
 * The gateway's configuration: the one module that reads `process.env`.
 *
 * Every variable is validated at start and every problem is reported at once, so an operator fixes
 * a bad deployment in one round trip. Disabled features are `null`, never half-filled objects.
 * The AWS SDK reads its own standard variables (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_AMPLIFY,
 * credentials...) itself; they are listed here so documentation and manifests can be checked.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

export interface UpstreamConfig {
  /** Time allowed to open a TCP/TLS connection to Amplify. */
  connectTimeoutMs: number;
  /** Time allowed for one attempt of one call, from request sent to response complete. */
  requestTimeoutMs: number;
  /** Total attempts per call, first one included (standard retry mode). */
  maxAttempts: number;
  /** Most upstream calls one GraphQL request may have in flight at once. */
  maxConcurrency: number;
  /** Keep-alive socket pool size of the one process-wide client. */
  maxSockets: number;
}

export interface Config {
  port: number;
  host: string;
  logLevel: LogLevel;
  upstream: UpstreamConfig;
  /** Allowed browser origins; `null` disables CORS (same-origin only); `['*']` allows any. */
  corsOrigins: string[] | null;
  graphiql: boolean;
  maxBodyBytes: number;
  shutdownTimeoutMs: number;
  /** Shared secret a federation router must send in `x-router-secret`; `null` = not required. */
  routerSecret: string | null;
  /** Whether `/ready` asks Amplify (ListApps, 1 item) before reporting ready. */
  readinessProbe: boolean;
}

interface VariableSpec {
  name: string;
  description: string;
  default?: string;
  /** Read by the AWS SDK, not parsed by us; documented so operators know it exists. */
  sdk?: true;
}

/** Every environment variable the gateway (or its AWS SDK client) reads. */
export const VARIABLES: readonly VariableSpec[] = [
  { name: 'PORT', default: '4000', description: 'TCP port to listen on (0 picks a free port).' },
  {
    name: 'HOST',
    default: '0.0.0.0',
    description: 'Interface to listen on (the demo defaults to 127.0.0.1).',
  },
  {
    name: 'LOG_LEVEL',
    default: 'info',
    description: 'fatal, error, warn, info, debug, trace or silent.',
  },
  {
    name: 'UPSTREAM_CONNECT_TIMEOUT_MS',
    default: '1000',
    description: 'Milliseconds to open a connection to Amplify before giving up on that attempt.',
  },
  {
    name: 'UPSTREAM_REQUEST_TIMEOUT_MS',
    default: '5000',
    description: 'Milliseconds one attempt of one Amplify call may take.',
  },
  {
    name: 'UPSTREAM_MAX_ATTEMPTS',
    default: '3',
    description: 'Attempts per Amplify call, the first included (standard retry mode, 1..10).',
  },
  {
    name: 'UPSTREAM_MAX_CONCURRENCY',
    default: '10',
    description: 'Most Amplify calls one GraphQL request may have in flight at once (1..100).',
  },
  {
    name: 'UPSTREAM_MAX_SOCKETS',
    default: '50',
    description: 'Keep-alive connections the process keeps to Amplify at most.',
  },
  {
    name: 'CORS_ORIGINS',
    default: '',
    description:
      'Comma-separated browser origins allowed to call the API (`*` for any). Empty: same-origin only.',
  },
  { name: 'GRAPHIQL', default: 'true', description: 'Serve GraphiQL to browsers at /graphql.' },
  {
    name: 'MAX_BODY_BYTES',
    default: '102400',
    description: 'Largest request body accepted; larger ones get HTTP 413.',
  },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    default: '10000',
    description:
      'On SIGTERM/SIGINT, how long in-flight requests may take to finish before connections are cut.',
  },
  {
    name: 'ROUTER_SECRET',
    default: '',
    description:
      'If set, every GraphQL request must carry it in the `x-router-secret` header (router-to-subgraph).',
  },
  {
    name: 'READINESS_PROBE',
    default: 'upstream',
    description:
      '`upstream`: /ready calls Amplify ListApps (1 item, cached 5 s); `off`: ready once listening.',
  },
  {
    name: 'DEMO_SEED',
    default: '1',
    description:
      '`npm run demo` only: seed of the local Amplify demo world (same seed, same world).',
  },
  {
    name: 'DEMO_SPEED',
    default: '1',
    description:
      '`npm run demo` only: virtual seconds per real second for running jobs (0 freezes time, 60 = a minute per second).',
  },
  {
    name: 'DEMO_AMPLIFY_PORT',
    default: '0',
    description: '`npm run demo` only: port of the embedded local Amplify (0 picks a free one).',
  },
  {
    name: 'AWS_REGION',
    sdk: true,
    description: 'AWS Region of the Amplify apps (or `region` in the AWS profile). Required.',
  },
  {
    name: 'AWS_PROFILE',
    sdk: true,
    description: 'Named profile from ~/.aws/config and ~/.aws/credentials.',
  },
  {
    name: 'AWS_ACCESS_KEY_ID',
    sdk: true,
    description: 'Static credentials (prefer roles: IRSA, instance or task roles).',
  },
  { name: 'AWS_SECRET_ACCESS_KEY', sdk: true, description: 'Static credentials, with the key id.' },
  { name: 'AWS_SESSION_TOKEN', sdk: true, description: 'Session token for temporary credentials.' },
  {
    name: 'AWS_ROLE_ARN',
    sdk: true,
    description: 'Role to assume with a web identity token (set by EKS for IRSA).',
  },
  {
    name: 'AWS_WEB_IDENTITY_TOKEN_FILE',
    sdk: true,
    description: 'Web identity token file (set by EKS for IRSA).',
  },
  {
    name: 'AWS_ENDPOINT_URL_AMPLIFY',
    sdk: true,
    description: 'Send Amplify calls to this URL instead of AWS, e.g. a local Amplify.',
  },
];

/** The names in {@link VARIABLES}, for manifests and docs checks. */
export const CONFIG_VARIABLES: readonly string[] = VARIABLES.map((v) => v.name);

export interface DemoConfig {
  seed: string;
  speed: number;
  amplifyPort: number;
}

export type DemoConfigResult = { ok: true; demo: DemoConfig } | { ok: false; problems: string[] };

/** The demo's own settings (the embedded local Amplify); the gateway's come from loadConfig. */
export function loadDemoConfig(env: Env = process.env): DemoConfigResult {
  const problems: string[] = [];
  const seed = (env.DEMO_SEED ?? '1').trim();
  if (seed === '') problems.push('DEMO_SEED must not be empty');
  const speedText = (env.DEMO_SPEED ?? '1').trim();
  const speed = Number(speedText);
  if (speedText === '' || !Number.isFinite(speed) || speed < 0 || speed > 10_000) {
    problems.push(`DEMO_SPEED must be a number from 0 to 10000 (got "${speedText}")`);
  }
  const portText = (env.DEMO_AMPLIFY_PORT ?? '0').trim();
  const amplifyPort = Number(portText);
  if (!/^\d+$/.test(portText) || amplifyPort > 65535) {
    problems.push(`DEMO_AMPLIFY_PORT must be a whole number from 0 to 65535 (got "${portText}")`);
  }
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, demo: { seed, speed, amplifyPort } };
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates the configuration. `defaults` replace the built-in defaults (the demo uses
 * them, e.g. HOST=127.0.0.1) and the environment still wins over them; pass `env` to test without
 * touching `process.env`.
 */
export function loadConfig(
  defaults: Record<string, string> = {},
  env: Env = process.env,
): ConfigResult {
  const problems: string[] = [];
  const raw = (name: string): string => {
    const spec = VARIABLES.find((v) => v.name === name);
    const value = env[name] ?? defaults[name] ?? spec?.default ?? '';
    return value.trim();
  };
  const int = (name: string, min: number, max: number): number => {
    const text = raw(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${text}")`);
      return min;
    }
    return value;
  };
  const bool = (name: string): boolean => {
    const text = raw(name).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(text)) return true;
    if (['false', '0', 'no', 'off'].includes(text)) return false;
    problems.push(`${name} must be true or false (got "${text}")`);
    return false;
  };

  const logLevel = raw('LOG_LEVEL').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }
  const host = raw('HOST');
  if (host === '') problems.push('HOST must not be empty');

  const corsText = raw('CORS_ORIGINS');
  let corsOrigins: string[] | null = null;
  if (corsText !== '') {
    corsOrigins = corsText
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== '');
    for (const origin of corsOrigins) {
      if (origin === '*') continue;
      let parsed: URL | null = null;
      try {
        parsed = new URL(origin);
      } catch {
        parsed = null;
      }
      if (parsed === null || parsed.origin !== origin) {
        problems.push(
          `CORS_ORIGINS entries must be origins like https://app.example.com (got "${origin}")`,
        );
      }
    }
  }

  const probe = raw('READINESS_PROBE').toLowerCase();
  if (probe !== 'upstream' && probe !== 'off') {
    problems.push(`READINESS_PROBE must be upstream or off (got "${probe}")`);
  }

  const routerSecret = raw('ROUTER_SECRET');
  if (routerSecret !== '' && (routerSecret.length < 16 || !/^[\x21-\x7e]+$/.test(routerSecret))) {
    // Printable ASCII only: HTTP header values and environment strings decode other bytes
    // differently, so a non-ASCII secret could never match.
    problems.push('ROUTER_SECRET must be at least 16 printable ASCII characters when set');
  }

  const config: Config = {
    port: int('PORT', 0, 65535),
    host,
    logLevel,
    upstream: {
      connectTimeoutMs: int('UPSTREAM_CONNECT_TIMEOUT_MS', 1, 60_000),
      requestTimeoutMs: int('UPSTREAM_REQUEST_TIMEOUT_MS', 1, 300_000),
      maxAttempts: int('UPSTREAM_MAX_ATTEMPTS', 1, 10),
      maxConcurrency: int('UPSTREAM_MAX_CONCURRENCY', 1, 100),
      maxSockets: int('UPSTREAM_MAX_SOCKETS', 1, 1000),
    },
    corsOrigins,
    graphiql: bool('GRAPHIQL'),
    maxBodyBytes: int('MAX_BODY_BYTES', 1024, 10 * 1024 * 1024),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 0, 600_000),
    routerSecret: routerSecret === '' ? null : routerSecret,
    readinessProbe: probe !== 'off',
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}
