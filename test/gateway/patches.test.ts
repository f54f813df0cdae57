/**
 * The patches in patches/ (applied by patch-package on `npm ci`) are in node_modules: every line a
 * patch adds is in the file it names. A dependency reinstalled without the postinstall, or bumped
 * past a patch, fails here as well as in `npm ci`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const patchFiles = readdirSync(new URL('patches/', root)).filter((name) => name.endsWith('.patch'));

/** Files a unified diff changes, each with the lines it adds (without the leading `+`). */
function addedLines(diff: string): Map<string, string[]> {
  const files = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of diff.split('\n')) {
    const target = /^\+\+\+ b\/(.+)$/.exec(line);
    if (target) {
      current = [];
      files.set(target[1] as string, current);
    } else if (current !== null && line.startsWith('+') && line.trim() !== '+') {
      current.push(line.slice(1));
    }
  }
  return files;
}

describe('dependency patches', () => {
  it('has at least one patch to check', () => {
    expect(patchFiles.length).toBeGreaterThan(0);
  });

  for (const name of patchFiles) {
    it(`${name} is applied`, () => {
      const files = addedLines(readFileSync(new URL(`patches/${name}`, root), 'utf8'));
      expect(files.size).toBeGreaterThan(0);
      for (const [file, lines] of files) {
        const text = readFileSync(new URL(file, root), 'utf8');
        const missing = lines.filter((line) => !text.includes(line));
        expect(missing, `${file}: run npm ci (postinstall: patch-package)`).toEqual([]);
      }
    });
  }

  it('the federation plugin prints the subgraph SDL on the first _service query, not at build', () => {
    const plugin = readFileSync(
      new URL('node_modules/@pothos/plugin-federation/esm/schema-builder.js', root),
      'utf8',
    );
    // The unpatched plugin calls printSubgraphSchema(sorted) eagerly in toSubGraphSchema.
    expect(plugin).not.toMatch(/const sdl = printSubgraphSchema\(sorted\);/);
    expect(plugin).toContain('sdl: printSdl()');
  });
});
