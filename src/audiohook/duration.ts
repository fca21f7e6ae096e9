/**
 * AudioHook stream durations: ISO-8601 `PT<decimal>S` strings (AudioHook spec: message envelope).
 * We always emit fixed-point text (never `1e-7`, a latent bug of the reference implementation).
 */

export const DURATION_PATTERN = /^PT(?:\d*\.)?\d+S$/;

/** Parses `PT12.345S` into milliseconds (rounded to the nearest microsecond / 1000). Returns null when malformed. */
export function parseDurationMs(text: string): number | null {
  if (!DURATION_PATTERN.test(text)) return null;
  const seconds = Number(text.slice(2, -1));
  if (!Number.isFinite(seconds)) return null;
  return Math.round(seconds * 1_000_000) / 1000;
}

/** The audio a `resumed` or `discarded` reports as lost: where the gap starts and how long it is (0 when malformed). */
export function streamGapMs(parameters: { start: string; discarded: string }): { startMs: number; discardedMs: number } {
  return { startMs: parseDurationMs(parameters.start) ?? 0, discardedMs: parseDurationMs(parameters.discarded) ?? 0 };
}

/** Formats milliseconds as `PT<s>.<mmm>S` with exactly three decimals. */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`duration must be a finite non-negative number, got ${ms}`);
  const totalMs = Math.round(ms);
  const s = Math.floor(totalMs / 1000);
  const frac = String(totalMs % 1000).padStart(3, '0');
  return `PT${s}.${frac}S`;
}

/** Formats a sample count at `rate` Hz as a duration (exact to the millisecond). */
export function formatSamples(samples: number, rate = 8000): string {
  return formatDurationMs((samples * 1000) / rate);
}
