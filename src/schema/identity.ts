/**
 * Who is calling. The HTTP edge establishes it before any GraphQL work and it reaches every
 * resolver as `context.identity`. A resolver that changes something calls {@link requireScope}.
 */
import { ErrorCode, GatewayError } from '../errors.js';

/** `read`: queries (and subscriptions); `write`: mutations (start or stop a job). */
export type Scope = 'read' | 'write';

export interface CallerIdentity {
  /** How the caller proved who it is. */
  kind: 'anonymous' | 'apiKey' | 'jwt' | 'router';
  /** A stable, non-secret name for the caller, e.g. `anonymous`, `key:<id>`. */
  principal: string;
  /** What the caller may do. */
  scopes: ReadonlySet<Scope>;
}

const EVERY_SCOPE: ReadonlySet<Scope> = new Set<Scope>(['read', 'write']);

/** The caller when no access control is configured: anyone, allowed everything. */
export const ANONYMOUS_CALLER: CallerIdentity = Object.freeze({
  kind: 'anonymous',
  principal: 'anonymous',
  scopes: EVERY_SCOPE,
});

/** Throws FORBIDDEN when `caller` lacks `scope`; `what` names the refused action for the message. */
export function requireScope(caller: CallerIdentity, scope: Scope, what: string): void {
  if (!caller.scopes.has(scope)) {
    throw new GatewayError(
      ErrorCode.FORBIDDEN,
      `${what} needs the "${scope}" scope, which these credentials (${caller.principal}) do not have.`,
    );
  }
}
