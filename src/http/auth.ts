/**
 * Access control at the HTTP edge, before any GraphQL work: establishes the {@link CallerIdentity}
 * of each request from its credentials, or refuses it with HTTP 401 UNAUTHENTICATED.
 *
 * - `ROUTER_SECRET`: when set, every request must carry it in `x-router-secret` (checked first);
 *   `ROUTER_SECRET_FALLBACK` is accepted as well, so that a rotation has no moment of refusals.
 * - `API_KEYS`: `x-api-key: <key>` or `Authorization: Bearer <key>`. Only SHA-256 hashes are
 *   configured; the key's hash is compared with every configured hash in constant time.
 * - JWT (`JWT_JWKS_URL`, `JWT_ISSUER`, `JWT_AUDIENCE`): `Authorization: Bearer <jwt>`, verified
 *   with jose against the identity provider's key set (fetched and cached; a token signed with a
 *   key id not in the cache makes jose fetch the set again, at most once per cooldown, which is how
 *   key rotation is picked up). Only asymmetric algorithms; `exp` and `sub` are required; scopes
 *   come from the space-separated `scope` claim (`read`, `write`).
 *
 * With neither API keys nor JWTs configured the caller is the router (ROUTER_SECRET, with
 * ROUTER_SCOPES: `read` unless the operator trusts the router with `write`) or anonymous
 * (AUTH=none, allowed everything). {@link useScopeCheck} then refuses, with FORBIDDEN, operations
 * the caller's scopes do not cover: a mutation needs `write`, a query or subscription `read`.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  type DocumentNode,
  GraphQLError,
  getOperationAST,
  type OperationTypeNode,
  type ValidationRule,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { JWTPayload } from 'jose';
import type { Logger } from 'pino';
import type { ApiKeyEntry, Config } from '../config.js';
import { ErrorCode } from '../errors.js';
import type { AuthFailureReason } from '../observability/metrics.js';
import {
  ANONYMOUS_CALLER,
  type CallerIdentity,
  routerCaller,
  type Scope,
} from '../schema/identity.js';
import { sameSecret } from './secrets.js';

export type AuthOutcome =
  | { ok: true; caller: CallerIdentity }
  | {
      ok: false;
      /** 401: bad or missing credentials; 503: they could not be checked now. */
      status: 401 | 503;
      code: ErrorCode;
      message: string;
      retryable: boolean;
      reason: AuthFailureReason;
    };

export interface Authenticator {
  /**
   * Who is calling, or why the request is refused. Never throws, and a returned promise never
   * rejects. The outcome comes at once (no promise, no turn of the event loop) except when a JWT
   * must be verified, which may need the identity provider's key set.
   */
  authenticate(headers: IncomingHttpHeaders): AuthOutcome | Promise<AuthOutcome>;
  /** The `WWW-Authenticate` challenge for 401 answers; `null` when only a router secret is used. */
  readonly challenge: string | null;
}

/** Signature algorithms accepted in JWTs: asymmetric only, so a leaked key set cannot sign. */
const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Clock skew tolerated between the identity provider and this host. */
const CLOCK_TOLERANCE_SECONDS = 5;
const JWS_COMPACT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

