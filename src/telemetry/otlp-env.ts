/**
 * Whether the standard OpenTelemetry environment asks for traces, decided without loading the SDK, so
 * the composition root imports src/telemetry/tracing.ts (and OpenTelemetry) only when it does.
 */

/** The OTLP/HTTP traces URL the environment names, or undefined when tracing is off. */
export function tracesUrlFromEnv(env: Record<string, string | undefined>): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((e) => e.trim().toLowerCase());
  if (!exporters.includes('otlp')) return undefined;
  const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (signal) return signal;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}
