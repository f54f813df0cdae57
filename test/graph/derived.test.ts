import { describe, expect, it } from 'vitest';
import { durationSeconds, firstFailedStep, lastLines } from '../../src/schema/derived.js';
import { toStepLog } from '../../src/schema/step.js';
import {
  isTerminalStatus as isTerminal,
  type JobStatus,
  type StepRecord,
} from '../../src/upstream/shapes.js';

const at = (iso: string) => new Date(iso);

describe('durationSeconds', () => {
  const start = at('2026-11-16T09:00:00.000Z');
  const now = at('2026-11-16T09:10:00.500Z').getTime();

  it('is end minus start once something has ended, whatever the clock says', () => {
    expect(durationSeconds(start, at('2026-11-16T09:05:01.250Z'), 'SUCCEED', now)).toBe(301.25);
    expect(durationSeconds(start, at('2026-11-16T09:00:00.020Z'), 'FAILED', now)).toBe(0.02);
  });

  it('is the time elapsed until now while it still runs', () => {
    for (const status of ['RUNNING', 'PENDING', 'PROVISIONING', 'CANCELLING', 'UNKNOWN', null]) {
      expect(durationSeconds(start, null, status as JobStatus | null, now), String(status)).toBe(
        600.5,
      );
    }
  });

  it('is null without a start, or when a finished job has no end time', () => {
    expect(durationSeconds(null, at('2026-11-16T09:05:00.000Z'), 'SUCCEED', now)).toBeNull();
    expect(durationSeconds(start, null, 'CANCELLED', now)).toBeNull();
  });

  it('is never negative when a start time is ahead of the clock', () => {
    expect(durationSeconds(at('2026-11-16T10:00:00.000Z'), null, 'RUNNING', now)).toBe(0);
  });
});

describe('isTerminal and failedStep', () => {
  it('call SUCCEED, FAILED and CANCELLED final, and nothing else', () => {
    const final = ['SUCCEED', 'FAILED', 'CANCELLED'];
    for (const status of [
      'CREATED',
      'PENDING',
      'PROVISIONING',
      'RUNNING',
      'CANCELLING',
      'UNKNOWN',
      ...final,
    ]) {
      expect(isTerminal(status as JobStatus), status).toBe(final.includes(status));
    }
    expect(isTerminal(null)).toBe(false);
  });

  it('picks the first FAILED step', () => {
    const step = (stepName: string, status: JobStatus) => ({ stepName, status }) as StepRecord;
    const steps = [step('BUILD', 'SUCCEED'), step('TEST', 'FAILED'), step('DEPLOY', 'FAILED')];
    expect(firstFailedStep(steps)?.stepName).toBe('TEST');
    expect(firstFailedStep(steps.slice(0, 1))).toBeNull();
    expect(firstFailedStep([])).toBeNull();
  });
});

describe('lastLines', () => {
  it('keeps the last lines, a final newline ending the last one', () => {
    expect(lastLines('a\nb\nc\n', 2)).toEqual({ text: 'b\nc\n', dropped: true });
    expect(lastLines('a\nb\nc', 2)).toEqual({ text: 'b\nc', dropped: true });
    expect(lastLines('a\nb\nc\n', 1)).toEqual({ text: 'c\n', dropped: true });
  });

  it('keeps everything when the text has no more lines than asked', () => {
    expect(lastLines('a\nb\nc\n', 3)).toEqual({ text: 'a\nb\nc\n', dropped: false });
    expect(lastLines('a\nb\nc\n', 50)).toEqual({ text: 'a\nb\nc\n', dropped: false });
    expect(lastLines('', 1)).toEqual({ text: '', dropped: false });
    expect(lastLines('one line', 1)).toEqual({ text: 'one line', dropped: false });
  });

  it('counts an empty first line as a line', () => {
    expect(lastLines('\nx\n', 1)).toEqual({ text: 'x\n', dropped: true });
  });
});

describe('toStepLog', () => {
  const record = { text: 'l1\nl2\nl3\n', textBytes: 9, totalBytes: 9, truncated: false };

  it('marks the log truncated when tailLines drops lines, not when it keeps them all', () => {
    expect(toStepLog(record, 2)).toEqual({ text: 'l2\nl3\n', truncated: true, bytes: 9 });
    expect(toStepLog(record, 3)).toEqual({ text: record.text, truncated: false, bytes: 9 });
    expect(toStepLog(record, null)).toEqual({ text: record.text, truncated: false, bytes: 9 });
  });

  it('keeps the truncation of a log cut by the byte cap, and its whole size', () => {
    const cut = { text: 'l3\n', textBytes: 3, totalBytes: 5_000_000, truncated: true };
    expect(toStepLog(cut, 10)).toEqual({ text: 'l3\n', truncated: true, bytes: 5_000_000 });
    expect(toStepLog({ ...cut, totalBytes: 2 ** 33 }, null).bytes).toBe(2 ** 31 - 1);
  });
});
