/**
 * Who is calling. The HTTP edge (src/http/auth.ts) establishes it before any GraphQL work and it
 * reaches every resolver as `context.caller`. Operations are checked against its scopes before
 * they run (a mutation needs `write`); a resolver that changes something also calls
 * {@link requireScope}. Whatever is kept per caller (a response cache) is keyed by `principal`.
 */
import { ErrorCode, GatewayError } from '../errors.js';

/** `read`: queries (and subscriptions); `write`: mutations (start or stop a job). */
export type Scope = 'read' | 'write';

export interface CallerIdentity {
  /** How the caller proved who it is. */
  kind: 'anonymous' | 'apiKey' | 'jwt' | 'router';
  /**
   * A stable, non-secret name for the caller: `anonymous` (AUTH=none), `key:<id>` (an API key),
   * `jwt:<iss> <sub>` (a JWT's issuer and subject), `router` (the router secret alone).
   */
  principal: string;
  /** What the caller may do. */
  scopes: ReadonlySet<Scope>;
}

const EVERY_SCOPE: ReadonlySet<Scope> = new Set<Scope>(['read', 'write']);

/** The caller when no access control is configured (AUTH=none): anyone, allowed everything. */
export const ANONYMOUS_CALLER: CallerIdentity = Object.freeze({
  kind: 'anonymous',
  principal: 'anonymous',
  scopes: EVERY_SCOPE,
});

/**
 * The caller behind a federation router that proved the shared ROUTER_SECRET, when no API keys or
 * JWTs are configured: every supergraph client reaches the subgraph as this one caller, so it
 * holds only the scopes the operator trusts the router's own authorization with (ROUTER_SCOPES:
 * `read` by default, `read` and `write` to let the router's clients start and stop jobs).
 */
export function routerCaller(scopes: Iterable<Scope>): CallerIdentity {
  return Object.freeze({ kind: 'router', principal: 'router', scopes: new Set<Scope>(scopes) });
}

/**
 * A caller with no scopes, for a request that reached GraphQL without an identity (a GraphiQL page
 * request, which never executes anything, or a bug): anything it asks for is refused.
 */
export const UNIDENTIFIED_CALLER: CallerIdentity = Object.freeze({
  kind: 'anonymous',
  principal: 'unidentified',
  scopes: new Set<Scope>(),
});

/** Throws FORBIDDEN when `caller` lacks `scope`; `what` names the refused action for the message. */
export function requireScope(caller: CallerIdentity, scope: Scope, what: string): void {
  if (!caller.scopes.has(scope)) {
    throw new GatewayError(
      ErrorCode.FORBIDDEN,
      `${what} needs the "${scope}" scope, which these credentials (${caller.principal}) do not have.`,
      { details: { requiredScope: scope } },
    );
  }
}
