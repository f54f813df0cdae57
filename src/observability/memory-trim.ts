/**
 * Giving memory back after a burst. A burst of heavy operations (history pages, many aliases)
 * makes V8 take pages that it keeps once the burst is over: a pool of free pages for reuse and a
 * fragmented old generation, 30-40 MB after the bench's W2 and W5 (docs/performance.md). V8's own
 * memory reducer would return them when the process goes quiet, but on Node 24 it never does: one
 * of the allocation rates it must find low, that of V8's C++ heap, is exactly zero in a process
 * that never allocates there (the gateway), and V8 13 takes zero for busy. Traced with
 * `--trace-memory-reducer`, it found a gateway quiet for 30 s "high alloc" at every tick.
 *
 * Two remedies, each with the same price, so both wait for quiet:
 * - the idle trim runs one memory-reducing full collection (V8's "last resort" collection, which
 *   compacts the heap and releases the page pool; Node must be started with `--expose-gc`) when no
 *   API response has finished for `idleMs` and the resident set is at least `minGrowthBytes` above
 *   where the last trim (or the start) left it: once per burst, never while requests keep coming,
 *   and not again for a resident set that stays put;
 * - {@link wakeMemoryReducer} (off by default) lets V8's reducer see the quiet itself, 2-16 s after
 *   a burst, and collect in short incremental steps.
 * The price: a full collection in a quiet process finds every per-request object dead, and V8
 * throws away the optimised code tied to their shapes; the trim's also drops idle compiled code
 * and holds the main thread 90-150 ms on one slow core (a request arriving then waits). The first
 * seconds of traffic after it cost up to 1.5-2 times their CPU while V8 optimises again. Hence
 * the trim's default quiet spell is a minute (MEMORY_TRIM_IDLE_MS), and the reducer's wake-up is
 * opt-in: bursty traffic must not pay for a collection between every two bursts.
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

/**
 * Wakes V8's memory reducer on Node 24: every `everyMs` milliseconds it compiles an empty
 * `vm.Script`, which allocates one small object on V8's C++ heap (and makes no context: a second
 * context would cost every request). That allocation rate, no longer exactly zero yet negligible,
 * lets the reducer find a quiet process quiet: measured after the bench's W2 and W5, RSS went from
 * 136 to 102 MB 9 s after the burst and to 94 MB 18 s after, in steps of at most 16 ms. Under load
 * the reducer still sees a high rate and does nothing. The timer does not keep the process alive.
 * Returns a function that stops it.
 */
export function wakeMemoryReducer(everyMs: number): () => void {
  // Loaded only here: a gateway without the wake-up does not load `vm` at all.
  const { Script } = process.getBuiltinModule('node:vm');
  const timer = setInterval(() => {
    new Script('');
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
