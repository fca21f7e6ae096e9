/** Summary statistics for the benchmark: nearest-rank percentiles and a least-squares slope. */

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of sorted values (`q` in 0..1). */
export function percentileOfSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** p50/p90/p99/max, rounded to 3 decimals (values are ms); null when there are no samples. */
export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    count: list.length,
    p50: round(percentileOfSorted(list, 0.5)),
    p90: round(percentileOfSorted(list, 0.9)),
    p99: round(percentileOfSorted(list, 0.99)),
    max: round(list[list.length - 1]!),
  };
}

/** Least-squares slope dy/dx; null with fewer than two distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number | null {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  return sxx === 0 ? null : sxy / sxx;
}
