/**
 * Fault injection: ordered rules, each for some operations (or all), firing for the next N matching
 * calls (count), with a probability (ratio, drawn from a per-rule seeded Rng so a run can be
 * replayed) and/or during a window of real time (forMs). `latency` rules add delay and let
 * evaluation continue; every other kind decides the request its own way. A count rule is consumed
 * as it fires; a timed rule expires by itself.
 */
import { performance } from 'node:perf_hooks';
import { CORRUPT_OPERATIONS, CORRUPT_VARIANTS, type CorruptVariant, corrupts } from './corrupt.js';
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
  'corrupt',
  'status',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type TerminalFaultKind = Exclude<FaultKind, 'latency'>;

/** Body shapes of the `status` kind: a proxy's HTML page, a JSON message, nothing, plain text. */
export const STATUS_BODIES = ['html', 'json', 'empty', 'text'] as const;
export type StatusBody = (typeof STATUS_BODIES)[number];

/** Parses a duration for `forMs`: a number of ms, or text such as `30000`, `30s`, `500ms`, `2m`. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (match === null) return undefined;
  const unit = match[2] === 's' ? 1000 : match[2] === 'm' ? 60_000 : 1;
  return Number(match[1]) * unit;
}

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
  /** throttle and status: adds a `Retry-After: <seconds>` header. */
  readonly retryAfterSeconds?: number;
  /** Replaces the default error message (error kinds), body (malformed) or text (status). */
  readonly message?: string;
  /**
   * Fire for every matching call during this many milliseconds of real time from when the rule is
   * added, then expire (it stays listed with `expiresInMs: 0`). Combines with count and ratio.
   */
  readonly forMs?: number;
  /** corrupt: how the real 200 body is damaged (see corrupt.ts). Required for corrupt. */
  readonly variant?: CorruptVariant;
  /** corrupt/logUrl: the URL every GetJob step then carries as `logUrl`. */
  readonly url?: string;
  /** status: the HTTP status to answer, 200..599. Required for status. */
  readonly statusCode?: number;
  /** status: the body shape; default html. */
  readonly body?: StatusBody;
  /** status: adds `x-amzn-ErrorType: <errorType>`. */
  readonly errorType?: string;
}

export interface FaultRuleState extends FaultRule {
  readonly id: string;
  /** How many times it has fired. */
  readonly fired: number;
  /** Firings left for a count rule. */
  readonly remaining?: number;
  /** Real milliseconds left for a timed (forMs) rule; 0 once it has expired. */
  readonly expiresInMs?: number;
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
  /** Real time (the engine's clock, ms) after which a timed rule no longer fires. */
  readonly expiresAt: number | undefined;
  fired: number;
  remaining: number | undefined;
}

export class FaultError extends Error {}

export class FaultEngine {
  readonly #seed: string;
  readonly #realNow: () => number;
  #rules: ActiveRule[] = [];
  #nextId = 1;

