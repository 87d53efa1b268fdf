/**
 * @module OpenTelemetry set-up of a runtime: a tracer provider exporting spans over OTLP/HTTP
 * (JSON) in batches, registered globally with an AsyncLocalStorage context manager, or nothing
 * at all when `tracing` is not configured (the default).
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import type { Logger } from 'pino';
import { createEventTracing, disabledTracing, type EventTracing } from '../telemetry/event-tracing.js';
import type { ResolvedConfig } from './config.js';

export interface RuntimeTracing {
  readonly tracing: EventTracing;
  /** Exports what is buffered now. */
  flush(): Promise<void>;
  /** Exports what is buffered and unregisters the provider. */
  close(): Promise<void>;
}

const VERSION = '0.1.0';

export function startTracing(config: ResolvedConfig['tracing'], logger: Logger): RuntimeTracing {
  if (config === undefined) return { tracing: disabledTracing, flush: async () => {}, close: async () => {} };
  const exporter = new OTLPTraceExporter({ url: config.endpoint, headers: { ...config.headers } });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': VERSION }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000, maxQueueSize: 8_192 })],
  });
  // Registers the W3C propagator and an AsyncLocalStorage context manager as well.
  provider.register();
  logger.info(
    { endpoint: config.endpoint, sampleRatio: config.sampleRatio },
    'tracing: exporting spans over OTLP/HTTP',
  );
  return {
    tracing: createEventTracing(),
    flush: () => provider.forceFlush(),
    async close() {
      try {
        await provider.shutdown();
      } catch (err) {
        logger.warn({ err }, 'tracing: the last spans could not be exported');
      }
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
