/**
 * What tests observe: calls per operation, the in-flight high-water mark (a request is in flight
 * from arrival until its response is finished or its socket closes, injected latency included),
 * and a ring of the last requests. Control (/_local/) and file (/_files/) routes are not counted.
 */
import type { FaultKind } from './faults.js';
import type { Labels, OperationName } from './router.js';

/** Requests that matched no operation are counted under this name. */
export const UNKNOWN_OPERATION = 'UnknownOperation';

export interface RequestRecord {
  /** Wall-clock arrival time (ISO 8601). */
  readonly at: string;
  readonly requestId: string;
  readonly method: string;
  /** Raw path and query as received. */
  readonly url: string;
  readonly operation: OperationName | typeof UNKNOWN_OPERATION;
  readonly labels: Labels;
  /** HTTP status sent; 0 when no response was sent (reset, hang, client gone). */
  readonly status: number;
  /** `x-amzn-ErrorType` sent, if any. */
  readonly errorType?: string;
  readonly fault?: FaultKind;
  readonly durationMs: number;
  readonly headers: {
    /** e.g. `attempt=2; max=3`: tells retries apart. */
    readonly amzSdkRequest?: string;
    readonly amzSdkInvocationId?: string;
    readonly userAgent?: string;
    readonly hasAuthorization: boolean;
    readonly hasSessionToken: boolean;
  };
}

export interface StatsSnapshot {
  readonly total: number;
  readonly calls: Readonly<Record<string, number>>;
  readonly inFlight: number;
  readonly inFlightHighWater: number;
  readonly faultsFired: Readonly<Record<string, number>>;
  readonly lastRequests: readonly RequestRecord[];
}

export class StatsRecorder {
  readonly #capacity: number;
  #calls = new Map<string, number>();
  #faults = new Map<string, number>();
  #total = 0;
  #inFlight = 0;
  #highWater = 0;
  #ring: RequestRecord[] = [];
  #head = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /** A request arrived (counted as in flight until `finish`). */
  begin(operation: string): void {
    this.#total++;
    this.#calls.set(operation, (this.#calls.get(operation) ?? 0) + 1);
    this.#inFlight++;
    if (this.#inFlight > this.#highWater) this.#highWater = this.#inFlight;
  }

  finish(record: RequestRecord): void {
    this.#inFlight--;
    if (record.fault !== undefined) {
      this.#faults.set(record.fault, (this.#faults.get(record.fault) ?? 0) + 1);
    }
    if (this.#ring.length < this.#capacity) this.#ring.push(record);
    else {
      this.#ring[this.#head] = record;
      this.#head = (this.#head + 1) % this.#capacity;
    }
  }

  calls(operation?: string): number {
    return operation === undefined ? this.#total : (this.#calls.get(operation) ?? 0);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get inFlightHighWater(): number {
    return this.#highWater;
  }

  /** The last `n` finished requests, oldest first. */
  lastRequests(n = this.#capacity): RequestRecord[] {
    const ordered =
      this.#ring.length < this.#capacity
        ? this.#ring.slice()
        : [...this.#ring.slice(this.#head), ...this.#ring.slice(0, this.#head)];
    return n >= ordered.length ? ordered : ordered.slice(ordered.length - n);
  }

  snapshot(): StatsSnapshot {
    return {
      total: this.#total,
      calls: Object.fromEntries(this.#calls),
      inFlight: this.#inFlight,
      inFlightHighWater: this.#highWater,
      faultsFired: Object.fromEntries(this.#faults),
      lastRequests: this.lastRequests(),
    };
  }

  /** Zeroes counters and history; the high-water mark restarts from what is in flight now. */
  reset(): void {
    this.#calls = new Map();
    this.#faults = new Map();
    this.#total = 0;
    this.#highWater = this.#inFlight;
    this.#ring = [];
    this.#head = 0;
  }
}
