/**
 * The gateway's source layout, as the README's Development section states it: only src/config.ts
 * reads the environment; the schema never imports the AWS SDK; the gateway never imports the
 * local Amplify (only the demo's entry point embeds it), and the local Amplify never imports the
 * gateway; and imports flow one way, from the entry points down to config and errors. Type-only
 * imports count too. Each check is also shown to fail on a made-up violation.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

/** Every .ts file under `dir`, as paths relative to src/ (`http/app.ts`). */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

/** Every module specifier: static imports and exports, bare imports, and `import('...')`. */
function specifiersOf(source: string): string[] {
  const out: string[] = [];
  const clauses =
    /^\s*(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const match of source.matchAll(clauses)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier !== undefined) out.push(specifier);
  }
  return out;
}

/** The layer of a file: its folder under src/, or the file itself at the top. */
function layerOf(file: string): string {
  const [first] = file.split('/');
  return file.includes('/') ? (first ?? file) : file.replace(/\.ts$/, '');
}

/**
 * Who may import whom: a layer imports only layers of a lower rank (and itself). Entry points on
 * top; config and errors, which every layer shares, at the bottom.
 */
const RANK: Readonly<Record<string, number>> = {
  main: 7,
  demo: 7,
  http: 6,
  schema: 5,
  live: 4,
  loaders: 3,
  observability: 3,
  upstream: 2,
  'shared-state': 1,
  config: 0,
  // The value kinds config.ts declares its variables with.
  'config-kinds': -1,
  errors: 0,
};

interface Edge {
  from: string;
  to: string;
}

/** Imports between files of src/ (relative specifiers, resolved). */
function edges(files: Record<string, string>): Edge[] {
  return Object.entries(files).flatMap(([file, source]) =>
    specifiersOf(source)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => ({
        from: file,
        to: normalize(join(dirname(file), specifier)).replace(/\.js$/, '.ts'),
      })),
  );
}

/** Imports that go up (or sideways between layers), and imports of the local Amplify. */
function layeringProblems(files: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const { from, to } of edges(files)) {
    const [a, b] = [layerOf(from), layerOf(to)];
    if (a === b) continue;
    if (b === 'local-amplify' || a === 'local-amplify') {
      if (!(a === 'demo' && b === 'local-amplify')) problems.push(`${from} -> ${to}`);
      continue;
    }
    const [rankA, rankB] = [RANK[a], RANK[b]];
    if (rankA === undefined || rankB === undefined) {
      problems.push(`${from} -> ${to}: a layer the rank table does not know`);
    } else if (rankA <= rankB) {
      problems.push(`${from} -> ${to}`);
    }
  }
  return problems;
}

const ENV_READ = /\bprocess\s*(?:\.\s*env\b|\[\s*['"]env['"]\s*\])|\{\s*env\s*\}\s*=\s*process\b/;

function envReaders(files: Record<string, string>): string[] {
  return Object.entries(files)
    .filter(([file, source]) => file !== 'config.ts' && ENV_READ.test(source))
    .map(([file]) => file);
}

function sdkInSchema(files: Record<string, string>): string[] {
  return Object.entries(files)
    .filter(([file]) => file.startsWith('schema/'))
    .flatMap(([file, source]) =>
      specifiersOf(source)
        .filter((s) => s.startsWith('@aws-sdk/') || s.startsWith('@smithy/'))
        .map((s) => `${file}: ${s}`),
    );
}

const files: Record<string, string> = Object.fromEntries(
  sourceFiles().map((file) => [file, readFileSync(join(SRC, file), 'utf8')]),
);

describe('the gateway source layout', () => {
  it('reads process.env only in src/config.ts', () => {
    expect(files['config.ts']).toMatch(ENV_READ);
    expect(envReaders(files)).toEqual([]);
  });

  it('keeps the AWS SDK out of src/schema/', () => {
    expect(Object.keys(files).filter((f) => f.startsWith('schema/')).length).toBeGreaterThan(10);
    expect(sdkInSchema(files)).toEqual([]);
  });

  it('imports flow one way: entry points, http, schema, live, loaders and observability, upstream, shared state, config and errors; the local Amplify only from the demo', () => {
    expect(edges(files).length).toBeGreaterThan(100);
    expect(layeringProblems(files)).toEqual([]);
  });

  it('finds each kind of violation when there is one, so the checks above can fail', () => {
    const made: Record<string, string> = {
      'config.ts': 'export const port = process.env.PORT;',
      'http/app.ts': "import { x } from '../schema/index.js';\nconst { env } = process;",
      'schema/job.ts':
        "import { GetJobCommand } from '@aws-sdk/client-amplify';\nimport type { App } from '../http/app.js';",
      'upstream/cache.ts': "const x = await import('../loaders/index.js');",
      'loaders/index.ts': "export { y } from '../local-amplify/index.js';",
      'local-amplify/server.ts': "import { z } from '../errors.js';",
      'demo.ts': "import { startLocalAmplify } from './local-amplify/index.js';",
    };
    expect(envReaders(made)).toEqual(['http/app.ts']);
    expect(sdkInSchema(made)).toEqual(['schema/job.ts: @aws-sdk/client-amplify']);
    expect(layeringProblems(made)).toEqual([
      'schema/job.ts -> http/app.ts',
      'upstream/cache.ts -> loaders/index.ts',
      'loaders/index.ts -> local-amplify/index.ts',
      'local-amplify/server.ts -> errors.ts',
    ]);
  });
});
