/**
 * Fault injection: ordered rules, each for some operations (or all), firing for the next N matching
 * calls (count) and/or with a probability (ratio, drawn from a per-rule seeded Rng so a run can be
 * replayed). `latency` rules add delay and let evaluation continue; every other kind ends the
 * request its own way. A count rule is consumed as it fires.
 */

import { type Rng, rngFor } from './random.js';
import { type Labels, OPERATION_NAMES, type OperationName } from './router.js';

export const FAULT_KINDS = [
  'latency',
  'throttle',
  'internal',
  'unavailable',
  'unauthorized',
  'accessDenied',
  'reset',
  'hang',
  'malformed',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type TerminalFaultKind = Exclude<FaultKind, 'latency'>;

/** A fault rule as given by callers (options, JS handle, control API, CLI). */
export interface FaultRule {
  readonly kind: FaultKind;
  /** Operations it applies to; omitted or '*' means every Amplify operation. */
  readonly operations?: '*' | OperationName | readonly OperationName[];
  /** Fire for the next N matching calls only. */
  readonly count?: number;
  /** Fire with this probability (0..1) per matching call; default 1. */
  readonly ratio?: number;
  /** Only when these path labels match exactly, e.g. `{ jobId: '7' }`. */
  readonly labels?: Readonly<Labels>;
  /** latency: fixed delay in ms. */
  readonly latencyMs?: number;
  /** latency: extra random delay in [0, jitterMs). */
  readonly jitterMs?: number;
  /** throttle: adds a `Retry-After: <seconds>` header. */
  readonly retryAfterSeconds?: number;
  /** Replaces the default error message (error kinds) or body (malformed). */
  readonly message?: string;
}

export interface FaultRuleState extends FaultRule {
  readonly id: string;
  /** How many times it has fired. */
  readonly fired: number;
  /** Firings left for a count rule. */
  readonly remaining?: number;
}

export interface FaultDecision {
  readonly delayMs: number;
  readonly terminal?: { readonly kind: TerminalFaultKind; readonly rule: FaultRule };
}

const NO_FAULT: FaultDecision = { delayMs: 0 };

interface ActiveRule {
  readonly id: string;
  readonly rule: FaultRule;
  readonly operations: ReadonlySet<string> | undefined;
  readonly rng: Rng;
  fired: number;
  remaining: number | undefined;
}

export class FaultError extends Error {}

export class FaultEngine {
  readonly #seed: string;
  #rules: ActiveRule[] = [];
  #nextId = 1;

  constructor(seed: string) {
    this.#seed = seed;
  }

  add(input: FaultRule): string {
    const rule = validateFaultRule(input);
    const id = `fault-${this.#nextId++}`;
    const ops = rule.operations;
    this.#rules.push({
      id,
      rule,
      operations:
        ops === undefined || ops === '*'
          ? undefined
          : new Set(typeof ops === 'string' ? [ops] : ops),
      rng: rngFor(this.#seed, 'fault', id),
      fired: 0,
      remaining: rule.count,
    });
    return id;
  }

  remove(id: string): boolean {
    const before = this.#rules.length;
    this.#rules = this.#rules.filter((r) => r.id !== id);
    return this.#rules.length !== before;
  }

  clear(): void {
    this.#rules = [];
  }

  list(): FaultRuleState[] {
    return this.#rules.map((r) => ({
      ...r.rule,
      id: r.id,
      fired: r.fired,
      ...(r.remaining === undefined ? {} : { remaining: r.remaining }),
    }));
  }

  decide(operation: OperationName, labels: Labels): FaultDecision {
    if (this.#rules.length === 0) return NO_FAULT;
    let delayMs = 0;
    for (const active of this.#rules) {
      if (active.operations !== undefined && !active.operations.has(operation)) continue;
      if (active.remaining !== undefined && active.remaining <= 0) continue;
      if (!labelsMatch(active.rule.labels, labels)) continue;
      const ratio = active.rule.ratio ?? 1;
      if (ratio < 1 && !(active.rng.next() < ratio)) continue;
      active.fired++;
      if (active.remaining !== undefined) active.remaining--;
      const rule = active.rule;
      if (rule.kind === 'latency') {
        const jitter = rule.jitterMs ?? 0;
        delayMs +=
          (rule.latencyMs ?? 0) + (jitter > 0 ? Math.floor(active.rng.next() * jitter) : 0);
        continue;
      }
      return { delayMs, terminal: { kind: rule.kind, rule } };
    }
    return delayMs === 0 ? NO_FAULT : { delayMs };
  }
}

