/** Caller audio for the simulator, as μ-law 8 kHz mono; the streamer converts it to the negotiated layout. */
import { ULAW_SILENCE } from '../audio/codec.js';

export interface AudioSource {
  /** The next `samples` samples (fewer at the end), or null when exhausted. */
  read(samples: number): Uint8Array | null;
}

/** Plays a μ-law buffer once; then ends, or continues with silence as a live caller line would. */
export function ulawSource(ulaw: Uint8Array, options: { thenSilence?: boolean } = {}): AudioSource {
  let offset = 0;
  return {
    read(samples) {
      if (offset >= ulaw.length) return options.thenSilence ? new Uint8Array(samples).fill(ULAW_SILENCE) : null;
      const chunk = ulaw.subarray(offset, Math.min(ulaw.length, offset + samples));
      offset += chunk.length;
      return chunk;
    },
  };
}

/** Endless (or `totalMs` long) μ-law silence. */
export function silenceSource(totalMs = Infinity): AudioSource {
  let remaining = totalMs * 8;
  return {
    read(samples) {
      if (remaining <= 0) return null;
      const n = Math.min(samples, remaining);
      remaining -= n;
      return new Uint8Array(n).fill(ULAW_SILENCE);
    },
  };
}
