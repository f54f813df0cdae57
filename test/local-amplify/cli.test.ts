import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { HELP_TEXT, parseCliArgs } from '../../src/local-amplify/cli-args.js';

describe('command-line options', () => {
  it('turns flags into startLocalAmplify options', () => {
    const parsed = parseCliArgs([
      '--port',
      '4567',
      '--seed',
      '7',
      '--speed',
      '60',
      '--require-signature',
      '--credentials',
      'AKIAONE:secret:with:colons',
      '--fault',
      'GetJob:throttle:ratio=0.1',
      '--fault',
      '*:latency:ms=50,jitter=20',
      '--fault',
      'GetJob,ListJobs:reset:count=1,jobId=7',
      '--start-time',
      'now',
      '--concurrent-jobs-limit',
      '2',
    ]);
    expect(parsed).toEqual({
      ok: true,
      help: false,
      options: {
        port: 4567,
        host: '127.0.0.1',
        seed: '7',
        speed: 60,
        startTime: 'now',
        requireSignature: true,
        credentials: [{ accessKeyId: 'AKIAONE', secretAccessKey: 'secret:with:colons' }],
        faults: [
          { kind: 'throttle', operations: ['GetJob'], ratio: 0.1 },
          { kind: 'latency', latencyMs: 50, jitterMs: 20 },
          { kind: 'reset', operations: ['GetJob', 'ListJobs'], count: 1, labels: { jobId: '7' } },
        ],
        concurrentJobsLimit: 2,
      },
    });
  });

  it('reports every bad value at once', () => {
    const parsed = parseCliArgs([
      '--speed',
      'fast',
      '--fault',
      'GetJob:explode',
      '--credentials',
      'nocolon',
    ]);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toHaveLength(3);
    expect(parsed.problems.join('\n')).toMatch(/--speed must be a number/);
    expect(parsed.problems.join('\n')).toMatch(/kind must be one of/);
    expect(parsed.problems.join('\n')).toMatch(/--credentials must be/);
  });

  it('has a --help that lists the options', () => {
    expect(parseCliArgs(['--help'])).toEqual({ ok: true, help: true, options: {} });
    for (const flag of [
      '--port',
      '--seed',
      '--speed',
      '--require-signature',
      '--fault',
      '--credentials',
    ]) {
      expect(HELP_TEXT).toContain(flag);
    }
  });
});

describe('the standalone command', () => {
  it('prints the endpoint and environment, serves, and exits cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/local-amplify/cli.ts',
        '--port',
        '0',
        '--seed',
        '7',
        '--speed',
        '60',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner; got: ${output}`)), 15_000);
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('Press Ctrl+C to stop.')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => reject(new Error(`exited early: ${output}`)));
    });
    const endpoint = /export AWS_ENDPOINT_URL_AMPLIFY=(http:\/\/127\.0\.0\.1:\d+)/.exec(
      output,
    )?.[1];
    expect(endpoint).toBeDefined();
    expect(output).toContain('export AWS_REGION=us-east-1');
    expect(output).toContain('export AWS_ACCESS_KEY_ID=');
    expect(output).toMatch(
      /aws amplify get-job --app-id d[a-z0-9]{13} --branch-name main --job-id \d+/,
    );
    const health = (await (await fetch(`${endpoint}/_local/health`)).json()) as { seed: string };
    expect(health.seed).toBe('7');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});

describe('payload and status faults on the command line', () => {
  it('parses corrupt and status specs, a URL with commas and a duration with a unit', () => {
    const parsed = parseCliArgs([
      '--fault',
      'GetJob:corrupt:variant=nullStep,count=2',
      '--fault',
      '*:status:code=502,body=html,for=30s',
      '--fault',
      'GetJob:corrupt:variant=logUrl,jobId=7,url=http://10.0.0.1/log?a=1,b=2',
    ]);
    expect(parsed).toEqual(
      expect.objectContaining({
        ok: true,
        options: expect.objectContaining({
          faults: [
            { kind: 'corrupt', operations: ['GetJob'], variant: 'nullStep', count: 2 },
            { kind: 'status', statusCode: 502, body: 'html', forMs: 30_000 },
            {
              kind: 'corrupt',
              operations: ['GetJob'],
              variant: 'logUrl',
              url: 'http://10.0.0.1/log?a=1,b=2',
              labels: { jobId: '7' },
            },
          ],
        }),
      }),
    );
    expect(HELP_TEXT).toContain('corrupt status');
    expect(HELP_TEXT).toContain('stepsNotList');
  });
});