function labelsMatch(want: Readonly<Labels> | undefined, got: Labels): boolean {
  if (want === undefined) return true;
  for (const key of ['appId', 'branchName', 'jobId', 'artifactId'] as const) {
    const expected = want[key];
    if (expected !== undefined && got[key] !== expected) return false;
  }
  return true;
}

function nonNegative(name: string, value: unknown, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    problems.push(`${name} must be a number >= 0`);
    return undefined;
  }
  return value;
}

/** Checks a rule from untrusted input (control API JSON, CLI); throws FaultError listing problems. */
export function validateFaultRule(input: unknown): FaultRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultError('a fault rule must be an object');
  }
  const raw = input as Record<string, unknown>;
  const problems: string[] = [];
  const kind = raw.kind;
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    problems.push(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  }
  const ops = raw.operations;
  const known = OPERATION_NAMES as readonly string[];
  if (ops !== undefined && ops !== '*') {
    const list = typeof ops === 'string' ? [ops] : ops;
    if (!Array.isArray(list) || list.some((op) => typeof op !== 'string' || !known.includes(op))) {
      problems.push(`operations must be '*' or operation names among ${known.join(', ')}`);
    }
  }
  const count = raw.count;
  if (
    count !== undefined &&
    (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0)
  ) {
    problems.push('count must be an integer >= 0');
  }
  const ratio = raw.ratio;
  if (ratio !== undefined && (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1))) {
    problems.push('ratio must be a number between 0 and 1');
  }
  nonNegative('latencyMs', raw.latencyMs, problems);
  nonNegative('jitterMs', raw.jitterMs, problems);
  nonNegative('retryAfterSeconds', raw.retryAfterSeconds, problems);
  if (raw.message !== undefined && typeof raw.message !== 'string')
    problems.push('message must be a string');
  const labels = raw.labels;
  if (labels !== undefined) {
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
      problems.push('labels must be an object');
    } else {
      for (const [key, value] of Object.entries(labels)) {
        if (
          !['appId', 'branchName', 'jobId', 'artifactId'].includes(key) ||
          typeof value !== 'string'
        ) {
          problems.push(
            `labels.${key} is not a string path label (appId, branchName, jobId, artifactId)`,
          );
        }
      }
    }
  }
  if (problems.length > 0) throw new FaultError(`invalid fault rule: ${problems.join('; ')}`);
  const rule = { ...raw } as unknown as FaultRule;
  return Object.freeze(
    Array.isArray(rule.operations)
      ? { ...rule, operations: Object.freeze([...rule.operations]) }
      : rule,
  );
}

/**
 * Parses the CLI form `<ops>:<kind>[:k=v,k=v...]`, for example `GetJob:throttle:ratio=0.1`,
 * `GetJob,ListJobs:internal:count=3`, `*:latency:ms=50,jitter=20`, `GetJob:reset:count=1,jobId=7`.
 * Keys: count, ratio, ms (latencyMs), jitter (jitterMs), retryAfter (retryAfterSeconds), message,
 * and the labels appId, branchName, jobId, artifactId.
 */
export function parseFaultSpec(spec: string): FaultRule {
  const first = spec.indexOf(':');
  if (first < 0) throw new FaultError(`fault "${spec}": expected <operations>:<kind>[:options]`);
  const second = spec.indexOf(':', first + 1);
  const opsText = spec.slice(0, first);
  const kind = second < 0 ? spec.slice(first + 1) : spec.slice(first + 1, second);
  const optionsText = second < 0 ? '' : spec.slice(second + 1);
  const rule: Record<string, unknown> = { kind };
  if (opsText !== '*' && opsText !== '') rule.operations = opsText.split(',').map((s) => s.trim());
  const labels: Record<string, string> = {};
  const numeric: Record<string, string> = {
    count: 'count',
    ratio: 'ratio',
    ms: 'latencyMs',
    latencyMs: 'latencyMs',
    jitter: 'jitterMs',
    jitterMs: 'jitterMs',
    retryAfter: 'retryAfterSeconds',
    retryAfterSeconds: 'retryAfterSeconds',
  };
  if (optionsText !== '') {
    for (const pair of optionsText.split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new FaultError(`fault "${spec}": option "${pair}" is not key=value`);
      const key = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const numericKey = numeric[key];
      if (numericKey !== undefined) rule[numericKey] = Number(value);
      else if (key === 'message') rule.message = value;
      else if (['appId', 'branchName', 'jobId', 'artifactId'].includes(key)) labels[key] = value;
      else throw new FaultError(`fault "${spec}": unknown option "${key}"`);
    }
  }
  if (Object.keys(labels).length > 0) rule.labels = labels;
  try {
    return validateFaultRule(rule);
  } catch (error) {
    throw new FaultError(
      `fault "${spec}": ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
