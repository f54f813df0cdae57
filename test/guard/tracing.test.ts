/**
 * OpenTelemetry traces, exported over OTLP/HTTP to a local receiver (a node:http server reading
 * the JSON the exporter posts): one span per GraphQL operation, continuing the caller's
 * `traceparent`, and one child span per Amplify call. Without an endpoint, no OpenTelemetry code
 * is loaded at all.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createObservability } from '../../src/observability/index.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { type Gateway, type Stack, startStack } from '../support/stack.js';
import { jobsFromDistinctBranches } from '../support/world.js';

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; arrayValue?: unknown };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttribute[];
  status?: { code?: number; message?: string };
}
interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_ERROR = 2;

/** A local OTLP/HTTP collector: keeps every export it receives. */
async function startReceiver() {
  const exports: OtlpExport[] = [];
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      exports.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    spans: () =>
      exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))),
    resources: () => exports.flatMap((e) => e.resourceSpans.map((r) => r.resource)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const attribute = (span: OtlpSpan | { attributes: OtlpAttribute[] } | undefined, key: string) => {
  const value = span?.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

describe('traces over OTLP/HTTP', () => {
  let stack: Stack;
  let gateway: Gateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let job: JobKey;

  beforeAll(async () => {
    receiver = await startReceiver();
    stack = await startStack();
    gateway = await stack.gateway({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'jobs-gateway-test',
    });
    [job] = jobsFromDistinctBranches(stack.la, 1) as [JobKey];
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  const JOB_QUERY =
    'query Job($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId } }';

  async function flushed(): Promise<OtlpSpan[]> {
    await gateway.observability.tracing?.flush();
    return receiver.spans();
  }

  it("exports a span for the operation, child of the caller's traceparent, and one per Amplify call under it", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const reply = await gateway.post(
      { query: JOB_QUERY, variables: { a: job.appId, b: job.branchName, j: job.jobId } },
      { traceparent: `00-${traceId}-${callerSpan}-01` },
    );
    expect(reply.body.errors).toBeUndefined();

    const spans = (await flushed()).filter((s) => s.traceId === traceId);
    const operation = spans.find((s) => s.name === 'query Job');
    const call = spans.find((s) => s.name === 'Amplify.GetJob');
    expect(operation).toMatchObject({ kind: SPAN_KIND_SERVER, parentSpanId: callerSpan });
    expect(attribute(operation, 'graphql.operation.type')).toBe('query');
    expect(attribute(operation, 'graphql.operation.name')).toBe('Job');
    expect(call).toMatchObject({ kind: SPAN_KIND_CLIENT, parentSpanId: operation?.spanId });
    expect(attribute(call, 'rpc.system')).toBe('aws-api');
    expect(attribute(call, 'rpc.service')).toBe('Amplify');
    expect(attribute(call, 'rpc.method')).toBe('GetJob');
    expect(attribute(call, 'amplify.outcome')).toBe('success');
    expect(attribute(call, 'amplify.attempts')).toBe(1);
    expect(attribute(call, 'http.response.status_code')).toBe(200);
    expect(attribute(call, 'aws.request_id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(receiver.paths).toContain('POST /v1/traces application/json');
    expect(attribute(receiver.resources()[0], 'service.name')).toBe('jobs-gateway-test');
  });

  it('marks the operation and the call as errors when Amplify fails, with the error code', async () => {
    stack.la.faults.add({ kind: 'internal', operations: 'GetJob', count: 1 });
    const reply = await gateway.post({
      query: JOB_QUERY.replace('query Job', 'query Failing'),
      variables: { a: job.appId, b: job.branchName, j: job.jobId },
    });
    expect(reply.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');

    const spans = await flushed();
    const operation = spans.find((s) => s.name === 'query Failing');
    const call = spans.find(
      (s) => s.name === 'Amplify.GetJob' && s.parentSpanId === operation?.spanId,
    );
    expect(operation?.status).toMatchObject({
      code: STATUS_ERROR,
      message: 'UPSTREAM_UNAVAILABLE',
    });
    expect(call?.status).toMatchObject({ code: STATUS_ERROR, message: 'unavailable' });
    expect(attribute(call, 'http.response.status_code')).toBe(500);
    // Without a traceparent the operation starts a trace of its own.
    expect(operation?.parentSpanId ?? '').toBe('');
  });
});

describe('tracing off', () => {
  it('is off without an OTLP endpoint, or with OTEL_SDK_DISABLED', async () => {
    for (const env of [
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' },
    ]) {
      const loaded = loadConfig({}, { AUTH: 'none', ...env });
      if (!loaded.ok) throw new Error(loaded.problems.join('; '));
      expect(loaded.config.tracing).toBeNull();
      const observability = await createObservability(loaded.config);
      expect(observability.tracing).toBeNull();
      expect(observability.upstreamObservers).toEqual([observability.metrics.upstreamObserver]);
    }
  });

  it('loads no OpenTelemetry code unless tracing is on: only tracing.ts imports it, and only import() loads tracing.ts', () => {
    const src = join(import.meta.dirname, '..', '..', 'src');
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => ({
        path: relative(src, join(src, f)),
        text: readFileSync(join(src, f), 'utf8'),
      }));
    /** Modules a file imports as values (not `import type`), multi-line imports included. */
    const valueImports = (text: string) =>
      [...text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)]
        .filter((m) => m[1] === undefined)
        .map((m) => m[2] ?? '');

    const openTelemetry = files.filter((f) =>
      valueImports(f.text).some((m) => m.startsWith('@opentelemetry/')),
    );
    expect(openTelemetry.map((f) => f.path)).toEqual(['observability/tracing.ts']);
    const tracing = files.filter((f) =>
      valueImports(f.text).some((m) => m.endsWith('/tracing.js')),
    );
    expect(tracing.map((f) => f.path)).toEqual([]);
    expect(readFileSync(join(src, 'observability', 'index.ts'), 'utf8')).toContain(
      "await import('./tracing.js')",
    );
  });
});
