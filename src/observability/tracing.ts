/**
 * OpenTelemetry traces, exported over OTLP/HTTP (JSON) to the collector named by
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. This module is imported only
 * when tracing is configured (see index.ts): without it no OpenTelemetry code is loaded, no
 * context manager runs and no span is made.
 *
 * Spans:
 * - one SERVER span per GraphQL operation, named `<type> <name>` (e.g. `query Job`), continuing
 *   the caller's W3C `traceparent` when one is sent (a federation router's trace), with
 *   `graphql.operation.type`, `graphql.operation.name` and, on failure, the error codes;
 * - one CLIENT span per Amplify operation the SDK sends (`Amplify.GetJob`...), child of the
 *   operation that caused it, with `rpc.*` attributes, the outcome, the SDK's attempts, the HTTP
 *   status and Amplify's request id.
 *
 * Sampling, export headers and resource attributes follow the standard OTEL_ variables, which the
 * SDK reads itself (README, configuration table).
 */
import {
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { UpstreamCallObserver } from '../upstream/observer.js';

export interface TracingConfig {
  /** OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces. */
  tracesUrl: string;
  serviceName: string;
}

export interface Tracing {
  /** Opens one CLIENT span per Amplify operation the SDK client sends. */
  readonly upstreamObserver: UpstreamCallObserver;
  /** The Yoga plugin that opens one SERVER span per GraphQL operation. */
  graphqlPlugin(): Plugin;
  /** Exports the spans still buffered. */
  flush(): Promise<void>;
  /** Exports what is buffered and stops the exporter's timer. */
  shutdown(): Promise<void>;
}

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

/** Registered once per process: what makes a span the parent of calls made while it is active. */
let contextManager: AsyncLocalStorageContextManager | null = null;

export function startTracing(config: TracingConfig, exporter?: SpanExporter): Tracing {
  if (contextManager === null) {
    contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
  }
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ 'service.name': config.serviceName }));
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor(exporter ?? new OTLPTraceExporter({ url: config.tracesUrl })),
    ],
  });
  const tracer = provider.getTracer('amplify-jobs-graphql');
  const propagator = new W3CTraceContextPropagator();

  const upstreamObserver: UpstreamCallObserver = {
    start(operation) {
      const span = tracer.startSpan(
        `Amplify.${operation}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'rpc.system': 'aws-api',
            'rpc.service': 'Amplify',
            'rpc.method': operation,
          },
        },
        context.active(),
      );
      return (result) => {
        span.setAttribute('amplify.outcome', result.outcome);
        span.setAttribute('amplify.attempts', result.attempts);
        if (result.httpStatus !== null) {
          span.setAttribute('http.response.status_code', result.httpStatus);
        }
        if (result.requestId !== null) span.setAttribute('aws.request_id', result.requestId);
        if (result.outcome !== 'success') {
          span.setStatus({ code: SpanStatusCode.ERROR, message: result.outcome });
        }
        span.end();
      };
    },
  };

  const graphqlPlugin = (): Plugin => {
    const spans = new WeakMap<Request, Span>();
    const spanOf = (ctx: unknown): Span | undefined => {
      const request = (ctx as { request?: Request } | undefined)?.request;
      return request === undefined ? undefined : spans.get(request);
    };
    return {
      instrumentation: {
        operation({ request }, wrapped) {
          const parent: Context = propagator.extract(ROOT_CONTEXT, request.headers, headerGetter);
          const span = tracer.startSpan('GraphQL operation', { kind: SpanKind.SERVER }, parent);
          spans.set(request, span);
          const end = () => span.end();
          return context.with(trace.setSpan(parent, span), () => {
            try {
              const done = wrapped();
              if (done instanceof Promise) return done.finally(end);
              end();
              return done;
            } catch (error) {
              end();
              throw error;
            }
          });
        },
      },
      onExecute({ args }) {
        const span = spanOf(args.contextValue);
        if (span === undefined) return;
        const operation = getOperationAST(args.document, args.operationName);
        if (operation === null || operation === undefined) return;
        const name = operation.name?.value;
        span.updateName(
          name === undefined ? operation.operation : `${operation.operation} ${name}`,
        );
        span.setAttribute('graphql.operation.type', operation.operation);
        if (name !== undefined) span.setAttribute('graphql.operation.name', name);
      },
      onExecutionResult({ result, context: ctx }) {
        const span = spanOf(ctx);
        if (span === undefined || result === undefined || Array.isArray(result)) return;
        if (!('errors' in result)) return;
        const errors = result.errors ?? [];
        if (errors.length === 0) return;
        const codes = [...new Set(errors.map((e) => String(e.extensions?.code ?? 'UNKNOWN')))];
        span.setAttribute('graphql.error.codes', codes);
        span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(', ') });
      },
    };
  };

  return {
    upstreamObserver,
    graphqlPlugin,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