function refuse(reason: AuthFailureReason, message: string): AuthOutcome {
  return {
    ok: false,
    status: 401,
    code: ErrorCode.UNAUTHENTICATED,
    message,
    retryable: false,
    reason,
  };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The key whose hash matches, comparing with every entry so the time does not say which. */
function findApiKey(keys: readonly ApiKeyEntry[], presented: string): ApiKeyEntry | null {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: ApiKeyEntry | null = null;
  for (const entry of keys) {
    if (sameSecret(digest, entry.sha256) && found === null) found = entry;
  }
  return found;
}

function scopesOf(payload: JWTPayload): Set<Scope> {
  const raw = payload.scope;
  const words = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : [];
  const scopes = new Set<Scope>();
  for (const word of words) if (word === 'read' || word === 'write') scopes.add(word);
  return scopes;
}

/** jose's errors, in words a client can act on (never the key set's address). */
function jwtRefusal(error: unknown, log: Logger): AuthOutcome {
  const { code, claim } = (error ?? {}) as { code?: unknown; claim?: unknown };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return refuse('expired', 'The token has expired; get a new one from the identity provider.');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'aud') {
        return refuse(
          'audience',
          'The token is meant for another API: its audience (aud) is wrong.',
        );
      }
      if (claim === 'iss') {
        return refuse('issuer', 'The token comes from an issuer (iss) this API does not trust.');
      }
      if (claim === 'nbf') return refuse('invalid', 'The token is not valid yet (nbf).');
      return refuse(
        'invalid',
        `The token's ${typeof claim === 'string' ? `"${claim}" claim` : 'claims'} failed validation.`,
      );
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return refuse(
        'unknown_kid',
        "The token was signed with a key (kid) that is not in the identity provider's key set.",
      );
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return refuse('signature', "The token's signature does not verify.");
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return refuse('invalid', "The token's signature algorithm is not accepted.");
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return refuse('invalid', 'The token is malformed.');
    default:
      // The key set could not be fetched (timeout, network, not a key set): not the caller's fault.
      log.error({ err: error }, 'could not check a JWT: the key set is unavailable');
      return {
        ok: false,
        status: 503,
        code: ErrorCode.UNAUTHENTICATED,
        message:
          "The token could not be checked now (the identity provider's keys are unavailable); try again shortly.",
        retryable: true,
        reason: 'jwks_unavailable',
      };
  }
}

export function createAuthenticator(
  config: Pick<Config, 'auth' | 'routerSecret' | 'routerSecretFallback'>,
  log: Logger,
): Authenticator {
  const { apiKeys, jwt } = config.auth;
  // The accepted values of x-router-secret: none, the secret, or during a rotation also its
  // fallback (the config refuses a fallback alone). Each comparison runs in constant time.
  const routerSecrets = [config.routerSecret, config.routerSecretFallback].flatMap((value) =>
    value === null ? [] : [Buffer.from(value, 'utf8')],
  );
  const needsRouterSecret = routerSecrets.length > 0;
  const router = routerCaller(config.auth.routerScopes);
  // jose is loaded only when JWTs are configured (it costs start-up time otherwise).
  const verifier =
    jwt === null
      ? null
      : import('jose').then(({ createRemoteJWKSet, jwtVerify }) => ({
          jwtVerify,
          jwks: createRemoteJWKSet(new URL(jwt.jwksUrl), {
            cooldownDuration: jwt.jwksCooldownMs,
            cacheMaxAge: 600_000,
            timeoutDuration: 5_000,
          }),
        }));
  const accepted = [
    ...(apiKeys !== null ? ['an API key (x-api-key: <key> or Authorization: Bearer <key>)'] : []),
    ...(jwt !== null ? ['a JWT (Authorization: Bearer <token>)'] : []),
  ];

  async function verifyJwt(token: string): Promise<AuthOutcome> {
    if (jwt === null || verifier === null) {
      return refuse('invalid', 'JWTs are not accepted here.');
    }
    try {
      const { jwtVerify, jwks } = await verifier;
      const { payload } = await jwtVerify(token, jwks, {
        issuer: jwt.issuer,
        audience: jwt.audience,
        algorithms: JWT_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
      });
      return {
        ok: true,
        caller: {
          kind: 'jwt',
          principal: `jwt:${jwt.issuer} ${payload.sub ?? ''}`,
          scopes: scopesOf(payload),
        },
      };
    } catch (error) {
      return jwtRefusal(error, log);
    }
  }

  // One identity per configured key, made once: the caches' name for a caller is then worked out
  // once per identity object (cacheKeyOf in app.ts), not once per request.
  const apiKeyOutcomes = new Map<ApiKeyEntry, AuthOutcome>(
    (apiKeys ?? []).map((entry) => [
      entry,
      {
        ok: true,
        caller: Object.freeze({
          kind: 'apiKey',
          principal: `key:${entry.id}`,
          scopes: new Set(entry.scopes),
        }),
      },
    ]),
  );

  function checkApiKey(key: string): AuthOutcome {
    if (apiKeys === null) return refuse('unknown_key', 'API keys are not accepted here.');
    const entry = findApiKey(apiKeys, key);
    if (entry === null) return refuse('unknown_key', 'Unknown API key.');
    return apiKeyOutcomes.get(entry) ?? refuse('unknown_key', 'Unknown API key.');
  }

  const withoutCredentials: AuthOutcome = {
    ok: true,
    caller: needsRouterSecret ? router : ANONYMOUS_CALLER,
  };

  return {
    challenge: apiKeys === null && jwt === null ? null : 'Bearer realm="amplify-jobs-graphql"',
    authenticate(headers) {
      if (needsRouterSecret) {
        const given = header(headers, 'x-router-secret');
        if (given === undefined || !routerSecrets.some((accepted) => sameSecret(given, accepted))) {
          return refuse('router_secret', 'Missing or wrong x-router-secret header.');
        }
      }
      if (apiKeys === null && jwt === null) return withoutCredentials;
      const apiKey = header(headers, 'x-api-key');
      if (apiKey !== undefined) return checkApiKey(apiKey);
      const authorization = header(headers, 'authorization');
      const bearer = authorization === undefined ? null : /^Bearer +(\S+) *$/i.exec(authorization);
      if (bearer === null || bearer[1] === undefined) {
        return refuse('missing', `Missing credentials: send ${accepted.join(' or ')}.`);
      }
      const token = bearer[1];
      if (jwt !== null && JWS_COMPACT.test(token)) return verifyJwt(token);
      return checkApiKey(token);
    },
  };
}