  /** `realNow` returns real milliseconds (monotonic); tests of timed rules may pass their own. */
  constructor(seed: string, realNow: () => number = () => performance.now()) {
    this.#seed = seed;
    this.#realNow = realNow;
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
      expiresAt: rule.forMs === undefined ? undefined : this.#realNow() + rule.forMs,
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
    const now = this.#realNow();
    return this.#rules.map((r) => ({
      ...r.rule,
      id: r.id,
      fired: r.fired,
      ...(r.remaining === undefined ? {} : { remaining: r.remaining }),
      ...(r.expiresAt === undefined
        ? {}
        : { expiresInMs: Math.max(0, Math.ceil(r.expiresAt - now)) }),
    }));
  }

  decide(operation: OperationName, labels: Labels): FaultDecision {
    if (this.#rules.length === 0) return NO_FAULT;
    let delayMs = 0;
    const now = this.#realNow();
    for (const active of this.#rules) {
      if (active.operations !== undefined && !active.operations.has(operation)) continue;
      if (active.remaining !== undefined && active.remaining <= 0) continue;
      if (active.expiresAt !== undefined && now >= active.expiresAt) continue;
      if (!labelsMatch(active.rule.labels, labels)) continue;
      const variant = active.rule.variant;
      if (variant !== undefined && !corrupts(variant, operation)) continue;
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

function checkCorrupt(raw: Record<string, unknown>, problems: string[]): void {
  const { kind, variant, url } = raw;
  if (kind !== 'corrupt') {
    if (variant !== undefined || url !== undefined) {
      problems.push('variant and url belong to kind corrupt');
    }
    return;
  }
  if (typeof variant !== 'string' || !(CORRUPT_VARIANTS as readonly string[]).includes(variant)) {
    problems.push(`corrupt needs a variant among ${CORRUPT_VARIANTS.join(', ')}`);
    return;
  }
  const supported = CORRUPT_OPERATIONS[variant as CorruptVariant];
  const ops = raw.operations;
  const named = ops === undefined || ops === '*' ? [] : typeof ops === 'string' ? [ops] : ops;
  if (Array.isArray(named)) {
    const unsupported = named.filter((op) => !(supported as readonly unknown[]).includes(op));
    if (unsupported.length > 0) {
      problems.push(
        `variant ${variant} cannot corrupt ${unsupported.join(', ')} (it applies to ${supported.join(', ')})`,
      );
    }
  }
  if (variant === 'logUrl' && typeof url !== 'string') problems.push('variant logUrl needs a url');
  if (variant !== 'logUrl' && url !== undefined) problems.push('url belongs to variant logUrl');
}

function checkStatus(raw: Record<string, unknown>, problems: string[]): void {
  const { kind, statusCode, body, errorType } = raw;
  if (kind !== 'status') {
    if (statusCode !== undefined || body !== undefined || errorType !== undefined) {
      problems.push('statusCode, body and errorType belong to kind status');
    }
    return;
  }
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 200 ||
    statusCode > 599
  ) {
    problems.push('status needs a statusCode (code=) that is an integer 200..599');
  }
  if (body !== undefined && !(STATUS_BODIES as readonly unknown[]).includes(body)) {
    problems.push(`body must be one of ${STATUS_BODIES.join(', ')}`);
  }
  if (
    errorType !== undefined &&
    (typeof errorType !== 'string' || !/^[\w.:#/-]+$/.test(errorType))
  ) {
    problems.push('errorType must be a header-safe name such as ThrottlingException');
  }
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
  const forMs = raw.forMs;
  if (forMs !== undefined && (typeof forMs !== 'number' || !Number.isFinite(forMs) || forMs <= 0)) {
    problems.push('forMs must be a number of milliseconds > 0');
  }
  checkCorrupt(raw, problems);
  checkStatus(raw, problems);
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
 * `GetJob,ListJobs:internal:count=3`, `*:latency:ms=50,jitter=20`, `GetJob:reset:count=1,jobId=7`,
 * `GetJob:corrupt:variant=nullStep`, `*:status:code=502,body=html,for=30s`,
 * `GetJob:corrupt:variant=logUrl,url=http://169.254.169.254/latest`.
 * Keys: count, ratio, ms (latencyMs), jitter (jitterMs), retryAfter (retryAfterSeconds), message,
 * for (forMs: ms, or with a unit: 500ms, 30s, 2m), variant, code (statusCode), body, errorType,
 * the labels appId, branchName, jobId, artifactId, and url, which must come last because it takes
 * the rest of the text, commas included. Throws FaultError naming the spec.
 */
export function parseFaultSpec(spec: string): FaultRule {
  const first = spec.indexOf(':');
  if (first < 0) throw new FaultError(`fault "${spec}": expected <operations>:<kind>[:options]`);
  const second = spec.indexOf(':', first + 1);
  const opsText = spec.slice(0, first);
  const kind = second < 0 ? spec.slice(first + 1) : spec.slice(first + 1, second);
  let optionsText = second < 0 ? '' : spec.slice(second + 1);
  const rule: Record<string, unknown> = { kind };
  // url takes the rest of the text, so a URL may hold commas.
  const url = /(?:^|,)url=/.exec(optionsText);
  if (url !== null) {
    rule.url = optionsText.slice(url.index + url[0].length);
    optionsText = optionsText.slice(0, url.index);
  }
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
    code: 'statusCode',
    statusCode: 'statusCode',
    forMs: 'forMs',
  };
  const text: Record<string, string> = {
    message: 'message',
    variant: 'variant',
    body: 'body',
    errorType: 'errorType',
  };
  if (optionsText !== '') {
    for (const pair of optionsText.split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new FaultError(`fault "${spec}": option "${pair}" is not key=value`);
      const key = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const numericKey = numeric[key];
      const textKey = text[key];
      if (numericKey !== undefined) rule[numericKey] = Number(value);
      else if (textKey !== undefined) rule[textKey] = value;
      else if (key === 'for') {
        const ms = parseDurationMs(value);
        if (ms === undefined) {
          throw new FaultError(
            `fault "${spec}": for=${value} is not a duration (30000, 30s, 500ms)`,
          );
        }
        rule.forMs = ms;
      } else if (['appId', 'branchName', 'jobId', 'artifactId'].includes(key)) labels[key] = value;
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
