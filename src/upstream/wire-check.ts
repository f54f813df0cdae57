/**
 * The shape check at the upstream seam. Every Amplify answer, whatever the operation, is read
 * through {@link readAnswer} and the per-member readers of {@link WireObject}, so no payload,
 * however malformed, becomes a made-up entity, a 5xx or a wrong code. The rules are the same for
 * every shape (Job, App, Branch, pages of them):
 *
 * - A member of the wrong type reads as absent (`null`) and is reported.
 * - A list or map entry of the wrong shape (`null`, a number where an object belongs) is skipped
 *   and reported; the other entries are kept.
 * - A timestamp reads as a `Date` only if `DateTime` can print it as RFC 3339 (years 0000 to 9999);
 *   anything else (epoch milliseconds where seconds belong, a year above 9999, an invalid date)
 *   reads as absent and is reported with its raw value.
 * - An answer without its entity (GetJob without `job`, a `job` that is not an object, an entity
 *   whose id is not the one asked for) is an `UPSTREAM_INVALID_RESPONSE` error: never retryable,
 *   since Amplify would send the same answer next time, and never presented as an existing entity.
 *
 * The readers accept both what the AWS SDK produces (timestamps as `Date`) and raw JSON from the
 * wire (timestamps as epoch seconds, a numeric string or an ISO-8601 string), because when the
 * SDK's own deserializer throws on an answer (an ISO-8601 string where it wants a number), the
 * upstream reads the answer's raw JSON instead (see sdk-upstream.ts).
 *
 * Reports go to one {@link WireProblemListener} per process; the logger behind it
 * (`wireProblemLogger`) writes each kind of problem once. This module imports nothing from the SDK
 * but its types, and nothing from GraphQL.
 *
 * Mapping a new shape is one function over the answer, typed by the SDK's output type so member
 * names are checked at compile time; the upstream's `read` (sdk-upstream.ts) sends the command,
 * falls back to the raw JSON when needed and maps errors:
 *
 * ```ts
 * export function toAppRecord(key: AppKey, answer: unknown, context: AnswerContext): AppRecord {
 *   const app = readAnswer<GetAppCommandOutput>(answer, context).entity('app', 'app');
 *   app.expectId('appId', key.appId);
 *   const production = app.object('productionBranch');
 *   return {
 *     appId: key.appId,
 *     name: app.text('name'),
 *     createTime: app.time('createTime'),
 *     repository: app.url('repository'),
 *     lastDeployTime: production?.time('lastDeployTime') ?? null,
 *   };
 * }
 * // a page: readAnswer<ListAppsCommandOutput>(answer, context)
 * //   .entityList('apps', 'list of apps', (entry) => entry.text('appId') === null ? null : ...)
 * ```
 */
import { ErrorCode, GatewayError } from '../errors.js';

/** Told about each value outside a known enum, so it can be logged (once per value). */
export type UnknownValueListener = (enumName: string, value: string) => void;

/** What kind of problem a reader worked around. */
export type WireProblemKind =
  /** A member of another JSON type than the model says: read as absent. */
  | 'wrongType'
  /** A timestamp DateTime cannot print as RFC 3339 (year outside 0000-9999, invalid): absent. */
  | 'unprintableTime'
  /** A timestamp sent as an ISO-8601 string where the model wants epoch seconds: parsed. */
  | 'isoTime'
  /** A string that is not an absolute URL where a URL belongs: read as absent. */
  | 'invalidUrl'
  /** A list or map entry of the wrong shape: skipped. */
  | 'skippedEntry'
  /** The SDK could not deserialize the answer; its raw JSON was read instead. */
  | 'undecodable';

/** One thing wrong with an Amplify answer that the gateway worked around. */
export interface WireProblem {
  kind: WireProblemKind;
  /** The Amplify operation, e.g. `GetJob`. */
  operation: string;
  /** What was asked, e.g. `job 7 of branch "main" in app d1abc`. */
  subject: string;
  /** Where in the answer, e.g. `job.steps[1].startTime`. */
  path: string;
  /** What the gateway did about it, e.g. `not a string: read as null`. */
  problem: string;
  /** The raw value as compact JSON, cut to at most 200 characters. */
  value: string;
}

