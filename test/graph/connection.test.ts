/**
 * The paging rules of connections, on an in-memory list that pages like Amplify's ListJobs (newest
 * first, a token that says "after job n"), so every combination of page sizes can be walked.
 * test/graph/job-history.test.ts walks the real thing through the SDK.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  type Connection,
  checkConnectionArgs,
  loadConnection,
  type PageSpec,
} from '../../src/schema/connection.js';
import { CursorCodec } from '../../src/schema/cursors.js';
import type { Page, PageRequest } from '../../src/upstream/page-shapes.js';

const LIST = 'ListJobs\u0000d1\u0000main';
const codec = new CursorCodec('connection-test-secret-0123456789');

/** Jobs numbered 1..count, listed newest first; a token names the last job number served. */
function jobList(count: number) {
  const jobs = Array.from({ length: count }, (_, i) => count - i);
  const requests: PageRequest[] = [];
  return {
    jobs,
    requests,
    /** A new job at the head of the list (what StartJob does). */
    start() {
      jobs.unshift((jobs[0] ?? 0) + 1);
    },
    async fetch(request: PageRequest): Promise<Page<number>> {
      requests.push(request);
      const from =
        request.nextToken === null ? 0 : jobs.findIndex((j) => j < Number(request.nextToken));
      const start = from < 0 ? jobs.length : from;
      const items = jobs.slice(start, start + request.maxResults);
      const more = start + items.length < jobs.length;
      return { items, nextToken: more ? String(items[items.length - 1]) : null };
    },
  };
}

type List = ReturnType<typeof jobList>;

function source(list: List) {
  return {
    field: 'Branch.jobs' as const,
    list: LIST,
    idOf: (job: number) => String(job),
    fetch: (request: PageRequest) => list.fetch(request),
  };
}

async function page(list: List, first: number, after: string | null): Promise<Connection<number>> {
  const spec: PageSpec = checkConnectionArgs('Branch.jobs', LIST, { first, after }, codec);
  return loadConnection(source(list), spec, codec);
}

/** Walks the whole list with page sizes from `sizes` (cycled); returns what it saw. */
async function walk(list: List, sizes: number[], cursorOf: 'end' | 'edge' = 'end') {
  const seen: number[] = [];
  let after: string | null = null;
  for (let i = 0; i < 200; i++) {
    const result = await page(list, sizes[i % sizes.length]!, after);
    seen.push(...result.edges.map((e) => e.node));
    if (!result.pageInfo.hasNextPage) return seen;
    after =
      cursorOf === 'end'
        ? result.pageInfo.endCursor
        : codec.encode(LIST, result.edges[result.edges.length - 1]!.position);
  }
  throw new Error('the walk did not end');
}

