/**
 * What the boundary's reports become: one warning per kind of problem per process, and a DateTime
 * scalar that can never print a value that is not RFC 3339.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { wireProblemLogger } from '../../src/observability/logger.js';
import { buildSchema } from '../../src/schema/index.js';
import type { WireProblem } from '../../src/upstream/wire-check.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, sink) };
}

const problem = (path: string, value: string, kind: WireProblem['kind'] = 'unprintableTime') => ({
  kind,
  operation: 'GetJob',
  subject: 'job 7 of branch "main" in app d1abc',
  path,
  problem: 'not a time between the years 0000 and 9999: read as null',
  value,
});

describe('wire problem log', () => {
  it('warns once per operation, member path and kind, with the first raw value and what was asked', async () => {
    const { lines, log } = capture();
    const report = wireProblemLogger(log);
    report(problem('job.steps[0].startTime', '1700000001500'));
    report(problem('job.steps[1].startTime', '1700000002500'));
    report(problem('job.steps[0].startTime', '1700000001500'));
    report(problem('job.summary.startTime', '1700000003500'));
    report(problem('job.steps[0].startTime', '"x"', 'wrongType'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.level, l.path, l.kind, l.value])).toEqual([
      [40, 'job.steps[0].startTime', 'unprintableTime', '1700000001500'],
      [40, 'job.summary.startTime', 'unprintableTime', '1700000003500'],
      [40, 'job.steps[0].startTime', 'wrongType', '"x"'],
    ]);
    expect(lines[0]).toMatchObject({
      operation: 'GetJob',
      subject: 'job 7 of branch "main" in app d1abc',
      msg: expect.stringMatching(/malformed member: not a time/),
    });
  });
});

describe('DateTime', () => {
  const scalar = buildSchema().getType('DateTime');
  if (scalar === undefined || !('serialize' in scalar)) throw new Error('no DateTime scalar');

  it('prints RFC 3339 in UTC with milliseconds', () => {
    expect(scalar.serialize(new Date(1700000001500))).toBe('2023-11-14T22:13:21.500Z');
    expect(scalar.serialize(new Date('9999-12-31T23:59:59.999Z'))).toBe('9999-12-31T23:59:59.999Z');
  });

  it.each([
    ['a year above 9999', new Date(1700000001500 * 1000)],
    ['a year below 0000', new Date(-62167219200001)],
    ['an invalid Date', new Date(Number.NaN)],
    ['a number', 1700000001500],
    ['a string', '2023-11-14T22:13:21.500Z'],
  ])('refuses %s instead of printing something that is not RFC 3339', (_name, value) => {
    expect(() => scalar.serialize(value)).toThrow(/DateTime cannot represent/);
  });
});
