/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`): where the samples landed, by package (self
 * time) and by function (self and inclusive time). Used for docs/performance.md; run it as
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`.
 *
 * Frames in the bundle (dist/server/*.js, which holds most dependencies) are traced back through
 * its source maps (Node's own `SourceMap`), so a sample in bundled graphql-js counts for `graphql`
 * and one in our code for "gateway (src/)"; a frame without a map stays "gateway (dist/)".
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the monotonic clock (the one process.hrtime reads, in every process). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Sample times between `fromUs` and `toUs` (monotonic µs, as `process.hrtime.bigint() / 1000n`). */
export interface SampleWindow {
  fromUs: number;
  toUs: number;
}

/** `node_modules/@scope/name/...` -> `@scope/name`; node internals, our code and V8 pseudo-frames by kind. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node (internals)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (match !== null) return match[1]!;
  if (url.includes('/src/')) return 'gateway (src/)';
  if (url.includes('/dist/')) return 'gateway (dist/)';
  return url;
}

type CallFrame = ProfileNode['callFrame'];

/** Source maps of the profiled files, by URL; `null`: the file has none. */
const sourceMaps = new Map<string, SourceMap | null>();

function sourceMapOf(url: string): SourceMap | null {
  let map = sourceMaps.get(url);
  if (map === undefined) {
    map = null;
    if (url.startsWith('file://') && url.includes('/dist/')) {
      const file = `${fileURLToPath(url)}.map`;
      if (existsSync(file)) map = new SourceMap(JSON.parse(readFileSync(file, 'utf8')));
    }
    sourceMaps.set(url, map);
  }
  return map;
}

/**
 * Where a frame's code was written: through the bundle's source map when it has one (both
 * positions 0-based, as the profile and `SourceMap` count them), else the frame as it is.
 */
export function originalFrame(frame: CallFrame): CallFrame {
  const map = sourceMapOf(frame.url);
  if (map === null) return frame;
  const entry = map.findEntry(frame.lineNumber, frame.columnNumber);
  if (!('originalSource' in entry)) return frame;
  return {
    functionName: frame.functionName,
    url: new URL(entry.originalSource, frame.url).href,
    lineNumber: entry.originalLine,
    columnNumber: entry.originalColumn,
  };
}

/** Frames that do work on behalf of whoever called them. */
const INTERNAL = new Set(['node (internals)', '(native)', '(program)']);

export interface ProfileSummary {
  totalMs: number;
  byPackage: { name: string; selfMs: number; pct: number }[];
  /** Like byPackage, but time in node internals and native code is charged to the nearest package up the stack. */
  byCaller: { name: string; selfMs: number; pct: number }[];
  bySelf: { name: string; selfMs: number; pct: number }[];
  byInclusive: { name: string; totalMs: number; pct: number }[];
}

export function summarize(profile: CpuProfile, top = 25, window?: SampleWindow): ProfileSummary {
  const byId = new Map(
    profile.nodes.map((n) => [n.id, { ...n, callFrame: originalFrame(n.callFrame) }]),
  );
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const label = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const where =
      url === ''
        ? ''
        : ` ${url
            .replace(/^.*node_modules\//, '')
            .replace(/^file:\/\/.*\/(dist|src)\//, '$1/')}:${lineNumber + 1}`;
    return `${functionName || '(anonymous)'}${where}`;
  };
  let total = 0;
  const packages = new Map<string, number>();
  const callers = new Map<string, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    total += us;
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    let caller = pkg;
    for (let up = parent.get(id); INTERNAL.has(caller) && up !== undefined; up = parent.get(up)) {
      const frame = byId.get(up);
      if (frame === undefined) break;
      const candidate = packageOf(frame.callFrame.url, frame.callFrame.functionName);
      if (!INTERNAL.has(candidate) && candidate !== '(root)') caller = candidate;
    }
    callers.set(caller, (callers.get(caller) ?? 0) + us);
    self.set(label(node), (self.get(label(node)) ?? 0) + us);
    // Each function counts once per sample, however deep its recursion.
    const seen = new Set<string>();
    for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
      const frame = byId.get(up);
      if (frame === undefined) break;
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const sorted = (map: Map<string, number>) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    totalMs: ms(total),
    byPackage: sorted(packages).map(([name, us]) => ({ name, selfMs: ms(us), pct: pct(us) })),
    byCaller: sorted(callers).map(([name, us]) => ({ name, selfMs: ms(us), pct: pct(us) })),
    bySelf: sorted(self).map(([name, us]) => ({ name, selfMs: ms(us), pct: pct(us) })),
    byInclusive: sorted(inclusive).map(([name, us]) => ({ name, totalMs: ms(us), pct: pct(us) })),
  };
}

export function formatSummary(summary: ProfileSummary): string {
  return [
    `profile: ${summary.totalMs} ms sampled`,
    '',
    'self time by package:',
    ...summary.byPackage.map((p) => `  ${p.pct.toFixed(1).padStart(5)}%  ${p.name}`),
    '',
    'self time by package, node internals and native code charged to the calling package:',
    ...summary.byCaller.map((p) => `  ${p.pct.toFixed(1).padStart(5)}%  ${p.name}`),
    '',
    'self time by function:',
    ...summary.bySelf.map((p) => `  ${p.pct.toFixed(1).padStart(5)}%  ${p.name}`),
    '',
    'inclusive time by function:',
    ...summary.byInclusive.map((p) => `  ${p.pct.toFixed(1).padStart(5)}%  ${p.name}`),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? '25');
  console.log(formatSummary(summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top)));
}
