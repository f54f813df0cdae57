import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CursorCodec, type CursorPosition } from '../../src/schema/cursors.js';

const LIST = 'ListJobs\u0000d1abc\u0000main';
const POSITION: CursorPosition = { token: 'amplify-token', skip: 3, after: '41' };

function flip(text: string, at: number): string {
  const c = text[at] === 'A' ? 'B' : 'A';
  return `${text.slice(0, at)}${c}${text.slice(at + 1)}`;
}

describe('connection cursors', () => {
  const codec = new CursorCodec('a-shared-secret-of-enough-length');

  it('give back the position they were made from', () => {
    const cursor = codec.encode(LIST, POSITION);
    expect(codec.decode(LIST, cursor)).toEqual(POSITION);
    expect(codec.decode(LIST, codec.encode(LIST, { token: null, skip: 0, after: 'x' }))).toEqual({
      token: null,
      skip: 0,
      after: 'x',
    });
  });

  it('do not show the token in clear text', () => {
    expect(codec.encode(LIST, POSITION)).not.toContain('amplify-token');
  });

  it('refuse any change to their payload or their MAC', () => {
    const cursor = codec.encode(LIST, POSITION);
    const dot = cursor.indexOf('.');
    for (const at of [0, 5, dot - 1, dot + 1, cursor.length - 1]) {
      expect(codec.decode(LIST, flip(cursor, at)), `changed at ${at}`).toBeNull();
    }
    expect(codec.decode(LIST, cursor.slice(0, -2))).toBeNull();
    // Spellings of the same MAC that Node's lenient base64url decoder would take.
    for (const suffix of ['=', '!!', '\n']) {
      expect(codec.decode(LIST, `${cursor}${suffix}`), JSON.stringify(suffix)).toBeNull();
    }
    // The MAC's last character carries 2 bits and 4 unused ones: setting one gives the same bytes.
    const twin = ({ A: 'B', Q: 'R', g: 'h', w: 'x' } as Record<string, string>)[
      cursor.at(-1) ?? ''
    ];
    const twinCursor = `${cursor.slice(0, -1)}${twin}`;
    const macOf = (text: string) => Buffer.from(text.slice(text.indexOf('.') + 1), 'base64url');
    expect(macOf(twinCursor)).toEqual(macOf(cursor));
    expect(codec.decode(LIST, twinCursor)).toBeNull();
    expect(codec.decode(LIST, cursor.slice(0, dot))).toBeNull();
    expect(codec.decode(LIST, '')).toBeNull();
    expect(codec.decode(LIST, 'not a cursor')).toBeNull();
  });

  it('are bound to their list: a cursor of another branch, app or list does not verify', () => {
    const cursor = codec.encode(LIST, POSITION);
    expect(codec.decode('ListJobs\u0000d1abc\u0000develop', cursor)).toBeNull();
    expect(codec.decode('ListJobs\u0000d2xyz\u0000main', cursor)).toBeNull();
    expect(codec.decode('ListBranches\u0000d1abc', cursor)).toBeNull();
  });

  it('verify across codecs that share a secret (replicas), not across different secrets', () => {
    const cursor = codec.encode(LIST, POSITION);
    expect(new CursorCodec('a-shared-secret-of-enough-length').decode(LIST, cursor)).toEqual(
      POSITION,
    );
    expect(new CursorCodec('another-secret-of-enough-length').decode(LIST, cursor)).toBeNull();
  });

  it('verify with the fallback key during a rotation, and are signed with the new key only', () => {
    const OLD = 'a-shared-secret-of-enough-length';
    const NEW = 'the-next-secret-of-enough-length';
    const before = codec.encode(LIST, POSITION);
    // Rolled replicas: signing with the new key, still accepting the old one's cursors.
    const rolled = new CursorCodec(NEW, OLD);
    expect(rolled.decode(LIST, before)).toEqual(POSITION);
    const after = rolled.encode(LIST, POSITION);
    expect(after).not.toBe(before);
    expect(new CursorCodec(NEW).decode(LIST, after)).toEqual(POSITION);
    expect(codec.decode(LIST, after)).toBeNull();
    // The first step of a rotation without a gap: old replicas learn to accept the new key.
    expect(new CursorCodec(OLD, NEW).decode(LIST, after)).toEqual(POSITION);
    // A fallback opens no door to other keys, lists or edits.
    expect(
      rolled.decode(
        LIST,
        new CursorCodec('a-third-secret-of-enough-length').encode(LIST, POSITION),
      ),
    ).toBeNull();
    expect(rolled.decode('ListJobs\u0000d1abc\u0000develop', before)).toBeNull();
    expect(rolled.decode(LIST, flip(before, 0))).toBeNull();
  });

  it('use a random key per process when no secret is configured', () => {
    const a = new CursorCodec(null);
    const b = new CursorCodec(null);
    const cursor = a.encode(LIST, POSITION);
    expect(a.decode(LIST, cursor)).toEqual(POSITION);
    expect(b.decode(LIST, cursor)).toBeNull();
  });

  it('refuse a correctly signed payload of the wrong shape', () => {
    // Signed by hand with the same key and format: only such a cursor gets past the MAC, and it
    // must still never reach Amplify with nonsense.
    const sign = (payload: unknown) => {
      const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
      const mac = createHmac('sha256', 'a-shared-secret-of-enough-length')
        .update(LIST)
        .update('\u0000')
        .update(body)
        .digest()
        .subarray(0, 16)
        .toString('base64url');
      return `${body}.${mac}`;
    };
    expect(codec.decode(LIST, sign({ v: 1, t: 'x', s: 2, a: '7' }))).toEqual({
      token: 'x',
      skip: 2,
      after: '7',
    });
    for (const bad of [
      { v: 2, t: 'x', s: 2, a: '7' },
      { v: 1, t: 5, s: 2, a: '7' },
      { v: 1, t: 'x', s: -1, a: '7' },
      { v: 1, t: 'x', s: 1.5, a: '7' },
      { v: 1, t: 'x', s: 2, a: 7 },
      null,
      [1, 2],
    ]) {
      expect(codec.decode(LIST, sign(bad)), JSON.stringify(bad)).toBeNull();
    }
  });

  it('refuse a cursor longer than any the gateway makes, without parsing it', () => {
    expect(codec.decode(LIST, `${'A'.repeat(9000)}.${'A'.repeat(22)}`)).toBeNull();
  });
});
