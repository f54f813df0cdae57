/**
 * Makes sure what is measured is compiled from the sources as they are now: the gateway's dist/
 * (`npm run build`) and the bench's own servers, compiled by the same tsc with the same options
 * into node_modules/.cache/amplify-jobs-bench (gitignored, and inside the tree so their imports
 * resolve to the same node_modules). Both rebuild only when a source is newer than the output.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildServer } from '../scripts/build.js';
import { runToEnd } from './processes.js';

export const SERVERS_OUT = 'node_modules/.cache/amplify-jobs-bench';

function newestMtime(root: string, paths: readonly string[]): number {
  let newest = 0;
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else if (path.endsWith('.ts') || path.endsWith('.json')) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const path of paths) visit(join(root, path));
  return newest;
}

function mtime(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

/** Runs one build step with this Node; a failure stops the bench before anything is measured. */
async function buildStep(root: string, label: string, args: string[]): Promise<void> {
  const result = await runToEnd(process.execPath, args, { cwd: root, timeoutMs: 300_000 });
  if (result.code !== 0) {
    throw new Error(
      `${label} failed (exit ${result.code}); nothing was measured:\n${result.stdout}${result.stderr}`,
    );
  }
}

function tsc(root: string, project: string): Promise<void> {
  return buildStep(root, `tsc -p ${project}`, [
    join(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    project,
  ]);
}

const SHARED_INPUTS = ['src', 'tsconfig.json', 'package-lock.json'];

/** Rebuilds dist/ and the bench servers when stale; returns what was rebuilt. */
export async function ensureBuilt(root: string): Promise<string[]> {
  const rebuilt: string[] = [];
  // The bundle is written last, so it is the oldest output of a complete build.
  const bundle = join(root, 'dist/server/main.js');
  const inputs = [
    ...SHARED_INPUTS,
    'tsconfig.build.json',
    'scripts/build.ts',
    'scripts/bundle.ts',
    'package.json',
  ];
  if (newestMtime(root, inputs) > mtime(bundle)) {
    console.log('build: dist/ is missing or older than src/: npm run build');
    // `npm run build`'s own recipe, without npm's start-up.
    try {
      await buildServer(root);
    } catch (error) {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\nnothing was measured`,
      );
    }
    rebuilt.push('dist');
  }
  const out = join(root, SERVERS_OUT);
  const marker = join(out, '.built');
  if (
    newestMtime(root, [...SHARED_INPUTS, 'bench/servers', 'bench/tsconfig.servers.json']) >
    mtime(marker)
  ) {
    console.log(`build: compiling the bench servers into ${SERVERS_OUT}`);
    await tsc(root, 'bench/tsconfig.servers.json');
    mkdirSync(out, { recursive: true });
    // Under node_modules no package.json of ours is in scope: say these files are ES modules.
    writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(marker, `${new Date().toISOString()}\n`);
    rebuilt.push('bench servers');
  }
  return rebuilt;
}
