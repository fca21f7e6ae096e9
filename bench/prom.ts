/** Reads the bridge's own view of itself from its /metrics (prom-client default metrics). */

/**
 * src/server/metrics.ts samples the loop every 10 ms (eventLoopMonitoringPrecision) and prom-client reports the
 * recorded intervals, which include that sampling period: the lag is the excess over it.
 */
export const BRIDGE_LAG_RESOLUTION_MS = 10;

/** The value of an unlabelled sample `name` in Prometheus text exposition, or null. */
export function promValue(text: string, name: string): number | null {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
  if (!match) return null;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : null;
}

export interface BridgeSelfReport {
  heapUsedMiB: number | null;
  externalMiB: number | null;
  /** The bridge's event-loop lag p99 (ms) beyond the sampling period, since the previous scrape (averaged over workers). */
  loopLagP99Ms: number | null;
  /** Per worker (WORKERS > 1): event-loop delay p99 (ms) since the previous scrape, by worker slot. */
  workerLoopLagP99Ms: number[];
}

/** `audiohook_worker_event_loop_delay_p99_seconds{worker="n"}` samples, in ms, ordered by worker slot. */
export function workerLagsFromMetrics(text: string): number[] {
  const out: Array<[number, number]> = [];
  for (const m of text.matchAll(/^audiohook_worker_event_loop_delay_p99_seconds\{worker="(\d+)"\} (\S+)$/gm)) {
    out.push([Number(m[1]), Math.round(Number(m[2]) * 1000 * 10) / 10]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

export function selfReportFromMetrics(text: string): BridgeSelfReport {
  const mib = (v: number | null) => (v === null ? null : Math.round((v / 2 ** 20) * 10) / 10);
  const lag = promValue(text, 'nodejs_eventloop_lag_p99_seconds');
  return {
    heapUsedMiB: mib(promValue(text, 'nodejs_heap_size_used_bytes')),
    externalMiB: mib(promValue(text, 'nodejs_external_memory_bytes')),
    loopLagP99Ms: lag === null ? null : Math.round(Math.max(0, lag * 1000 - BRIDGE_LAG_RESOLUTION_MS) * 10) / 10,
    workerLoopLagP99Ms: workerLagsFromMetrics(text),
  };
}

export async function fetchSelfReport(port: number): Promise<BridgeSelfReport | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? selfReportFromMetrics(await res.text()) : null;
  } catch {
    return null;
  }
}
