import {
  BadRequestException,
  ListAppsCommand,
  ListBranchesCommand,
  ListJobsCommand,
  paginateListApps,
  paginateListBranches,
  paginateListJobs,
  StartJobCommand,
} from '@aws-sdk/client-amplify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import { clientFor, rejection, startFrozen } from './helpers.js';

let la: LocalAmplify;
let client: ReturnType<typeof clientFor>;
let appId: string;

beforeAll(async () => {
  la = await startFrozen({ seed: 'pagination' });
  client = clientFor(la);
  appId = la.world.apps()[0]?.appId ?? '';
});

afterAll(async () => {
  client.destroy();
  await la.close();
});

async function walkJobs(branchName: string, pageSize: number): Promise<string[][]> {
  const pages: string[][] = [];
  for await (const page of paginateListJobs({ client, pageSize }, { appId, branchName })) {
    pages.push((page.jobSummaries ?? []).map((j) => j.jobId ?? ''));
  }
  return pages;
}

describe('ListJobs pagination', () => {
  it('walks every job of a branch exactly once, newest first, with paginateListJobs', async () => {
    const expected = la.world
      .listJobKeys({ appId, branchName: 'feature/login' })
      .map((k) => k.jobId)
      .reverse();
    const pages = await walkJobs('feature/login', 7);
    const seen = pages.flat();
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages.slice(0, -1).every((p) => p.length === 7)).toBe(true);
    expect(pages.length).toBe(Math.ceil(expected.length / 7));
  });

  it('gives the last page no nextToken and never repeats a token', async () => {
    const tokens: string[] = [];
    let nextToken: string | undefined;
    do {
      const out = await client.send(
        new ListJobsCommand({ appId, branchName: 'main', maxResults: 10, nextToken }),
      );
      nextToken = out.nextToken;
      if (nextToken !== undefined) tokens.push(nextToken);
    } while (nextToken !== undefined);
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('serves 50 jobs by default and says so with a nextToken when there are more', async () => {
    const branch = la.world
      .apps()
      .flatMap((a) => a.branches.map((b) => ({ appId: a.appId, ...b })))
      .find((b) => b.jobs > 50);
    if (branch === undefined) throw new Error('seed "pagination" has no branch with > 50 jobs');
    const out = await client.send(
      new ListJobsCommand({ appId: branch.appId, branchName: branch.branchName }),
    );
    expect(out.jobSummaries?.length).toBe(50);
    expect(out.nextToken).toEqual(expect.any(String));
  });

  it('neither repeats nor skips jobs when a job is started in the middle of a walk', async () => {
    const before = la.world.listJobKeys({ appId, branchName: 'develop' }).map((k) => k.jobId);
    const first = await client.send(
      new ListJobsCommand({ appId, branchName: 'develop', maxResults: 5 }),
    );
    await client.send(new StartJobCommand({ appId, branchName: 'develop', jobType: 'RELEASE' }));
    const seen = (first.jobSummaries ?? []).map((j) => j.jobId);
    let nextToken = first.nextToken;
    while (nextToken !== undefined) {
      const out = await client.send(
        new ListJobsCommand({ appId, branchName: 'develop', maxResults: 5, nextToken }),
      );
      seen.push(...(out.jobSummaries ?? []).map((j) => j.jobId));
      nextToken = out.nextToken;
    }
    expect(seen).toEqual([...before].reverse());
  });

  it('rejects a tampered nextToken with 400 BadRequestException', async () => {
    const out = await client.send(
      new ListJobsCommand({ appId, branchName: 'main', maxResults: 3 }),
    );
    const token = out.nextToken ?? '';
    const [payload, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ v: 1, c: 2 })).toString('base64url');
    for (const bad of [
      `${forged}.${mac}`,
      `${payload}.${mac?.slice(0, -2)}AA`,
      'garbage',
      `${payload}`,
    ]) {
      const error = await rejection(
        client.send(new ListJobsCommand({ appId, branchName: 'main', nextToken: bad })),
      );
      expect(error).toBeInstanceOf(BadRequestException);
      expect(error.message).toMatch(/^Invalid nextToken/);
    }
  });

  it('rejects a token taken from another list', async () => {
    const out = await client.send(
      new ListJobsCommand({ appId, branchName: 'main', maxResults: 3 }),
    );
    const error = await rejection(
      client.send(new ListJobsCommand({ appId, branchName: 'develop', nextToken: out.nextToken })),
    );
    expect(error).toBeInstanceOf(BadRequestException);
    const apps = await client.send(new ListAppsCommand({ maxResults: 1 }));
    const crossed = await rejection(
      client.send(new ListBranchesCommand({ appId, nextToken: apps.nextToken })),
    );
    expect(crossed).toBeInstanceOf(BadRequestException);
  });

  it('rejects a token from an emulator with another seed', async () => {
    const other = await startFrozen({ seed: 'another' });
    const otherClient = clientFor(other);
    try {
      const otherApp = other.world.apps()[0]?.appId ?? '';
      const out = await otherClient.send(
        new ListJobsCommand({ appId: otherApp, branchName: 'main', maxResults: 3 }),
      );
      const error = await rejection(
        client.send(new ListJobsCommand({ appId, branchName: 'main', nextToken: out.nextToken })),
      );
      expect(error).toBeInstanceOf(BadRequestException);
    } finally {
      otherClient.destroy();
      await other.close();
    }
  });
});

describe('ListApps and ListBranches pagination', () => {
  it('walks all apps with paginateListApps, one page per app', async () => {
    const names: string[] = [];
    let pages = 0;
    for await (const page of paginateListApps({ client, pageSize: 1 }, {})) {
      pages += 1;
      names.push(...(page.apps ?? []).map((a) => a.name ?? ''));
    }
    expect(names).toEqual(la.world.apps().map((a) => a.name));
    expect(pages).toBe(names.length);
  });

  it('accepts maxResults 100 for ListApps and 50 for ListBranches', async () => {
    const apps = await client.send(new ListAppsCommand({ maxResults: 100 }));
    expect(apps.apps?.length).toBe(la.world.apps().length);
    const branches = await client.send(new ListBranchesCommand({ appId, maxResults: 50 }));
    expect(branches.branches?.length).toBe(la.world.apps()[0]?.branches.length);
  });

  it('walks branches two at a time with paginateListBranches', async () => {
    const names: string[] = [];
    for await (const page of paginateListBranches({ client, pageSize: 2 }, { appId })) {
      expect(page.branches?.length).toBeLessThanOrEqual(2);
      names.push(...(page.branches ?? []).map((b) => b.branchName ?? ''));
    }
    expect(names).toEqual(la.world.apps()[0]?.branches.map((b) => b.branchName));
  });
});