function forbidden(operation: string, needed: Scope): GraphQLError {
  return new GraphQLError(
    `This ${operation} needs the "${needed}" scope, which these credentials do not have.`,
    {
      extensions: {
        code: ErrorCode.FORBIDDEN,
        retryable: false,
        requiredScope: needed,
        // 403 whatever the response media type (not a GraphQL request error).
        http: { status: 403, spec: false },
      },
    },
  );
}

const neededScope = (operation: OperationTypeNode): Scope =>
  operation === 'mutation' ? 'write' : 'read';

/**
 * Refuses operations the caller's scopes do not cover: a mutation needs `write`, a query or
 * subscription `read`. Checked twice:
 * - during validation, by a rule named after the caller's scope set, so Yoga's validation cache
 *   (keyed by the rules' names) keeps one result per scope set, never one caller's for another; a
 *   caller without `write` is refused any document that holds a mutation, before its fields are
 *   looked at;
 * - again right before execution, per request, whatever any cache did.
 */
export function useScopeCheck(): Plugin<{ caller?: CallerIdentity }> {
  const rules = new Map<string, ValidationRule>();
  const ruleFor = (scopes: ReadonlySet<Scope>): ValidationRule => {
    const key = [...scopes].sort().join('_') || 'none';
    let rule = rules.get(key);
    if (rule === undefined) {
      const check: ValidationRule = (validation) => ({
        OperationDefinition(node) {
          const needed = neededScope(node.operation);
          if (!scopes.has(needed)) validation.reportError(forbidden(node.operation, needed));
        },
      });
      Object.defineProperty(check, 'name', { value: `RequireScopes_${key}` });
      rule = check;
      rules.set(key, rule);
    }
    return rule;
  };
  const guard = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { document: DocumentNode; operationName?: string | null; contextValue: unknown };
    setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void;
  }) => {
    const operation = getOperationAST(args.document, args.operationName);
    if (operation === null || operation === undefined) return;
    const needed = neededScope(operation.operation);
    const caller = (args.contextValue as { caller?: CallerIdentity }).caller;
    if (caller?.scopes.has(needed)) return;
    setResultAndStopExecution({ errors: [forbidden(operation.operation, needed)] });
  };
  return {
    onValidate({ context, addValidationRule }) {
      addValidationRule(ruleFor(context.caller?.scopes ?? new Set()));
    },
    onExecute: guard,
    onSubscribe: guard,
  };
}
