/** Small timing helpers for tools, on the injected clock. */
import type { Clock } from '../util/clock.js';

/** Resolves after `ms` (never rejects; for racing against work that may take longer). */
export function sleepFree(clock: Clock, ms: number): Promise<void> {
  return new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
}
