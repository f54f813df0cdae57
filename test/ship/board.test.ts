/**
 * The demo's live board in a real browser (Debian's Chromium driven by playwright-core): it lists
 * each app's branches with their latest job, follows the unfinished ones through `jobsUpdated`
 * (graphql-sse in the page), changes as a job finishes, picks up and follows a job started after
 * it loaded, links a failed step's log, and shows the apps that loaded when one app's branches
 * cannot be read.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOARD_PATH, createBoard } from '../../src/http/board.js';
import { artifacts, browserTestsRun, type Demo, launchBrowser, startDemo } from './demo.js';

const FINAL = ['SUCCEED', 'FAILED', 'CANCELLED'];
// The clock stands still until the test moves it; polling is quick so the test is short.
const DEMO_ENV = { DEMO_SPEED: '0', LIVE_POLL_INTERVAL_MS: '500' };

describe.skipIf(!browserTestsRun)('the live board in a real browser', () => {
  let browser: Browser;
  let demo: Demo | null = null;

  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.process.stop();
  }, 60_000);

  it('shows each branch with its latest job, and the change when a running job finishes', async () => {
    demo = await startDemo(DEMO_ENV);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // Nothing the page asks for is missing (a favicon included).
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(demo.boardUrl, { waitUntil: 'domcontentloaded', timeout: 15_000 });

    // Loaded: rows for the branches, and some unfinished jobs followed live.
    await expect
      .poll(async () => (await page.locator('body').getAttribute('data-loaded')) ?? '', {
        timeout: 30_000,
      })
      .not.toBe('');
    const state = (await page.locator('#state').textContent()) ?? '';
    expect(await page.locator('body').getAttribute('data-loaded'), state).toBe('true');
    expect(state).toMatch(/following [1-9]\d* unfinished jobs? live/);
    const rows = page.locator('tr[data-branch]');
    expect(await rows.count()).toBeGreaterThan(5);
    const world = (await (await fetch(`${demo.amplifyUrl}/_local/world`)).json()) as {
      apps: Array<{ appId: string; branches: unknown[] }>;
      quirkJobs: Array<{ appId: string }>;
    };
    const branches = world.apps.reduce((sum, app) => sum + app.branches.length, 0);
    expect(await rows.count()).toBe(branches);
    // The quirks app's jobs are pinned (one stays RUNNING for ever); the others move on.
    const quirkApp = world.quirkJobs[0]?.appId ?? 'none';
    const ordinary = page.locator(`tr[data-branch]:not([data-branch^="${quirkApp}/"])`);

    const running = ordinary.and(page.locator('tr[data-status="RUNNING"]'));
    expect(await running.count()).toBeGreaterThan(0);
    const watched = (await running.first().getAttribute('data-job')) ?? '';
    expect(watched).toMatch(/^d[a-z0-9]+\/.+\/\d+$/);
    await page.screenshot({ path: join(artifacts, 'board-before.png'), fullPage: true });

    // An hour passes on the local Amplify: every running job finishes, Amplify's events reach
    // the gateway, and the board changes without a reload.
    const advanced = await fetch(`${demo.amplifyUrl}/_local/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ advanceMs: 3_600_000 }),
    });
    expect(advanced.status).toBe(200);
    const row = page.locator(`tr[data-job="${watched}"]`);
    await expect
      .poll(async () => (await row.getAttribute('data-status')) ?? '', { timeout: 20_000 })
      .toMatch(new RegExp(`^(${FINAL.join('|')})$`));
    // Every ordinary branch's latest job is final now, on the page too.
    await expect
      .poll(
        async () =>
          (await ordinary.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status'))))
            .filter((status) => !['SUCCEED', 'FAILED', 'CANCELLED'].includes(status ?? ''))
            .join(','),
        { timeout: 20_000 },
      )
      .toBe('');
    await page.screenshot({ path: join(artifacts, 'board-after.png'), fullPage: true });

    // A job started after the page loaded: the board's refresh (every 10 s) shows it on its
    // branch's row and follows it live, so it changes again when it finishes.
    const target = (await ordinary.first().getAttribute('data-branch')) ?? '';
    const [appId, branchName] = [
      target.slice(0, target.indexOf('/')),
      target.slice(target.indexOf('/') + 1),
    ];
    const startedJob = await fetch(
      `${demo.amplifyUrl}/apps/${encodeURIComponent(appId)}/branches/${encodeURIComponent(branchName)}/jobs`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jobType: 'RELEASE' }),
      },
    );
    expect(startedJob.status).toBe(200);
    const { jobSummary } = (await startedJob.json()) as { jobSummary: { jobId: string } };
    const newRow = page.locator(`tr[data-job="${target}/${jobSummary.jobId}"]`);
    await expect.poll(async () => await newRow.count(), { timeout: 25_000 }).toBe(1);
    expect(FINAL).not.toContain(await newRow.getAttribute('data-status'));
    await expect
      .poll(async () => (await page.locator('#state').textContent()) ?? '', { timeout: 5_000 })
      .toMatch(/following [1-9]\d* unfinished jobs? live/);
    await fetch(`${demo.amplifyUrl}/_local/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ advanceMs: 3_600_000 }),
    });
    await expect
      .poll(async () => (await newRow.getAttribute('data-status')) ?? '', { timeout: 20_000 })
      .toMatch(new RegExp(`^(${FINAL.join('|')})$`));

    // A branch created after the page loaded gets its row at the next refresh, with no jobs yet.
    const newBranch = await fetch(`${demo.amplifyUrl}/_local/branches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appId, branchName: 'feature/after-load' }),
    });
    expect(newBranch.status).toBe(200);
    const branchRow = page.locator(`tr[data-branch="${appId}/feature/after-load"]`);
    await expect.poll(async () => await branchRow.count(), { timeout: 25_000 }).toBe(1);
    expect(await branchRow.locator('td').nth(1).textContent()).toBe('no jobs');
    expect(await rows.count()).toBe(branches + 1);

    // A failed job links its failed step's log, which the browser can open.
    const failed = page.locator('tr[data-status="FAILED"]');
    expect(await failed.count()).toBeGreaterThan(0);
    const link = failed.first().locator('a.log-link');
    await expect.poll(async () => await link.count(), { timeout: 5_000 }).toBe(1);
    const href = (await link.getAttribute('href')) ?? '';
    expect(href.startsWith(`${demo.amplifyUrl}/_files/logs/`)).toBe(true);
    const log = await fetch(href);
    expect(log.status).toBe(200);
    expect((await log.text()).length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await page.close();

    // IAM narrowed to some apps: one app's ListBranches is denied. The board shows every other
    // app's branches, and says what it could not load.
    const denied = world.apps.find((app) => app.appId !== quirkApp)!;
    const fault = await fetch(`${demo.amplifyUrl}/_local/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'accessDenied',
        operations: 'ListBranches',
        labels: { appId: denied.appId },
      }),
    });
    expect(fault.status).toBe(200);
    // Once the gateway's cache of branch pages (CACHE_LIST_TTL_MS) has let go of the page the
    // board reads (the same size: a page is cached by everything it was asked with).
    const graphqlUrl = demo.boardUrl.replace(/\/board$/, '/graphql');
    await expect
      .poll(
        async () => {
          const response = await fetch(graphqlUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              query: `{ app(appId: "${denied.appId}") { branches(first: 12) { nodes { branchName } } } }`,
            }),
          });
          const body = (await response.json()) as { errors?: Array<{ extensions?: unknown }> };
          return body.errors?.[0]?.extensions;
        },
        { timeout: 10_000 },
      )
      .toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED' });
    const partial = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    partial.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await partial.goto(demo.boardUrl, { waitUntil: 'domcontentloaded', timeout: 15_000 });
    await expect
      .poll(async () => (await partial.locator('body').getAttribute('data-loaded')) ?? '', {
        timeout: 30_000,
      })
      .toBe('true');
    expect(await partial.locator('tr[data-branch]').count()).toBe(
      // The branch created above counts too, unless it is the denied app's.
      branches + 1 - denied.branches.length - (denied.appId === appId ? 1 : 0),
    );
    expect(await partial.locator(`tr[data-branch^="${denied.appId}/"]`).count()).toBe(0);
    expect(await partial.locator('.problem').allTextContents()).toEqual([
      expect.stringContaining('Its branches could not be loaded'),
    ]);
    expect(await partial.locator('#state').textContent()).toContain('could not be loaded');
    await partial.screenshot({ path: join(artifacts, 'board-partial.png'), fullPage: true });
    expect(problems).toEqual([]);
    await partial.close();
  }, 150_000);
});

describe('the board page', () => {
  it('declares no icon and answers /favicon.ico with 204, so a browser logs no 404', async () => {
    const board = createBoard();
    const server = createServer((req, res) => {
      if (!board.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const icon = await fetch(`${base}/favicon.ico`);
      expect(icon.status).toBe(204);
      const page = await fetch(`${base}${BOARD_PATH}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<link rel="icon" href="data:,">');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
