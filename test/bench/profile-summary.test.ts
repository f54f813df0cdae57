/**
 * The bench's profile summary traces frames of a bundle back through its source map: a sample in
 * a bundled dependency counts for that package, one in our code for "gateway (src/)". Built here
 * with esbuild (the bundler scripts/bundle.ts uses) from two tiny modules, so the test does not
 * depend on `npm run build`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuProfile, summarize } from '../../bench/profile-summary.js';

describe('bench/profile-summary: frames of the bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'profile-summary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('charges bundled code to its package and ours to gateway (src/), through the source map', async () => {
    mkdirSync(join(dir, 'node_modules', 'fake-graphql'), { recursive: true });
    writeFileSync(
      join(dir, 'node_modules', 'fake-graphql', 'index.js'),
      'export function executeFake(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }\n',
    );
    mkdirSync(join(dir, 'src'));
    writeFileSync(
      join(dir, 'src', 'app.ts'),
      "import { executeFake } from 'fake-graphql';\nexport function handleFake(n: number): number {\n  return executeFake(n) + 1;\n}\n",
    );
    const outfile = join(dir, 'dist', 'server', 'main.js');
    await build({
      entryPoints: [join(dir, 'src', 'app.ts')],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      sourcemap: true,
      logLevel: 'silent',
    });
    const bundle = readFileSync(outfile, 'utf8');
    const url = pathToFileURL(outfile).href;
    /** The profile's 0-based position of a function's declaration in the bundle. */
    const at = (name: string) => {
      const offset = bundle.indexOf(`function ${name}`);
      expect(offset).toBeGreaterThan(-1);
      const before = bundle.slice(0, offset).split('\n');
      return { lineNumber: before.length - 1, columnNumber: before.at(-1)!.length };
    };
    const profile: CpuProfile = {
      nodes: [
        {
          id: 1,
          callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 },
          children: [2],
        },
        {
          id: 2,
          callFrame: { functionName: 'handleFake', url, ...at('handleFake') },
          children: [3],
        },
        { id: 3, callFrame: { functionName: 'executeFake', url, ...at('executeFake') } },
      ],
      startTime: 0,
      // Three samples in the dependency, one in our code.
      samples: [3, 3, 3, 2],
      timeDeltas: [100, 100, 100, 100],
    };
    const summary = summarize(profile);
    expect(summary.byPackage).toEqual([
      { name: 'fake-graphql', selfMs: 0.3, pct: 75 },
      { name: 'gateway (src/)', selfMs: 0.1, pct: 25 },
    ]);
    expect(summary.bySelf.map((entry) => entry.name)).toEqual([
      'executeFake fake-graphql/index.js:1',
      'handleFake src/app.ts:2',
    ]);
  });
});
