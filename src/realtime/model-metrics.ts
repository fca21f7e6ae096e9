/**
 * The metric series a model session feeds: a subset of src/server/metrics.ts `Metrics`, declared here so
 * the model session depends on nothing above it.
 */
export interface ModelSessionMetrics {
  /** Model error events, failed responses and dropped sockets, by sanitised code (errorCodeLabel). */
  modelErrors: { inc(code: string): void };
  modelConnectSeconds: { observe(seconds: number): void };
  modelReconnects: { inc(): void };
}

/** Keeps error-code labels to a short identifier; anything else becomes "other". */
export function errorCodeLabel(code: string | null | undefined): string {
  if (!code) return 'unknown';
  return /^[a-z][a-z0-9_.-]{0,63}$/i.test(code) ? code.toLowerCase() : 'other';
}