/** Told about each problem found in an answer. */
export type WireProblemListener = (problem: WireProblem) => void;

/** Where reports go: one of each per process (see observability/logger.ts). */
export interface WireListeners {
  onUnknownValue: UnknownValueListener;
  onProblem: WireProblemListener;
}

/** The SDK's `$metadata` of the call, for the `upstream` details of an invalid answer. */
export interface AnswerMetadata {
  httpStatusCode?: number;
  requestId?: string;
  attempts?: number;
}

/** One answer being read: which call it answers, and where its problems are reported. */
export interface AnswerContext extends WireListeners {
  /** The Amplify operation, e.g. `GetJob`. */
  operation: string;
  /** What was asked, for messages: e.g. `job 7 of branch "main" in app d1abc`. */
  subject: string;
  metadata?: AnswerMetadata | undefined;
}

/** The members of an SDK shape `T`, each of them unchecked until a reader looks at it. */
type Members<T> = { readonly [K in keyof T]?: unknown };
/** The element type of a list member. */
type Element<V> = NonNullable<V> extends ReadonlyArray<infer E> ? NonNullable<E> : never;
/** Members of `T` whose model type is a list. */
type ListKey<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends ReadonlyArray<unknown> ? K : never;
}[keyof T] &
  string;
/** Members of `T` whose model type is a structure (not a list, string, number or Date). */
type ObjectKey<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends ReadonlyArray<unknown> | string | number | Date
    ? never
    : NonNullable<T[K]> extends object
      ? K
      : never;
}[keyof T] &
  string;
type Key<T> = keyof T & string;

/** The last moment DateTime can print, 9999-12-31T23:59:59.999Z, in epoch milliseconds. */
const LAST_PRINTABLE_MS = 253_402_300_799_999;
/** The first, 0000-01-01T00:00:00.000Z (Date.UTC would read year 0 as 1900). */
const FIRST_PRINTABLE_MS = -62_167_219_200_000;
/** RFC 3339 date-time, e.g. 2023-11-14T22:13:21.500Z or 2023-11-14T23:13:21+01:00. */
const RFC3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
/** A number as the SDK accepts it in a string (epoch seconds, fraction allowed). */
const NUMERIC = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** Whether `DateTime` can print this moment as RFC 3339 (`YYYY-MM-DDTHH:mm:ss.sssZ`). */
export function isPrintableTime(date: Date): boolean {
  const ms = date.getTime();
  return !Number.isNaN(ms) && ms >= FIRST_PRINTABLE_MS && ms <= LAST_PRINTABLE_MS;
}

/** A raw value as short JSON for a report or a log line. */
export function preview(value: unknown): string {
  let text: string;
  if (value instanceof Date) {
    // What the SDK made of epoch seconds: show the seconds it read, which is what was sent.
    const ms = value.getTime();
    text = Number.isNaN(ms) ? 'Invalid Date' : String(ms / 1000);
  } else if (value === undefined) {
    text = 'undefined';
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a time';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
  );
}

/** The error for an answer that carries no usable entity; the same answer would come back. */
export function invalidAnswer(context: AnswerContext, detail: string): GatewayError {
  const metadata = context.metadata;
  return new GatewayError(
    ErrorCode.UPSTREAM_INVALID_RESPONSE,
    `Amplify's answer for ${context.subject} is unusable: ${detail}. Retrying will not help.`,
    {
      upstream: {
        errorName: 'InvalidResponse',
        httpStatus: metadata?.httpStatusCode ?? null,
        requestId: metadata?.requestId ?? null,
        attempts: metadata?.attempts ?? null,
      },
    },
  );
}

