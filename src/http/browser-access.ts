/**
 * Browser-origin safety for /graphql: which web pages may read the API's answers (CORS), and
 * which requests a page on any origin could send without asking first (CSRF).
 *
 * - CORS (`CORS_ORIGINS`): a listed origin gets `Access-Control-Allow-Origin` naming it and the
 *   other `Access-Control-Allow-*` headers; an origin not on the list, `Origin: null` (sandboxed
 *   iframes, `file:` pages) included, gets none of them, so the browser keeps the answer from the
 *   page. `*` allows any origin. `Vary: Origin` is on every answer whenever CORS is on, since the
 *   headers then depend on the origin, so no cache hands one origin's answer to another.
 * - CSRF prevention: a browser sends a GET, or a POST whose content type is
 *   `application/x-www-form-urlencoded`, `multipart/form-data` or `text/plain`, from any page
 *   without a CORS preflight. Such a request is refused (HTTP 403, CSRF_PREVENTED) unless it
 *   carries one of {@link CSRF_HEADERS}, which a page can only set after a preflight the CORS
 *   policy above answers. JSON POSTs (GraphiQL, routers, the demo's curl) are unaffected.
 */
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError } from 'graphql';
import type { Plugin, YogaServerOptions } from 'graphql-yoga';
import { ErrorCode } from '../errors.js';

/**
 * Headers that mark a request as sent on purpose: any one of them, with any value, lets a GET
 * or a form-like POST through. GraphQL-over-HTTP suggests the first; Apollo clients send the
 * next two; Yoga's own client the last.
 */
export const CSRF_HEADERS = [
  'graphql-require-preflight',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'x-graphql-yoga-csrf',
] as const;

type CorsSetting = NonNullable<YogaServerOptions<object, object>['cors']>;

/** Response headers a page on an allowed origin may read: the request's id, and when to retry. */
const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'www-authenticate'];

const POLICY = {
  methods: ['GET', 'POST'],
  // Credentials travel in headers (never cookies), so pages must be allowed to send them.
  allowedHeaders: [
    'content-type',
    'x-request-id',
    'authorization',
    'x-api-key',
    'traceparent',
    ...CSRF_HEADERS,
  ],
  exposedHeaders: EXPOSED_HEADERS,
  credentials: false,
  maxAge: 600,
};

/**
 * Yoga's `cors` setting for `CORS_ORIGINS`: off for `null`; any origin for a list with `*`;
 * otherwise the listed origins only, each answered with its own name and nothing at all for any
 * other origin (Yoga alone answers an unlisted origin with `Access-Control-Allow-Origin: null`,
 * which a sandboxed iframe's `Origin: null` matches).
 */
export function corsSetting(origins: readonly string[] | null): CorsSetting {
  if (origins === null) return false;
  if (origins.includes('*')) return { ...POLICY, origin: '*' };
  const allowed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get('origin');
    return origin !== null && allowed.has(origin) ? { ...POLICY, origin: [origin] } : false;
  };
}

/**
 * The CORS headers of an answer the HTTP edge gives itself, before Yoga (a refused credential, a
 * body too large, a rate limit), for a request from `origin`: what Yoga's policy gives the same
 * origin on its own answers (allowed: the origin, or `*`, and the readable headers; `Vary: Origin`
 * whenever CORS is on), so a page can read why it was refused instead of seeing a network error.
 */
export function edgeCorsHeaders(
  origins: readonly string[] | null,
  origin: string | undefined,
): Record<string, string> {
  if (origins === null) return {};
  const any = origins.includes('*');
  if (origin === undefined || !(any || origins.includes(origin))) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': any ? '*' : origin,
    'access-control-expose-headers': EXPOSED_HEADERS.join(', '),
    vary: 'Origin',
  };
}

/**
 * Answers a CORS preflight (`OPTIONS`) that the CORS policy did not answer, because CORS is off
 * or the origin is not listed: 204 with no `Access-Control-Allow-*` header, so the browser stops
 * there. (Yoga would otherwise treat it as a GraphQL request and refuse it as a CSRF attempt, a
 * misleading 403.)
 */
export function usePreflightWithoutCors(): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'OPTIONS') return;
      endResponse(
        new fetchAPI.Response(null, {
          status: 204,
          headers: { allow: 'GET, POST, OPTIONS', 'cache-control': 'no-store' },
        }),
      );
    },
  };
}

/** Adds `Vary: Origin` to every answer while CORS is on (see the module comment). */
export function useVaryOrigin(origins: readonly string[] | null): Plugin {
  if (origins === null) return {};
  return {
    onResponse({ response }) {
      const vary = response.headers.get('vary');
      if (vary === null) response.headers.set('vary', 'Origin');
      else if (!/(^|,)\s*origin\s*(,|$)/i.test(vary))
        response.headers.set('vary', `${vary}, Origin`);
    },
  };
}

/**
 * Yoga's CSRF prevention with {@link CSRF_HEADERS}, its refusal given a catalog code and a
 * message that says what to send instead.
 */
export function useCsrfPrevention(): Plugin {
  const check = useCSRFPrevention({ requestHeaders: [...CSRF_HEADERS] });
  return {
    onRequestParse(payload) {
      try {
        return check.onRequestParse?.(payload);
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        throw new GraphQLError(
          `A GET or a form-like POST (urlencoded, multipart or text/plain) needs a ${CSRF_HEADERS[0]} header (any value), so that no other web page can send it; or POST application/json.`,
          { extensions: { code: ErrorCode.CSRF_PREVENTED, http: { status: 403 } } },
        );
      }
    },
  };
}
