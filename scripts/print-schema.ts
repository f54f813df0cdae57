/** Writes schema.graphql (the subgraph SDL) from the code. `--check` fails when it is stale. */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSubgraphSdl } from '../src/schema/index.js';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
const sdl = printSubgraphSdl();

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = '';
  }
  if (current !== sdl) {
    console.error('schema.graphql is stale: run `npm run schema:print` and commit it.');
    process.exitCode = 1;
  } else {
    console.log('schema.graphql is up to date.');
  }
} else {
  writeFileSync(target, sdl);
  console.log(`wrote ${target}`);
}
