import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/local-amplify/clock.js';
import { PageTokens, pageAfter } from '../../src/local-amplify/pagination.js';
import { matchRoute } from '../../src/local-amplify/router.js';
import { canonicalQuery, canonicalUri } from '../../src/local-amplify/sigv4.js';

describe('SigV4 canonical forms (spec §4.5)', () => {
  it('re-encodes each already-encoded path segment, as the SDK signs it', () => {
    expect(canonicalUri('/apps/d1abc/branches/feature%2Fx%20y%2Bz~%C3%BC%2A/jobs/12')).toBe(
      '/apps/d1abc/branches/feature%252Fx%2520y%252Bz~%25C3%25BC%252A/jobs/12',
    );
    expect(canonicalUri('/apps/d1/branches/../x/./y/')).toBe('/apps/d1/x/y/');
    expect(canonicalUri('/apps//branches')).toBe('/apps/branches');
  });

  it('sorts and RFC 3986-encodes the query', () => {
    expect(canonicalQuery('nextToken=a%20b%2Fc%2B%3D%26&maxResults=5')).toBe(
      'maxResults=5&nextToken=a%20b%2Fc%2B%3D%26',
    );
    expect(canonicalQuery('')).toBe('');
  });
});

describe('routing', () => {
  it('splits the raw path before decoding labels', () => {
    expect(matchRoute('GET', '/apps/d1/branches/feature%2Flogin/jobs/7')).toEqual({
      kind: 'operation',
      operation: 'GetJob',
      labels: { appId: 'd1', branchName: 'feature/login', jobId: '7' },
    });
    expect(matchRoute('DELETE', '/apps/d1/branches/a%20b/jobs/7/stop')).toEqual({
      kind: 'operation',
      operation: 'StopJob',
      labels: { appId: 'd1', branchName: 'a b', jobId: '7' },
    });
    expect(matchRoute('GET', '/apps/d1/branches/%E0%A4%A/jobs')).toEqual({ kind: 'bad-encoding' });
    expect(matchRoute('PATCH', '/apps/d1/branches/main/jobs')).toEqual({
      kind: 'method-not-allowed',
      allow: ['GET', 'POST'],
    });
    expect(matchRoute('GET', '/apps/d1/domains')).toEqual({ kind: 'unknown' });
  });
});

describe('page tokens', () => {
  const tokens = new PageTokens(Buffer.from('key'));

  it('round-trips a cursor within its scope only', () => {
    const token = tokens.encode('ListJobs\u0000d1\u0000main', 17);
    expect(tokens.decode(token, 'ListJobs\u0000d1\u0000main')).toBe(17);
    expect(() => tokens.decode(token, 'ListJobs\u0000d1\u0000dev')).toThrow(/Invalid nextToken/);
    expect(() =>
      new PageTokens(Buffer.from('other')).decode(token, 'ListJobs\u0000d1\u0000main'),
    ).toThrow(/Invalid nextToken/);
  });

  it('pages descending lists after the cursor and stops with no cursor on the last page', () => {
    const items = [9, 7, 4, 3, 1];
    expect(pageAfter(items, (n) => n, undefined, 2, true)).toEqual({
      items: [9, 7],
      nextCursor: 7,
    });
    expect(pageAfter(items, (n) => n, 7, 2, true)).toEqual({ items: [4, 3], nextCursor: 3 });
    expect(pageAfter(items, (n) => n, 3, 2, true)).toEqual({ items: [1] });
    expect(pageAfter(items, (n) => n, 4, 2, true)).toEqual({ items: [3, 1] });
  });
});

describe('the virtual clock', () => {
  it('runs at its speed from a fake real clock, advances by hand and freezes at 0', () => {
    let real = 1_000;
    const clock = new VirtualClock(5_000_000, 60, () => real);
    real += 1_000;
    expect(clock.nowMs()).toBe(5_060_000);
    clock.advance(500);
    expect(clock.nowMs()).toBe(5_060_500);
    clock.setSpeed(0);
    real += 10_000;
    expect(clock.nowMs()).toBe(5_060_500);
    clock.setSpeed(1);
    real += 250;
    expect(clock.nowMs()).toBe(5_060_750);
    expect(() => clock.setSpeed(-1)).toThrow(RangeError);
  });
});