/**
 * Reads one structure of an answer (`T` is its SDK type, e.g. `Job`): each reader takes a member
 * name of `T`, checks the member's JSON type and returns it, or `null` when it is absent or of
 * the wrong type (reported). Nested structures and list entries are read with their own
 * `WireObject`, so every report names its full path (`job.steps[1].startTime`).
 */
export class WireObject<T> {
  readonly #context: AnswerContext;
  readonly #members: Members<T>;
  /** This structure's path in the answer, e.g. `job.steps[1]`. */
  readonly path: string;

  constructor(context: AnswerContext, path: string, members: Record<string, unknown>) {
    this.#context = context;
    this.#members = members as Members<T>;
    this.path = path;
  }

  /** The member's raw value, unchecked; for readers built on top of these. */
  raw(member: Key<T>): unknown {
    return this.#members[member];
  }

  /** The path of a member, e.g. `job.summary.startTime`. */
  pathOf(member: string): string {
    return this.path === '' ? member : `${this.path}.${member}`;
  }

  /** Reports a problem at `path` (a member path from {@link pathOf}, or an entry's). */
  report(kind: WireProblemKind, path: string, problem: string, value: unknown): void {
    this.#context.onProblem({
      kind,
      operation: this.#context.operation,
      subject: this.#context.subject,
      path,
      problem,
      value: preview(value),
    });
  }

  #wrongType(member: string, expected: string, value: unknown): null {
    this.report(
      'wrongType',
      this.pathOf(member),
      `${typeName(value)} where ${expected} belongs: read as null`,
      value,
    );
    return null;
  }

  /** A string member. */
  text(member: Key<T>): string | null {
    const value = this.#members[member];
    if (value === undefined || value === null) return null;
    return typeof value === 'string' ? value : this.#wrongType(member, 'a string', value);
  }

  /** A boolean member. */
  bool(member: Key<T>): boolean | null {
    const value = this.#members[member];
    if (value === undefined || value === null) return null;
    return typeof value === 'boolean' ? value : this.#wrongType(member, 'a boolean', value);
  }

  /**
   * A count: a whole number from 0 up, sent as a JSON number or as a string of digits (Amplify
   * sends `totalNumberOfJobs` as a string).
   */
  count(member: Key<T>): number | null {
    const value = this.#members[member];
    if (value === undefined || value === null) return null;
    const number =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && /^\d+$/.test(value)
          ? Number(value)
          : Number.NaN;
    return Number.isSafeInteger(number) && number >= 0
      ? number
      : this.#wrongType(member, 'a whole number', value);
  }

  /**
   * A URL member: an absolute URL (RFC 3986) exactly as sent, since re-encoding a presigned URL
   * would break its signature. An empty string (seen on the live service) reads as absent
   * silently; any other string that is not an absolute URL reads as absent and is reported.
   */
  url(member: Key<T>): string | null {
    const value = this.#members[member];
    if (value === undefined || value === null || value === '') return null;
    if (typeof value !== 'string') return this.#wrongType(member, 'a URL', value);
    return this.#checkUrl(this.pathOf(member), value);
  }

  #checkUrl(path: string, value: string): string | null {
    if (URL.canParse(value)) return value;
    this.report('invalidUrl', path, 'not an absolute URL: read as null', value);
    return null;
  }

  /**
   * A timestamp member, as a `Date` DateTime can print (years 0000-9999). Accepts the SDK's
   * `Date`, epoch seconds (a number or a numeric string, as on the wire) and, reported, an
   * RFC 3339 string. Out of range (e.g. epoch milliseconds where seconds belong), invalid or of
   * another type: `null`, reported with the raw value.
   */
  time(member: Key<T>): Date | null {
    const value = this.#members[member];
    if (value === undefined || value === null) return null;
    const path = this.pathOf(member);
    let date: Date;
    if (value instanceof Date) {
      date = value;
    } else if (typeof value === 'number' || (typeof value === 'string' && NUMERIC.test(value))) {
      const seconds = Number(value);
      date = new Date(Number.isFinite(seconds) ? Math.round(seconds * 1000) : Number.NaN);
    } else if (typeof value === 'string' && RFC3339.test(value)) {
      date = new Date(value);
      if (isPrintableTime(date)) {
        this.report(
          'isoTime',
          path,
          'an ISO-8601 string where epoch seconds belong: parsed',
          value,
        );
      }
    } else {
      return this.#wrongType(member, 'a time (epoch seconds)', value);
    }
    if (isPrintableTime(date)) return date;
    this.report(
      'unprintableTime',
      path,
      'not a time between the years 0000 and 9999 (epoch milliseconds where seconds belong?): read as null',
      value,
    );
    return null;
  }

  /**
   * An enum member: a known value as it is, a string outside `known` as `UNKNOWN` (told to
   * `onUnknownValue`: AWS adds values over time), another type as `null` (reported).
   */
  enumValue<E extends string>(
    member: Key<T>,
    known: readonly E[],
    enumName: string,
  ): E | 'UNKNOWN' | null {
    const value = this.#members[member];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') return this.#wrongType(member, `a ${enumName} value`, value);
    if ((known as readonly string[]).includes(value)) return value as E;
    this.#context.onUnknownValue(enumName, value);
    return 'UNKNOWN';
  }

  /** A nested structure: its reader, or `null` when absent or not an object (reported). */
  object<K extends ObjectKey<T>>(member: K): WireObject<NonNullable<T[K]>> | null {
    const value = this.#members[member];
    if (value === undefined || value === null) return null;
    if (!isRecord(value)) return this.#wrongType(member, 'an object', value);
    return new WireObject(this.#context, this.pathOf(member), value);
  }

  /**
   * The entity this answer is about (`job` of GetJob, `app` of GetApp): its reader. Absent or not
   * an object: throws an UPSTREAM_INVALID_RESPONSE GatewayError (`what` names it in the message).
   */
  entity<K extends ObjectKey<T>>(member: K, what: string): WireObject<NonNullable<T[K]>> {
    const value = this.#members[member];
    if (!isRecord(value)) {
      throw invalidAnswer(
        this.#context,
        value === undefined || value === null
          ? `it has no ${what} (\`${this.pathOf(member)}\` is missing)`
          : `its ${what} is ${typeName(value)}, not an object`,
      );
    }
    return new WireObject(this.#context, this.pathOf(member), value);
  }

  /**
   * Checks that an identifying member, when present, names what was asked: an answer about
   * another entity is never presented as the one asked for. `same` compares two ids (default:
   * equal strings). Throws UPSTREAM_INVALID_RESPONSE when they differ.
   */
  expectId(
    member: Key<T>,
    expected: string,
    same: (a: string, b: string) => boolean = (a, b) => a === b,
  ): void {
    const value = this.text(member);
    if (value !== null && !same(value, expected)) {
      throw invalidAnswer(
        this.#context,
        `\`${this.pathOf(member)}\` is ${preview(value)}, not ${preview(expected)}`,
      );
    }
  }

  /**
   * A list of structures: `entry` maps the reader of each object entry (return `null` to skip
   * it). Entries that are not objects are skipped and reported. `null` when the member is absent
   * or not a list (reported); the caller decides what absent means (usually an empty list).
   */
  list<K extends ListKey<T>, R>(
    member: K,
    entry: (item: WireObject<Element<T[K]>>, index: number) => R | null,
  ): R[] | null {
    const value = this.#members[member];
    if (value === undefined || value === null) return null;
    if (!Array.isArray(value)) return this.#wrongType(member, 'a list', value);
    return this.#entries(member, value, entry);
  }

  /**
   * The list an answer is about (`jobSummaries` of ListJobs): like {@link list}, but absent or
   * not a list throws UPSTREAM_INVALID_RESPONSE, since a page without its list says nothing.
   */
  entityList<K extends ListKey<T>, R>(
    member: K,
    what: string,
    entry: (item: WireObject<Element<T[K]>>, index: number) => R | null,
  ): R[] {
    const value = this.#members[member];
    if (!Array.isArray(value)) {
      throw invalidAnswer(
        this.#context,
        value === undefined || value === null
          ? `it has no ${what} (\`${this.pathOf(member)}\` is missing)`
          : `its ${what} is ${typeName(value)}, not a list`,
      );
    }
    return this.#entries(member, value, entry);
  }

  #entries<E, R>(
    member: string,
    items: readonly unknown[],
    entry: (item: WireObject<E>, index: number) => R | null,
  ): R[] {
    const out: R[] = [];
    items.forEach((item, index) => {
      const path = `${this.pathOf(member)}[${index}]`;
      if (!isRecord(item)) {
        this.report(
          'skippedEntry',
          path,
          `${typeName(item)} where an object belongs: skipped`,
          item,
        );
        return;
      }
      const mapped = entry(new WireObject<E>(this.#context, path, item), index);
      if (mapped !== null) out.push(mapped);
    });
    return out;
  }

  /** A list of strings; entries of another type are skipped (reported). */
  textList(member: Key<T>): string[] | null {
    const value = this.#members[member];
    if (value === undefined || value === null) return null;
    if (!Array.isArray(value)) return this.#wrongType(member, 'a list of strings', value);
    const out: string[] = [];
    value.forEach((item, index) => {
      if (typeof item === 'string') out.push(item);
      else {
        const path = `${this.pathOf(member)}[${index}]`;
        this.report(
          'skippedEntry',
          path,
          `${typeName(item)} where a string belongs: skipped`,
          item,
        );
      }
    });
    return out;
  }

  /** A map of strings (e.g. `tags`) as `[key, value]` pairs; other values skipped (reported). */
  textMap(member: Key<T>): Array<[string, string]> | null {
    return this.#map(member, 'a string', (value) =>
      typeof value === 'string' ? value : undefined,
    );
  }

  /**
   * A map whose values are URLs (e.g. a step's `screenshots`) as `[key, url]` pairs: an empty
   * string is dropped silently, other values that are not absolute URLs are dropped (reported).
   */
  urlMap(member: Key<T>): Array<[string, string]> | null {
    return this.#map(member, 'a URL', (value, path) => {
      if (value === '') return null;
      if (typeof value !== 'string') return undefined;
      return this.#checkUrl(path, value);
    });
  }

  /** `read` returns the value, `null` to drop it silently, `undefined` for a wrong type. */
  #map(
    member: string,
    expected: string,
    read: (value: unknown, path: string) => string | null | undefined,
  ): Array<[string, string]> | null {
    const value = (this.#members as Record<string, unknown>)[member];
    if (value === undefined || value === null) return null;
    if (!isRecord(value)) return this.#wrongType(member, 'a map', value);
    const out: Array<[string, string]> = [];
    for (const [key, item] of Object.entries(value)) {
      const path = `${this.pathOf(member)}.${key}`;
      const checked = read(item, path);
      if (checked === undefined) {
        this.report(
          'skippedEntry',
          path,
          `${typeName(item)} where ${expected} belongs: skipped`,
          item,
        );
      } else if (checked !== null) {
        out.push([key, checked]);
      }
    }
    return out;
  }
}

/**
 * Starts reading one answer (`T` is the SDK's output type, e.g. `GetJobCommandOutput`): the SDK's
 * output object, or the raw JSON body when the SDK could not deserialize it. An answer that is
 * not a JSON object (`null`, a list) throws UPSTREAM_INVALID_RESPONSE.
 */
export function readAnswer<T>(answer: unknown, context: AnswerContext): WireObject<T> {
  if (!isRecord(answer)) {
    throw invalidAnswer(context, `the body is ${typeName(answer)}, not a JSON object`);
  }
  return new WireObject<T>(context, '', answer);
}
