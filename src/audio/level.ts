/**
 * Loudness helpers on μ-law 8 kHz mono, and generated test signals (tones, silence).
 */
import { ULAW_DECODE, ULAW_ENCODE, ULAW_SILENCE } from './codec.js';

export const ULAW_SAMPLE_RATE = 8000;
const FULL_SCALE = 32768;
/** Below this level a signal counts as silence (μ-law's smallest steps are about -78 dBFS). */
export const DEFAULT_SILENCE_DBFS = -50;

/** Root-mean-square of the decoded samples, in linear units (0…32768); 0 for empty input. */
export function ulawRms(ulaw: Uint8Array): number {
  if (ulaw.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < ulaw.length; i++) {
    const s = ULAW_DECODE[ulaw[i]!]!;
    sum += s * s;
  }
  return Math.sqrt(sum / ulaw.length);
}

/** RMS level relative to full scale, in dB; -Infinity for digital silence or empty input. */
export function ulawDbfs(ulaw: Uint8Array): number {
  const rms = ulawRms(ulaw);
  return rms === 0 ? Number.NEGATIVE_INFINITY : 20 * Math.log10(rms / FULL_SCALE);
}

export function isSilent(ulaw: Uint8Array, thresholdDbfs = DEFAULT_SILENCE_DBFS): boolean {
  return ulawDbfs(ulaw) < thresholdDbfs;
}

export interface ToneOptions {
  /** Peak amplitude as a fraction of full scale, 0…1 (default 0.5, about -9 dBFS RMS for a sine). */
  amplitude?: number;
  /** Phase offset in samples, to continue a tone across chunks. */
  startSample?: number;
}

/** A sine tone of `ms` milliseconds at `hz`, as μ-law 8 kHz mono. */
export function ulawTone(ms: number, hz: number, options: ToneOptions = {}): Uint8Array {
  const amplitude = options.amplitude ?? 0.5;
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`tone duration must be ≥ 0 ms, got ${ms}`);
  if (!(hz > 0) || hz >= ULAW_SAMPLE_RATE / 2) throw new RangeError(`tone frequency must be in (0, 4000) Hz, got ${hz}`);
  if (!(amplitude >= 0 && amplitude <= 1)) throw new RangeError(`amplitude must be in [0, 1], got ${amplitude}`);
  const n = Math.round((ms * ULAW_SAMPLE_RATE) / 1000);
  const start = options.startSample ?? 0;
  const peak = amplitude * 32767;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const sample = Math.round(peak * Math.sin((2 * Math.PI * hz * (start + i)) / ULAW_SAMPLE_RATE));
    out[i] = ULAW_ENCODE[sample + 32768]!;
  }
  return out;
}

/** `ms` milliseconds of μ-law silence (0xFF). */
export function ulawSilence(ms: number): Uint8Array {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`silence duration must be ≥ 0 ms, got ${ms}`);
  return new Uint8Array(Math.round((ms * ULAW_SAMPLE_RATE) / 1000)).fill(ULAW_SILENCE);
}

/** Duration in ms of μ-law 8 kHz mono bytes. */
export function ulawDurationMs(ulaw: Uint8Array): number {
  return (ulaw.length * 1000) / ULAW_SAMPLE_RATE;
}
