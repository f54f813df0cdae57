/**
 * The kinds of value a configuration variable can hold (zod schemas over the variable's trimmed
 * text), and `declare`, which pairs a kind with its default and description. `src/config.ts`
 * declares every variable with these; nothing here reads the environment. A kind's `description`
 * (zod's `.describe`) says what it accepts and is added to its rows of the README's table.
 */
import proxyAddr from '@fastify/proxy-addr';
import { z } from 'zod';

export type Env = Readonly<Record<string, string | undefined>>;
export type Reader = 'gateway' | 'demo' | 'AWS SDK' | 'OpenTelemetry SDK' | 'Node';

export interface Variable<S extends z.ZodType = z.ZodType> {
  schema: S;
  default?: string;
  description: string;
  readBy: Reader;
}

export const declare = <S extends z.ZodType>(
  schema: S,
  defaultValue: string | undefined,
  description: string,
  readBy: Reader = 'gateway',
): Variable<S> => ({
  schema,
  ...(defaultValue === undefined ? {} : { default: defaultValue }),
  description,
  readBy,
});

/** Read by another program (the AWS SDK...): declared for the docs and the manifest checks. */
export const foreign = (readBy: Reader, description: string) =>
  declare(z.string().optional(), undefined, description, readBy);

/**
 * A URL as a problem message may show it: without credentials, query or fragment (a JWKS or
 * collector URL may carry a token there, and problems go to stderr).
 */
export function shownUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1…@').replace(/[?#].*$/s, '…');
}

/** A whole number in [min, max], written in decimal digits. */
export const int = (min: number, max: number) =>
  z
    .string()
    .refine((t) => /^\d+$/.test(t) && Number.isSafeInteger(Number(t)) && +t >= min && +t <= max, {
      error: (issue) => `must be a whole number from ${min} to ${max} (got "${issue.input}")`,
    })
    .transform(Number);

/** A decimal number in [min, max]. */
export const decimal = (min: number, max: number) =>
  z
    .string()
    .refine((t) => t !== '' && Number(t) >= min && Number(t) <= max, {
      error: (issue) => `must be a number from ${min} to ${max} (got "${issue.input}")`,
    })
    .transform(Number);

export const bool = z
  .stringbool({
    truthy: ['true', '1', 'yes', 'on'],
    falsy: ['false', '0', 'no', 'off'],
    error: (issue) => `must be true or false (got "${issue.input}")`,
  })
  .describe('Boolean: true/false, 1/0, yes/no or on/off, in any case.');

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .toLowerCase()
    .pipe(
      z.enum(values, {
        error: (issue) => `must be one of ${values.join(', ')} (got "${issue.input}")`,
      }),
    );

export const nonEmpty = z.string().min(1, 'must not be empty');

/** The non-empty, trimmed entries of a comma-separated list. */
function commaList(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** Free text; empty means unset (`null`). */
export const optionalText = z.string().transform((s) => (s === '' ? null : s));

/** Comma-separated browser origins, `*` for any; empty means none (same-origin only). */
export const origins = z.string().transform((text, ctx) => {
  const list = commaList(text);
  for (const origin of list) {
    if (origin !== '*' && (!URL.canParse(origin) || new URL(origin).origin !== origin)) {
      ctx.addIssue({
        code: 'custom',
        message: `entries must be origins like https://app.example.com (got "${shownUrl(origin)}")`,
      });
    }
  }
  return list.length === 0 ? null : list;
});

/**
 * Proxies whose `X-Forwarded-For` is believed, in @fastify/proxy-addr's notation: addresses, CIDR
 * ranges (`10.0.0.0/8`, `fd00::/8`) and the names `loopback`, `linklocal`, `uniquelocal`,
 * comma-separated. Empty: none (`null`), the TCP peer is the client.
 */
export const trustedProxies = z.string().transform((text, ctx) => {
  const list = commaList(text);
  for (const entry of list) {
    try {
      proxyAddr.compile(entry);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `entries must be IP addresses, CIDR ranges like 10.0.0.0/8, or loopback, linklocal, uniquelocal (got "${entry}")`,
      });
    }
  }
  return list.length === 0 ? null : list;
});

