import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '../../src/local-amplify');

/** Every module specifier in `import ... from`, `export ... from` and bare `import '...'`. */
function specifiersOf(source: string): string[] {
  const out: string[] = [];
  const clauses =
    /^\s*(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(clauses)) out.push((match[1] ?? match[2])!);
  return out;
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.ts'))) {
    const local = specifiersOf(readFileSync(join(DIR, file), 'utf8'))
      .filter((s) => s.startsWith('./'))
      .map((s) => s.slice(2).replace(/\.js$/, '.ts'));
    graph.set(file, local);
  }
  return graph;
}

/** The first import circle found (as a path that ends where it starts), or undefined. */
function findCircle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const circle = visit(next);
      if (circle !== undefined) return circle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const circle = visit(node);
    if (circle !== undefined) return circle;
  }
  return undefined;
}

describe('the emulator source layout', () => {
  it('has no import circle among its modules, type-only imports included', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(20);
    expect(graph.get('wire.ts')).toContain('catalog.ts');
    expect(findCircle(graph)).toBeUndefined();
  });

  it('finds a circle when there is one, so the check above can fail', () => {
    const graph = new Map([
      ['catalog.ts', ['model.ts']],
      ['model.ts', ['wire.ts']],
      ['wire.ts', ['catalog.ts']],
    ]);
    expect(findCircle(graph)).toEqual(['catalog.ts', 'model.ts', 'wire.ts', 'catalog.ts']);
  });

  it('imports only node: builtins and its own modules, never the gateway', () => {
    const outside: string[] = [];
    for (const file of readdirSync(DIR).filter((f) => f.endsWith('.ts'))) {
      for (const specifier of specifiersOf(readFileSync(join(DIR, file), 'utf8'))) {
        const ownModule = /^\.\/[a-z0-9-]+\.js$/.test(specifier);
        if (!ownModule && !specifier.startsWith('node:')) outside.push(`${file}: ${specifier}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
