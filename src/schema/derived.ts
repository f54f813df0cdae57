/**
 * Facts the gateway derives from what Amplify sends: durations, whether a job is over, its failed
 * step, the last lines of a log. Pure functions, so the rules are tested on their own.
 */
import { isTerminalStatus, type JobStatus, type StepRecord } from '../upstream/shapes.js';

/**
 * Seconds from `start` to `end` for something that has ended; for something still going (no end,
 * status not final), the seconds elapsed from `start` until `now` (epoch ms, the request's start).
 * Null without a start time, or when the status is final but Amplify gave no end time. Never
 * negative (a start time ahead of the gateway's clock reads as 0).
 */
export function durationSeconds(
  start: Date | null,
  end: Date | null,
  status: JobStatus | null,
  now: number,
): number | null {
  if (start === null) return null;
  if (end !== null) return Math.max(0, (end.getTime() - start.getTime()) / 1000);
  if (isTerminalStatus(status)) return null;
  return Math.max(0, (now - start.getTime()) / 1000);
}

/** The first step whose status is FAILED, or null. */
export function firstFailedStep<S extends StepRecord>(steps: readonly S[]): S | null {
  return steps.find((step) => step.status === 'FAILED') ?? null;
}

/**
 * The last `count` lines of `text` (a final newline ends the last line; it does not start an empty
 * one), and whether lines were dropped.
 */
export function lastLines(text: string, count: number): { text: string; dropped: boolean } {
  const body = text.endsWith('\n') ? text.length - 1 : text.length;
  let cut = body;
  for (let seen = 0; seen < count; seen++) {
    const newline = cut > 0 ? text.lastIndexOf('\n', cut - 1) : -1;
    if (newline < 0) return { text, dropped: false };
    cut = newline;
  }
  return { text: text.slice(cut + 1), dropped: true };
}
