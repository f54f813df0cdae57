import { performance } from 'node:perf_hooks';

/**
 * The emulator's own clock for job timelines. Virtual time = start + elapsed real time * speed,
 * plus manual advances. It only drives job data: HTTP `Date` headers always carry the real wall
 * clock, because the AWS SDK corrects its signing clock from them (and retries even 404s when
 * they look skewed).
 */
export class VirtualClock {
  #anchorVirtualMs: number;
  #anchorRealMs: number;
  #speed: number;
  readonly #realNow: () => number;

  constructor(startMs: number, speed: number, realNow: () => number = () => performance.now()) {
    assertSpeed(speed);
    this.#realNow = realNow;
    this.#anchorVirtualMs = startMs;
    this.#anchorRealMs = realNow();
    this.#speed = speed;
  }

  /** Virtual epoch milliseconds, always an integer so timestamps stay exact to the millisecond. */
  nowMs(): number {
    if (this.#speed === 0) return this.#anchorVirtualMs;
    return Math.floor(this.#anchorVirtualMs + (this.#realNow() - this.#anchorRealMs) * this.#speed);
  }

  get speed(): number {
    return this.#speed;
  }

  /** Moves virtual time forward by `ms` (never backwards: job timelines assume monotonic time). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock.advance expects a finite, non-negative number of ms, got ${ms}`);
    }
    this.#anchorVirtualMs += Math.round(ms);
  }

  /** Changes the speed from now on; 0 freezes the clock, 1 is real time, 60 a minute per second. */
  setSpeed(speed: number): void {
    assertSpeed(speed);
    this.#anchorVirtualMs = this.nowMs();
    this.#anchorRealMs = this.#realNow();
    this.#speed = speed;
  }
}

function assertSpeed(speed: number): void {
  if (!Number.isFinite(speed) || speed < 0) {
    throw new RangeError(`clock speed must be a finite number >= 0, got ${speed}`);
  }
}
