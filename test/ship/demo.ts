/**
 * `npm run demo` as a user starts it, and the browser that looks at it (Debian's Chromium driven by
 * playwright-core): what the browser tests share. The demo runs on a free port chosen by the OS;
 * its printed URLs and first curl example are read from its output.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { fileExists, type Running, start, toolAvailable, waitFor } from './tools.js';

export const root = join(import.meta.dirname, '..', '..');
/** Where the browser tests leave their screenshots. */
export const artifacts = join(root, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';

/** Whether the browser tests run here (Chromium present; under CI it must be). */
export const browserTestsRun = toolAvailable('chromium', () => fileExists(CHROMIUM));

export interface Demo {
  process: Running;
  /** GraphiQL / GraphQL endpoint. */
  graphqlUrl: string;
  /** The live board. */
  boardUrl: string;
  /** The embedded local Amplify (its /_local/ control API). */
  amplifyUrl: string;
  /** The body of the first curl example printed: apps -> branches -> jobs, no id. */
  example: { query: string; variables?: Record<string, string> };
}

/** Starts `npm run demo` with `env` on top of this process's, and waits for what it prints. */
export async function startDemo(env: Record<string, string> = {}): Promise<Demo> {
  const proc = start('npm', ['run', '--silent', 'demo'], {
    cwd: root,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
  });
  const printed = await waitFor(
    'the demo to print its URLs and example',
    async () => {
      const text = proc.output();
      if (proc.child.exitCode !== null) throw new Error(`demo exited:\n${text}`);
      const graphqlUrl = /GraphiQL:\s+(http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(text)?.[1];
      const boardUrl = /Live board:\s+(http:\/\/127\.0\.0\.1:\d+\/board)/.exec(text)?.[1];
      const amplifyUrl = /Local Amplify:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
      const body = /-d '(\{.*\})'/.exec(text)?.[1];
      return graphqlUrl && boardUrl && amplifyUrl && body
        ? { graphqlUrl, boardUrl, amplifyUrl, body }
        : undefined;
    },
    { timeoutMs: 45_000, intervalMs: 200 },
  ).catch(async (error: unknown) => {
    await proc.stop();
    throw new Error(`${String(error)}\ndemo output:\n${proc.output()}`);
  });
  const { body, ...urls } = printed;
  return { process: proc, ...urls, example: JSON.parse(body) as Demo['example'] };
}

/** A headless Chromium for one test file; throws when it is missing (call only when it runs). */
export async function launchBrowser(): Promise<Browser> {
  if (!fileExists(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing; in CI, .ci/run installs it (apt-get install chromium)`,
    );
  }
  mkdirSync(artifacts, { recursive: true });
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
