/**
 * Giving memory back after a burst. A burst of heavy operations (history pages, many aliases)
 * makes V8 take pages that it keeps once the burst is over: a pool of free pages for reuse and a
 * fragmented old generation, 30-40 MB after the bench's W2 and W5 (docs/performance.md). V8's own
 * memory reducer would return them, but it judges idleness by an allocation rate it samples
 * mostly at collections, and a gateway that has gone quiet runs none: traced with
 * `--trace-memory-reducer`, it judged a process quiet for 25 s "high alloc" three times and kept
 * every page.
 *
 * The idle trim runs one memory-reducing full collection (V8's "last resort" collection, which
 * compacts the heap and releases the page pool; Node must be started with `--expose-gc`) when no
 * API response has finished for `idleMs` and the resident set is at least `minGrowthBytes` above
 * where the last trim (or the start) left it: once per burst, never while requests keep coming,
 * and not again for a resident set that stays put.
 * Its price: one pause of the main thread, 90-150 ms on one slow core with a 25 MB heap (a request
 * that arrives during it waits), and V8 drops the compiled code it finds idle, so the first 2 s of
 * cached answers after a trim cost 1.5-2 times their CPU while it recompiles. Hence the default
 * quiet spell is a minute (MEMORY_TRIM_IDLE_MS), not seconds: bursty traffic must not pay for a
 * trim between every two bursts.
 */
import { performance } from 'node:perf_hooks';

/** What one trim did. */
export interface MemoryTrim {
  /** Resident set (bytes) before and after. */
  beforeBytes: number;
  afterBytes: number;
  /** Milliseconds the collection held the main thread. */
  ms: number;
}

export interface IdleMemoryTrimOptions {
  /** Milliseconds without API activity before a trim may run (> 0). */
  idleMs: number;
  /** Bytes the resident set must have grown since the last trim (or the start) to trim again. */
  minGrowthBytes: number;
  /** A count of API activity that only ever grows (the app's finished API responses; probes excluded). */
  requests: () => number;
  /** The collection, e.g. {@link memoryReducingCollector}'s. */
  collect: () => void;
  /** The resident set in bytes; default `process.memoryUsage.rss()`. */
  residentBytes?: () => number;
  /** Now in milliseconds (monotonic); default `performance.now()`. */
  now?: () => number;
  /** How often to look, in milliseconds; default min(idleMs, 1000). 0: never (tests call check). */
  checkEveryMs?: number;
  /** Told about each trim (log line, metrics). */
  onTrim?: (trim: MemoryTrim) => void;
}

export interface IdleMemoryTrim {
  /** Looks once (the timer calls it): trims if the gateway is idle and has grown; `null` if not. */
  check(): MemoryTrim | null;
  /** Stops looking. */
  stop(): void;
}

type GcFunction = (options?: { type?: string; execution?: string; flavor?: string }) => void;

/**
 * A function that runs V8's memory-reducing full collection synchronously, or `null` when Node
 * was not started with `--expose-gc` (the image's NODE_OPTIONS and `npm start` pass it). V8 offers
 * the collection to JavaScript only as `gc()`. Turning the flag on at run time is no substitute: it
 * gives `gc` only to contexts made afterwards, and a second context cost W2 about 10% of its CPU
 * per request for as long as it lived (alternating runs), so the flag must come at start.
 * On Node 24 (V8 13) `flavor: 'last-resort'` makes it memory-reducing. V8 11 (Node 20) reads those
 * options in a way that frees little (measured: 2 of 60 MB of garbage), so there it runs a plain
 * full collection, which frees the garbage but keeps the page pool.
 */
export function memoryReducingCollector(): (() => void) | null {
  const gc = (globalThis as { gc?: GcFunction }).gc;
  if (typeof gc !== 'function') return null;
  const v8Major = Number(process.versions.v8.split('.')[0]);
  if (v8Major < 12) return () => gc();
  return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/** Starts watching for a quiet spell after growth; see the module comment. */
export function startIdleMemoryTrim(options: IdleMemoryTrimOptions): IdleMemoryTrim {
  const { collect } = options;
  const residentBytes = options.residentBytes ?? (() => process.memoryUsage.rss());
  const now = options.now ?? (() => performance.now());
  let seen = options.requests();
  let lastRequestAt = now();
  let baseline = residentBytes();

  function check(): MemoryTrim | null {
    const requests = options.requests();
    const at = now();
    if (requests !== seen) {
      seen = requests;
      lastRequestAt = at;
      return null;
    }
    if (at - lastRequestAt < options.idleMs) return null;
    const beforeBytes = residentBytes();
    if (beforeBytes - baseline < options.minGrowthBytes) return null;
    collect();
    const trim = { beforeBytes, afterBytes: residentBytes(), ms: now() - at };
    baseline = trim.afterBytes;
    options.onTrim?.(trim);
    return trim;
  }

  const every = options.checkEveryMs ?? Math.min(options.idleMs, 1000);
  const timer = every > 0 ? setInterval(check, every) : null;
  timer?.unref();
  return {
    check,
    stop() {
      if (timer !== null) clearInterval(timer);
    },
  };
}
