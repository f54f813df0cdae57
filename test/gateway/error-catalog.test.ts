/**
 * The README's error catalog is complete: every code of the gateway's catalog, and every code
 * GraphQL Yoga puts on the errors it raises itself, has a row.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { documentedErrorCodes } from '../support/error-catalog.js';

/** The `code` values Yoga's own plugins set, read from its installed source. */
function yogaErrorCodes(): Set<string> {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('graphql-yoga/package.json'));
  const codes = new Set<string>();
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.js')) {
        for (const match of readFileSync(path, 'utf8').matchAll(
          /code'?\]?\s*(?:\|\|=|:)\s*'([A-Z_]+)'/g,
        )) {
          if (match[1] !== undefined) codes.add(match[1]);
        }
      }
    }
  };
  visit(join(root, 'cjs'));
  return codes;
}

describe('the README error catalog', () => {
  const documented = documentedErrorCodes();

  it('lists every code of the gateway catalog', () => {
    expect(Object.values(ErrorCode).filter((code) => !documented.has(code))).toEqual([]);
  });

  it("lists every code GraphQL Yoga's own plugins set", () => {
    const yoga = yogaErrorCodes();
    expect([...yoga]).toEqual(expect.arrayContaining(['BAD_REQUEST', 'GRAPHQL_PARSE_FAILED']));
    // Yoga's streaming body-size limit is off (maxRequestBodySize: false); the HTTP edge checks
    // Content-Length instead and answers BAD_USER_INPUT, so clients never see this one.
    const unreachable = new Set(['REQUEST_ENTITY_TOO_LARGE']);
    expect([...yoga].filter((code) => !documented.has(code) && !unreachable.has(code))).toEqual([]);
  });
});
