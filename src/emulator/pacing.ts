/** Reply streaming speed: `realtime` paces audio deltas at 1×, a number at that multiple, `instant` not at all. */
import { z } from 'zod';

export const speedSchema = z.union([z.literal('realtime'), z.literal('instant'), z.number().positive()]);
export type Speed = z.infer<typeof speedSchema>;

/** Wall-clock gap between two audio deltas carrying `chunkMs` of audio each. */
export function deltaIntervalMs(speed: Speed, chunkMs: number): number {
  if (speed === 'instant') return 0;
  const factor = speed === 'realtime' ? 1 : speed;
  return chunkMs / factor;
}

/** Parses a CLI/env speed: "realtime", "instant", or a multiplier such as "4" or "4x". */
export function parseSpeed(text: string): Speed {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'realtime' || trimmed === 'instant') return trimmed;
  const n = Number(trimmed.replace(/x$/, ''));
  return speedSchema.parse(n);
}
