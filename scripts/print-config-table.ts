/**
 * Rewrites the README's configuration table from the declarations in src/config.ts (between the
 * `config-table` markers). `--check` fails when the README disagrees; a test does the same.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_TABLE_MARKERS, configTable } from '../src/config.js';

const [START, END] = CONFIG_TABLE_MARKERS;

const target = fileURLToPath(new URL('../README.md', import.meta.url));
const readme = readFileSync(target, 'utf8');
const start = readme.indexOf(START);
const end = readme.indexOf(END);
if (start < 0 || end < start) {
  console.error(`README.md has no ${START} ... ${END} section.`);
  process.exit(1);
}
const updated = `${readme.slice(0, start + START.length)}\n${configTable()}\n${readme.slice(end)}`;
if (process.argv.includes('--check')) {
  if (updated !== readme) {
    console.error('README.md configuration table is stale: run `npm run docs:config`.');
    process.exitCode = 1;
  }
} else {
  writeFileSync(target, updated);
  console.log(`wrote the configuration table in ${target}`);
}
