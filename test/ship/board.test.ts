/**
 * The demo's live board in a real browser (Debian's Chromium driven by playwright-core): it lists
 * each app's branches with their latest job, follows the unfinished ones through `jobUpdated`
 * (graphql-sse in the page), changes as a job finishes, and links a failed step's log.
 */
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOARD_PATH, createBoard } from '../../src/http/board.js';
import { fileExists, type Running, start, toolAvailable, waitFor } from './tools.js';

const root = join(import.meta.dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const runTests = toolAvailable('chromium', () => fileExists(CHROMIUM));
const artifacts = join(root, 'test-artifacts');
const FINAL = ['SUCCEED', 'FAILED', 'CANCELLED'];

interface Demo {
  process: Running;
  boardUrl: string;
  amplifyUrl: string;
}

async function startDemo(): Promise<Demo> {
  // The clock stands still until the test moves it; polling is quick so the test is short.
  const proc = start('npm', ['run', '--silent', 'demo'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'warn',
      DEMO_SPEED: '0',
      LIVE_POLL_INTERVAL_MS: '500',
    },
  });
  const printed = await waitFor(
    'the demo to print its URLs',
    async () => {
      const text = proc.output();
      const boardUrl = /Live board:\s+(http:\/\/127\.0\.0\.1:\d+\/board)/.exec(text)?.[1];
      const amplifyUrl = /Local Amplify:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
      if (proc.child.exitCode !== null) throw new Error(`demo exited:\n${text}`);
      return boardUrl !== undefined && amplifyUrl !== undefined
        ? { boardUrl, amplifyUrl }
        : undefined;
    },
    { timeoutMs: 45_000, intervalMs: 200 },
  ).catch(async (error: unknown) => {
    await proc.stop();
    throw new Error(`${String(error)}\ndemo output:\n${proc.output()}`);
  });
  return { process: proc, ...printed };
}

describe.skipIf(!runTests)('the live board in a real browser', () => {
  let browser: Browser;
  let demo: Demo | null = null;

  beforeAll(async () => {
    if (!fileExists(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing; in CI, .ci/run installs it (apt-get install chromium)`,
      );
    }
    mkdirSync(artifacts, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.process.stop();
  }, 60_000);

  it('shows each branch with its latest job, and the change when a running job finishes', async () => {
    demo = await startDemo();
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
  }, 120_000);
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
