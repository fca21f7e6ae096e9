/** The value of one sample line in Prometheus text, e.g. `audiohook_sessions_total{reason="completed"}`. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
