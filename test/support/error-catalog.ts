/** The error codes the README documents, read from the tables of its Errors section. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function documentedErrorCodes(): Set<string> {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Errors\n');
  const end = readme.indexOf('\n## ', start + 1);
  if (start < 0 || end < 0) throw new Error('README has no Errors section');
  const codes = new Set<string>();
  for (const line of readme.slice(start, end).split('\n')) {
    const code = /^\| `([A-Z_]+)` \|/.exec(line)?.[1];
    if (code !== undefined) codes.add(code);
  }
  return codes;
}