/** Printable ASCII only: header values and environment strings decode other bytes differently. */
export const secret = z
  .string()
  .refine((s) => s === '' || (s.length >= 16 && /^[\x21-\x7e]+$/.test(s)), {
    error: 'must be at least 16 printable ASCII characters, without spaces, when set',
  })
  .transform((s) => (s === '' ? null : s))
  .describe(
    'Secret: at least 16 printable ASCII characters, no spaces (e.g. `openssl rand -hex 32`).',
  );

/** `redis://` or `rediss://` (TLS) with optional credentials and database; empty: no Redis. */
export const redisUrl = z
  .string()
  .refine(
    (text) =>
      text === '' || (URL.canParse(text) && ['redis:', 'rediss:'].includes(new URL(text).protocol)),
    // The value may hold a password: the message never repeats it.
    { error: 'must be a redis:// or rediss:// URL when set' },
  )
  .transform((text) => (text === '' ? null : text));

/** A Redis key prefix: printable ASCII without spaces or `:` at the ends. */
export const keyPrefix = z
  .string()
  .regex(/^[\x21-\x7e]{1,64}$/, 'must be 1 to 64 printable ASCII characters without spaces')
  .refine((s) => !s.startsWith(':') && !s.endsWith(':'), {
    error: 'must not start or end with ":"',
  });

/** One configured API key: only the SHA-256 of the key is ever configured. */
export interface ApiKeyEntry {
  /** Names the key in logs and in the caller's identity (`key:<id>`); not secret. */
  id: string;
  scopes: ReadonlyArray<'read' | 'write'>;
  /** SHA-256 of the key, 32 bytes. */
  sha256: Buffer;
}

const API_KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** `id:scopes:sha256hex` entries separated by commas; scopes `read` or `read+write`. */
export const apiKeys = z.string().transform((text, ctx) => {
  const entries: ApiKeyEntry[] = [];
  const parts = commaList(text);
  for (const [index, entry] of parts.entries()) {
    const [id = '', scopes = '', hash = '', ...rest] = entry.split(':');
    const where = `entry ${index + 1}${API_KEY_ID.test(id) ? ` ("${id}")` : ''}`;
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (rest.length > 0 || hash === '') {
      problem(`${where} must be id:scopes:sha256hex`);
      continue;
    }
    if (!API_KEY_ID.test(id)) problem(`${where}: the id must be 1 to 64 of A-Z a-z 0-9 _ . -`);
    if (scopes !== 'read' && scopes !== 'read+write') {
      problem(`${where}: scopes must be read or read+write`);
    }
    if (!SHA256_HEX.test(hash)) problem(`${where}: the hash must be 64 hex digits (SHA-256)`);
    if (entries.some((e) => e.id === id)) problem(`${where}: the id is listed twice`);
    if (
      SHA256_HEX.test(hash) &&
      entries.some((e) => e.sha256.toString('hex') === hash.toLowerCase())
    ) {
      problem(`${where}: the same key hash is listed twice`);
    }
    entries.push({
      id,
      scopes: scopes === 'read+write' ? ['read', 'write'] : ['read'],
      sha256: Buffer.from(SHA256_HEX.test(hash) ? hash : '', 'hex'),
    });
  }
  return entries.length === 0 ? null : entries;
});

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An https URL (http only on loopback, for tests and local identity providers); empty: unset. */
export const httpsUrl = z.string().transform((text, ctx) => {
  if (text === '') return null;
  if (!URL.canParse(text)) {
    ctx.addIssue({ code: 'custom', message: `must be a URL (got "${shownUrl(text)}")` });
    return null;
  }
  const url = new URL(text);
  if (
    url.protocol !== 'https:' &&
    !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))
  ) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be an https URL (http only on 127.0.0.1 or localhost)',
    });
    return null;
  }
  return url.href;
});

/** An http(s) URL; empty: unset. */
export const httpUrl = z.string().transform((text, ctx) => {
  if (text === '') return null;
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    ctx.addIssue({
      code: 'custom',
      message: `must be an http or https URL (got "${shownUrl(text)}")`,
    });
    return null;
  }
  return text;
});
