/**
 * The demo in a real browser (Debian's Chromium driven by playwright-core): GraphiQL opens with a
 * runnable example query and shows the job; a page on another origin may call the API only when
 * its origin is in CORS_ORIGINS.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, browserTestsRun, type Demo, launchBrowser, startDemo } from './demo.js';

interface ExploreResult {
  data?: {
    apps?: {
      nodes: Array<{ appId: string; branches: { nodes: Array<{ jobs: { nodes: unknown[] } }> } }>;
    };
    job?: { summary: { jobArn: string; status: string } } | null;
  };
  errors?: unknown[];
}

/**
 * An element's text without any whitespace: the editors render spaces as no-break spaces and wrap
 * long lines (an ARN may be split), so compare whitespace-free text.
 */
async function textOf(locator: Locator): Promise<string> {
  return ((await locator.textContent()) ?? '').replace(/\s+/g, '');
}

/** A page on its own origin (another 127.0.0.1 port), from which scripts call the gateway. */
async function startOriginServer(): Promise<{ origin: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Another origin</title><h1>A page on another origin</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, server };
}

/** From the page, POST the example query to the gateway with fetch; report what happened. */
async function fetchFromPage(
  page: Page,
  url: string,
  example: Demo['example'],
): Promise<{ ok: true; status: number; body: ExploreResult } | { ok: false; error: string }> {
  return await page.evaluate(
    async ({ url, example }) => {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(example),
          // A hung server is a failure of its own, not a CORS rejection: AbortError, not TypeError.
          signal: AbortSignal.timeout(10_000),
        });
        return { ok: true as const, status: response.status, body: await response.json() };
      } catch (error) {
        return {
          ok: false as const,
          error: `${(error as Error).name}: ${(error as Error).message}`,
        };
      }
    },
    { url, example },
  );
}

describe.skipIf(!browserTestsRun)('the demo in a real browser', () => {
  let browser: Browser;
  const demos: Demo[] = [];
  const servers: Server[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const demo of demos) await demo.process.stop();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);

  it('opens GraphiQL with an example that walks apps, branches and jobs and shows a job', async () => {
    const demo = await startDemo({});
    demos.push(demo);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(`${r.url()} (${r.failure()?.errorText})`));
    page.on('pageerror', (e) => failed.push(`page error: ${e.message}`));
    await page.goto(demo.graphqlUrl, { waitUntil: 'domcontentloaded', timeout: 15_000 });

    const runButton = page.locator('.graphiql-execute-button');
    await runButton.waitFor({ state: 'visible', timeout: 20_000 }).catch(async (error: unknown) => {
      await page.screenshot({ path: join(artifacts, 'graphiql-not-rendered.png') });
      throw new Error(
        `GraphiQL did not render (${String(error)}).\nFailed requests and page errors:\n${failed.join('\n')}`,
      );
    });
    // The opening query asks for the demo's example job, then walks apps -> branches -> jobs
    // (below the fold: the editor renders only the lines in view; the answer below proves it).
    await expect
      .poll(async () => textOf(page.locator('.graphiql-query-editor')), {
        timeout: 10_000,
      })
      .toMatch(/job\(appId:/);

    const [response] = await Promise.all([
      page.waitForResponse(
        // The example's own request, not GraphiQL's schema introspection (also a POST).
        (r) =>
          r.url().startsWith(demo.graphqlUrl) &&
          r.request().method() === 'POST' &&
          (r.request().postData() ?? '').includes('Explore'),
        { timeout: 20_000 },
      ),
      runButton.click(),
    ]);
    expect(response.status()).toBe(200);
    const result = (await response.json()) as ExploreResult;
    const variables = (response.request().postDataJSON() as { variables?: Record<string, string> })
      .variables;
    expect(result.errors).toBeUndefined();
    const apps = result.data?.apps?.nodes ?? [];
    expect(apps.length).toBeGreaterThan(0);
    expect(apps[0]?.branches.nodes[0]?.jobs.nodes.length).toBeGreaterThan(0);
    const job = result.data?.job;
    expect(job?.summary.jobArn).toMatch(
      new RegExp(
        `^arn:aws:amplify:[a-z0-9-]+:\\d{12}:apps/${variables?.appId}/branches/.+/jobs/0*${variables?.jobId}$`,
      ),
    );

    // What the developer sees: the job in the result pane.
    const resultPane = page.locator('.graphiql-response');
    await expect
      .poll(async () => await textOf(resultPane), { timeout: 10_000 })
      .toContain(job!.summary.jobArn);
    expect(await textOf(resultPane)).toContain(`"status":"${job!.summary.status}"`);
    await page.screenshot({ path: join(artifacts, 'graphiql-job.png'), fullPage: true });
    await page.close();
  }, 90_000);

  it('lets a page on an origin listed in CORS_ORIGINS call the API, and blocks other origins', async () => {
    const allowed = await startOriginServer();
    const other = await startOriginServer();
    servers.push(allowed.server, other.server);
    const demo = await startDemo({ CORS_ORIGINS: allowed.origin });
    demos.push(demo);
    const page = await browser.newPage();

    await page.goto(`${allowed.origin}/`, { timeout: 15_000 });
    const ok = await fetchFromPage(page, demo.graphqlUrl, demo.example);
    expect(ok).toMatchObject({ ok: true, status: 200 });
    if (!ok.ok) return;
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data?.apps?.nodes.length).toBeGreaterThan(0);

    await page.goto(`${other.origin}/`, { timeout: 15_000 });
    const blocked = await fetchFromPage(page, demo.graphqlUrl, demo.example);
    expect(blocked).toEqual({ ok: false, error: expect.stringMatching(/^TypeError: /) });
    await page.close();
  }, 90_000);

  it('blocks every other origin when CORS_ORIGINS is empty, although the API answers', async () => {
    const page = await browser.newPage();
    const site = await startOriginServer();
    servers.push(site.server);
    const demo = demos[0] ?? (await startDemo({}));
    if (demos[0] === undefined) demos.push(demo);
    // The same request from outside a browser works: the failure below is the browser's CORS check.
    const direct = await fetch(demo.graphqlUrl, {
      method: 'POST',
      signal: AbortSignal.timeout(10_000),
      headers: { 'content-type': 'application/json', origin: site.origin },
      body: JSON.stringify(demo.example),
    });
    expect(direct.status).toBe(200);
    expect(direct.headers.get('access-control-allow-origin')).toBeNull();

    await page.goto(`${site.origin}/`, { timeout: 15_000 });
    const blocked = await fetchFromPage(page, demo.graphqlUrl, demo.example);
    expect(blocked).toEqual({ ok: false, error: expect.stringMatching(/^TypeError: /) });
    await page.close();
  }, 90_000);
});
