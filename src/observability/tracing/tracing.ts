import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { EnvConfig } from '../../config/env.js';
import type { JournalSink } from '../../engine/journal/journal.js';
import type { AttemptTraceSource } from '../../engine/trace-context.js';
import { createSpanSink } from './span-sink.js';
import { ExecutionIdGenerator, traceIdOfExecution } from './trace-ids.js';

type TracingConfig = Pick<
  EnvConfig,
  | 'OTEL_EXPORTER_OTLP_ENDPOINT'
  | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
  | 'OTEL_SERVICE_NAME'
  | 'OTEL_TRACES_SAMPLER'
  | 'OTEL_TRACES_SAMPLER_ARG'
  | 'OTEL_BSP_MAX_QUEUE_SIZE'
  | 'OTEL_BSP_SCHEDULE_DELAY'
>;

/** Tracing, when it is on: the journal sink that makes spans, the attempts' traceparent source, and the flush at shutdown. */
export interface Tracing {
  readonly sink: JournalSink;
  readonly traceSource: AttemptTraceSource;
  /** The OTLP/HTTP URL spans are sent to. */
  readonly url: string;
  /** Exports what is queued and stops (service close). */
  shutdown(): Promise<void>;
}

/** Where spans go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces; undefined: tracing off. */
export function tracesUrl(config: TracingConfig): string | undefined {
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT === undefined) return undefined;
  return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
}

/** The sampler OTEL_TRACES_SAMPLER (+ _ARG, a ratio, default 1) names. */
export function samplerOf(config: TracingConfig): Sampler {
  const ratio = config.OTEL_TRACES_SAMPLER_ARG ?? 1;
  switch (config.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * OpenTelemetry tracing with the official SDK and its OTLP/HTTP (JSON) exporter, or undefined when
 * no endpoint is configured: then nothing is installed and executions pay nothing for it. Spans
 * are batched (a bounded queue, OTEL_BSP_MAX_QUEUE_SIZE; beyond it spans are dropped, never
 * blocking an execution). The provider is not registered globally: flowd passes its contexts itself.
 */
export function createTracing(config: TracingConfig, options: { version: string; mask: (text: string) => string }): Tracing | undefined {
  const url = tracesUrl(config);
  if (url === undefined) return undefined;
  const exporter = new OTLPTraceExporter({ url });
  const ids = new ExecutionIdGenerator();
  const provider = new BasicTracerProvider({
    idGenerator: ids,
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME, [ATTR_SERVICE_VERSION]: options.version }),
    sampler: samplerOf(config),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: config.OTEL_BSP_MAX_QUEUE_SIZE,
        maxExportBatchSize: Math.min(512, config.OTEL_BSP_MAX_QUEUE_SIZE),
        scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY,
      }),
    ],
  });
  const spans = createSpanSink(provider.getTracer('flowd', options.version), options.mask, (executionId) => ids.useNext(traceIdOfExecution(executionId)));
  return { sink: spans, traceSource: spans, url, shutdown: () => provider.shutdown() };
}
