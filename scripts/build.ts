/**
 * `npm run build`, written once for everything that builds the server: package.json's `build`
 * script (and so the image), the bench before it measures (bench/build.ts), and the test that
 * starts the compiled server (test/gateway/production.test.ts). Three steps: tsc into dist/, the
 * demo board's page beside its compiled module, then scripts/bundle.ts (the bundle `npm start` and
 * the image run, in dist/server/). Each step runs on the Node that runs this file.
 */
import { execFile } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository this file belongs to. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Builds dist/ and the bundle in dist/server/ from `root`'s sources. Rejects with the failing
 * step's output (a type error from tsc, a resolution error from esbuild).
 */
export async function buildServer(root: string = REPOSITORY_ROOT): Promise<void> {
  const step = async (label: string, args: string[]) => {
    try {
      await run(process.execPath, args, { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`${label} failed:\n${stdout}${stderr}`);
    }
  };
  await step('tsc -p tsconfig.build.json', [
    join(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
  copyFileSync(join(root, 'src/http/board.html'), join(root, 'dist/http/board.html'));
  await step('scripts/bundle.ts', ['--import', 'tsx', join(root, 'scripts/bundle.ts')]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildServer().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
