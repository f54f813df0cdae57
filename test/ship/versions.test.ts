/**
 * One Node 24 release everywhere it is pinned: the image's base (Dockerfile) and the second CI run
 * (.ci/run), so CI tests on the Node the image ships.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

describe('the pinned Node 24 release', () => {
  it('is the same exact version in the Dockerfile and in .ci/run', () => {
    const image = /^ARG NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(read('Dockerfile'))?.[1];
    const ci = /^NODE24_VERSION=(\d+\.\d+\.\d+)$/m.exec(read('.ci/run'))?.[1];
    expect(image).toMatch(/^24\./);
    expect(ci).toBe(image);
  });

  it('is what the Dockerfile builds and runs on, in both stages', () => {
    const froms = read('Dockerfile')
      .split('\n')
      .filter((line) => line.startsWith('FROM '));
    expect(froms).toHaveLength(2);
    for (const from of froms)
      expect(from).toMatch(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim AS /);
  });
});
