// The answer-size measure that drops an answer over MAX_RESPONSE_BYTES (answer-size.test.ts has
// the end-to-end case): it must agree with the JSON the client would get, to within the escapes.
import { describe, expect, it } from 'vitest';
import { answerExceeds } from '../../src/http/operation-limits.js';

/** The bytes the answer takes as JSON. */
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('answerExceeds', () => {
  it('counts a string by its UTF-8 bytes, not by the bound that settles most answers', () => {
    // 1,000 two-byte characters: 2,000 bytes of UTF-8, 3,000 by the first walk's bound.
    const data = { job: { commitMessage: 'é'.repeat(1000) } };
    const size = jsonBytes({ data });

    expect(answerExceeds({ data }, size + 10)).toBe(false);
    expect(answerExceeds({ data }, 2500)).toBe(false);
    expect(answerExceeds({ data }, 1900)).toBe(true);
  });

  it('measures within a few bytes of the JSON, for plain and prototype-less objects', () => {
    const step = Object.assign(Object.create(null) as Record<string, unknown>, {
      stepName: 'BUILD',
      status: 'SUCCEED',
      logUrl: 'https://example.com/log?sig=abc',
    });
    const data = {
      jobs: Array.from({ length: 50 }, (_, i) => ({ jobId: String(i), steps: [step, null, 3] })),
    };
    const size = jsonBytes({ data });

    expect(answerExceeds({ data }, Math.ceil(size * 1.1))).toBe(false);
    expect(answerExceeds({ data }, Math.floor(size * 0.9))).toBe(true);
  });

  it('counts error messages', () => {
    const errors = [{ message: 'x'.repeat(5000) }] as never;

    expect(answerExceeds({ data: null, errors }, 6000)).toBe(false);
    expect(answerExceeds({ data: null, errors }, 4000)).toBe(true);
  });
});