describe('walking a connection page by page', () => {
  it('sees every entry once with any constant page size, one upstream call per page', async () => {
    for (const first of [1, 7, 20, 49, 50]) {
      const list = jobList(137);
      expect(await walk(list, [first]), `first ${first}`).toEqual(list.jobs);
      expect(list.requests).toHaveLength(Math.ceil(137 / first));
      // Walking with one size never re-reads a page: every call after the first uses a token.
      expect(
        list.requests.slice(1).every((r) => r.nextToken !== null && r.maxResults === first),
      ).toBe(true);
    }
  });

  it('sees every entry once when the page size changes between pages', async () => {
    for (const sizes of [
      [7, 50],
      [50, 7, 13],
      [3, 50, 50, 1, 49],
      [20, 45, 11],
    ]) {
      const list = jobList(137);
      expect(await walk(list, sizes), `sizes ${sizes.join(',')}`).toEqual(list.jobs);
    }
  });

  it("continues correctly from any edge's cursor, not only the end cursor", async () => {
    const list = jobList(60);
    const first = await page(list, 10, null);
    const middle = codec.encode(LIST, first.edges[3]!.position);
    const next = await page(list, 10, middle);
    expect(next.edges.map((e) => e.node)).toEqual(list.jobs.slice(4, 14));
  });

  it('gives fewer entries (never skips) when the cursor is inside a page and first + skip passes 50', async () => {
    const list = jobList(137);
    const start = await page(list, 30, null);
    const next = await page(list, 50, start.pageInfo.endCursor);
    expect(next.edges.map((e) => e.node)).toEqual(list.jobs.slice(30, 80));
    const inside = codec.encode(LIST, start.edges[9]!.position);
    const short = await page(list, 50, inside);
    // Re-reads the first upstream page (50 entries) from its start and skips 10: 40 remain.
    expect(short.edges.map((e) => e.node)).toEqual(list.jobs.slice(10, 50));
    expect(short.pageInfo.hasNextPage).toBe(true);
    const after = await page(list, 50, short.pageInfo.endCursor);
    expect(after.edges[0]?.node).toBe(list.jobs[50]);
  });

  it('has no repeats or gaps when jobs start while a client walks', async () => {
    const list = jobList(80);
    const before = [...list.jobs];
    const seen: number[] = [];
    let after: string | null = null;
    for (const first of [7, 7, 30, 50, 50]) {
      const result = await page(list, first, after);
      seen.push(...result.edges.map((e) => e.node));
      after = result.pageInfo.endCursor;
      list.start();
      list.start();
      if (!result.pageInfo.hasNextPage) break;
    }
    expect(seen).toEqual(before);
  });

  it('has no repeats when jobs start before a cursor that sits inside the first page', async () => {
    const list = jobList(80);
    const first = await page(list, 50, null);
    const inside = codec.encode(LIST, first.edges[4]!.position);
    list.start();
    list.start();
    list.start();
    const next = await page(list, 10, inside);
    // Found again by the id of the entry before it, not by its (now shifted) index: the page
    // goes on right after it, and is shorter by the entries that arrived ahead of it.
    const before = first.edges.map((e) => e.node);
    expect(next.edges.map((e) => e.node)).toEqual(before.slice(5, 12));
    expect(next.pageInfo.hasNextPage).toBe(true);
  });

  it('reports the page position: no previous page at the start, an end cursor only while more follow', async () => {
    const list = jobList(5);
    const all = await page(list, 5, null);
    expect(all.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
    expect(all.pageInfo.startCursor).toBe(codec.encode(LIST, all.edges[0]!.position));
    const part = await page(list, 2, null);
    expect(part.pageInfo.hasNextPage).toBe(true);
    const rest = await page(list, 50, part.pageInfo.endCursor);
    expect(rest.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(rest.edges.map((e) => e.node)).toEqual([3, 2, 1]);
  });

  it('asks the upstream for skip + first entries, capped at the list maximum', async () => {
    const list = jobList(100);
    const start = await page(list, 20, null);
    await page(list, 45, codec.encode(LIST, start.edges[9]!.position));
    expect(list.requests.map((r) => r.maxResults)).toEqual([20, 50]);
  });
});

describe('page cursors', () => {
  it('are signed only when read, each read giving the same cursor', async () => {
    const signing = new CursorCodec('connection-test-secret-0123456789');
    const encode = vi.spyOn(signing, 'encode');
    const list = jobList(30);

    const result = await loadConnection(source(list), { first: 10, position: null }, signing);

    expect(result.edges).toHaveLength(10);
    expect(encode).not.toHaveBeenCalled();
    const end = result.pageInfo.endCursor;
    expect(end).toBe(codec.encode(LIST, result.edges[9]!.position));
    expect(result.pageInfo.startCursor).toBe(codec.encode(LIST, result.edges[0]!.position));
    expect(encode).toHaveBeenCalledTimes(2);
    expect(result.pageInfo.endCursor).toBe(end);
  });
});

describe('connection arguments', () => {
  it('refuse a page size outside 1..the maximum, naming the limit', () => {
    for (const first of [0, -1, 51, 1000]) {
      expect(() => checkConnectionArgs('Branch.jobs', LIST, { first }, codec)).toThrow(
        /first must be from 1 to 50 for Branch\.jobs/,
      );
    }
    expect(() => checkConnectionArgs('Query.apps', 'ListApps', { first: 101 }, codec)).toThrow(
      /1 to 100/,
    );
    expect(checkConnectionArgs('Query.apps', 'ListApps', { first: 100 }, codec).first).toBe(100);
  });

  it('use the default page size when first is absent or null', () => {
    expect(checkConnectionArgs('Branch.jobs', LIST, {}, codec).first).toBe(20);
    expect(checkConnectionArgs('Branch.jobs', LIST, { first: null }, codec).first).toBe(20);
  });

  it('refuse a cursor of another list with BAD_USER_INPUT', () => {
    const other = codec.encode('ListJobs\u0000d1\u0000develop', {
      token: null,
      skip: 1,
      after: '9',
    });
    try {
      checkConnectionArgs('Branch.jobs', LIST, { after: other }, codec);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
  });
});
