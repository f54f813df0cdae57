/**
 * npm's postinstall: applies patches/ with patch-package (a devDependency; patches/README.md says
 * which and why). A failing patch fails the install. An install without devDependencies
 * (`npm ci --omit=dev`) has no patch-package and needs no patch: the patched code runs from the
 * bundle `npm run build` made (dist/server/), so it says so and carries on.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let cli;
try {
  cli = require.resolve('patch-package/index.js');
} catch {
  console.log('postinstall: patch-package is not installed (no devDependencies): patches/ skipped');
  process.exit(0);
}
const result = spawnSync(process.execPath, [cli], { stdio: 'inherit' });
process.exit(result.status ?? 1);
