/**
 * Traces over OTLP/HTTP (JSON) when the standard OpenTelemetry environment asks for them:
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or OTEL_EXPORTER_OTLP_ENDPOINT (+ `/v1/traces`).
 * Unset — or OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none — means no tracer at all: nothing is
 * loaded, no listener is registered, a call pays nothing. The exporter reads its other standard
 * variables itself (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION …), the resource takes
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, the batch processor OTEL_BSP_*.
 * The tracer provider is private to this process's calls: nothing is registered globally.
 */
import type { Logger } from 'pino';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { CallTracer } from './call-tracer.js';
import { tracesUrlFromEnv } from './otlp-env.js';

export { tracesUrlFromEnv } from './otlp-env.js';

export const TRACER_NAME = 'audiohook-realtime';

/** At shutdown, the last spans get this long to reach the collector; a dead collector never holds up the exit. */
export const TRACES_SHUTDOWN_MS = 5000;

export interface Tracing {
  /** Register with the bridge (BridgeDeps.events) to trace every call. */
  calls: CallTracer;
  url: string;
  /** Exports what is buffered (tests, before a planned stop). */
  flush(): Promise<void>;
  /** Exports what is left (at most TRACES_SHUTDOWN_MS) and stops; after the server has closed. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  env?: Record<string, string | undefined>;
  logger: Logger;
  /** Instead of the OTLP exporter (tests of the span tree without a receiver). */
  exporter?: SpanExporter;
}

/** Starts tracing if the environment asks for it; undefined (and free) otherwise. */
export function createTracing(options: TracingOptions): Tracing | undefined {
  const env = options.env ?? process.env;
  const url = tracesUrlFromEnv(env);
  if (url === undefined) return undefined;
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (protocol !== undefined && protocol !== '' && protocol !== 'http/json') {
    // Only the OTLP/HTTP JSON exporter ships with us; collectors accept it on the same port (4318).
    options.logger.warn({ protocol }, 'OTLP protocol not supported here; exporting traces as http/json');
  }
  const exporter = options.exporter ?? new OTLPTraceExporter({ url });
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: TRACER_NAME }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new TracerProvider({ resource, spanProcessors: [new BatchSpanProcessor({ exporter })] });
  const calls = new CallTracer(provider.getTracer(TRACER_NAME));
  // The URL is logged without its query (a collector token may ride there); headers are never logged.
  options.logger.info({ tracesEndpoint: url.replace(/\?.*$/, '') }, 'exporting call traces over OTLP/HTTP');
  return {
    calls,
    url,
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeUp = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          options.logger.warn({ ms: TRACES_SHUTDOWN_MS }, 'traces not flushed in time at shutdown; the rest are dropped');
          resolve();
        }, TRACES_SHUTDOWN_MS);
        timer.unref();
      });
      await Promise.race([provider.shutdown().catch((err: unknown) => options.logger.warn({ err }, 'trace export failed at shutdown')), timeUp]);
      clearTimeout(timer);
    },
  };
}
