/**
 * `npm run build`'s second step: bundles the compiled server (dist/main.js, from tsc) with its
 * production dependencies into dist/server/, which `npm start` and the image run.
 *
 * Why: unbundled, the server loads about 1,200 files at start, and Node's module loader (resolving,
 * reading, compiling each) is most of the start-up work and a good part of the idle memory: the
 * sources stay in the heap and the loader's own functions get optimised. Bundled, tree-shaken and
 * without whitespace, idle RSS is about 14 MB lower and the start twice as fast
 * (docs/performance.md, "Idle memory and the bundle").
 *
 * One chunk per production dependency: each dependency is also an entry point, so esbuild's code
 * splitting puts every package in its own file. A single multi-megabyte file costs more than it
 * saves: V8 parses a script's top level in one go, and the parser's peak (about 20 MB of malloc'd
 * zone memory for one 2.6 MB file) stays in the process's RSS after it is freed.
 *
 * Left out and loaded from node_modules when used: GraphiQL's page (GRAPHIQL=true) and
 * OpenTelemetry's SDK (OTEL_EXPORTER_OTLP_ENDPOINT). Source maps are written beside the chunks and
 * point at src/*.ts through tsc's maps; `NODE_OPTIONS=--enable-source-maps` turns them on for
 * stack traces.
 */
import { readFileSync, rmSync } from 'node:fs';
import { build, type Plugin } from 'esbuild';

const root = new URL('../', import.meta.url);
const outdir = new URL('dist/server/', root).pathname;

/**
 * Loaded only when their feature is on, from node_modules (the image keeps it). The OpenTelemetry
 * API is bundled: dependencies import it at start, and its copies share one global registry.
 */
export const UNBUNDLED = [
  '@graphql-yoga/render-graphiql',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/core',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace-base',
];

const dependencies = Object.keys(
  (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as Record<string, unknown>)
    .dependencies as Record<string, string>,
).filter((name) => !UNBUNDLED.includes(name));

/** `vendor:<package>` entry points: a module that re-exports the package, nothing else. */
const vendorEntries: Plugin = {
  name: 'vendor-entries',
  setup(builder) {
    builder.onResolve({ filter: /^vendor:/ }, (args) => ({
      path: args.path.slice('vendor:'.length),
      namespace: 'vendor',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => ({
      contents: `export * from ${JSON.stringify(args.path)};`,
      resolveDir: new URL('.', root).pathname,
      loader: 'js',
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [
    { in: new URL('dist/main.js', root).pathname, out: 'main' },
    ...dependencies.map((name) => ({ in: `vendor:${name}`, out: `vendor/${name}` })),
  ],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // ES module builds first (esbuild's default for Node is CommonJS first): calls across the
  // CommonJS interop (graphql's CommonJS build, the AWS SDK's) cost about 10% of a request that
  // runs the pipeline; the AWS SDK's own advice for bundles is the same.
  mainFields: ['module', 'main'],
  target: 'node20',
  // Whitespace only: renaming and syntax rewrites cost about 10% of the same requests (measured
  // against Mercurius in one run, docs/performance.md) for 2 MB less idle RSS, and keep function
  // names readable in stack traces.
  minifyWhitespace: true,
  sourcemap: 'linked',
  // Positions only: the sources themselves would triple the maps' size (the image's layer budget).
  sourcesContent: false,
  external: UNBUNDLED,
  plugins: [vendorEntries],
  // CommonJS dependencies `require` Node's built-ins; an ES module has no `require` of its own.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
