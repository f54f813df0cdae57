// The DateTime scalar prints each Date once and reuses the text (scalars.ts); the text must stay
// that of the Date's current time.
import { assertScalarType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/schema/index.js';

const dateTime = assertScalarType(buildSchema().getType('DateTime'));

describe('DateTime', () => {
  it('prints RFC 3339 in UTC with milliseconds, the same text each time', () => {
    const date = new Date(Date.UTC(2024, 10, 12, 12, 0, 0, 123));

    expect(dateTime.serialize(date)).toBe('2024-11-12T12:00:00.123Z');
    expect(dateTime.serialize(date)).toBe('2024-11-12T12:00:00.123Z');
  });

  it('prints a Date changed after it was printed as its new time', () => {
    const date = new Date(Date.UTC(2024, 10, 12, 12, 0, 0, 123));
    dateTime.serialize(date);
    date.setTime(Date.UTC(2025, 0, 2, 3, 4, 5, 6));

    expect(dateTime.serialize(date)).toBe('2025-01-02T03:04:05.006Z');
  });

  it('refuses what is not a printable time, even after the same Date printed', () => {
    const date = new Date(Date.UTC(2024, 0, 1));
    dateTime.serialize(date);
    date.setTime(Number.NaN);

    expect(() => dateTime.serialize(date)).toThrow(/years 0000-9999/);
    expect(() => dateTime.serialize(new Date(Date.UTC(10000, 0, 1)))).toThrow(/years 0000-9999/);
    expect(() => dateTime.serialize('2024-11-12T12:00:00.123Z')).toThrow(/years 0000-9999/);
  });
});
