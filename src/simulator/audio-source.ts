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

/**
 * A live caller line: utterances queued with say() play in order, silence (0xFF) fills the gaps, and the
 * line never ends on its own (stop the streamer to hang up). For scripted calls in tests and benchmarks.
 */
export class CallerLine implements AudioSource {
  private queue: Uint8Array[] = [];
  private offset = 0;

  say(ulaw: Uint8Array): void {
    this.queue.push(ulaw);
  }

  read(samples: number): Uint8Array {
    const out = new Uint8Array(samples).fill(ULAW_SILENCE);
    let written = 0;
    while (written < samples && this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = Math.min(samples - written, head.length - this.offset);
      out.set(head.subarray(this.offset, this.offset + n), written);
      written += n;
      this.offset += n;
      if (this.offset >= head.length) {
        this.queue.shift();
        this.offset = 0;
      }
    }
    return out;
  }
}
