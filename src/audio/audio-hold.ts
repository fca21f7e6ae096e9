/**
 * Caller audio held while it cannot be relayed yet (no model session, or one not ready): in order, copied
 * (the protocol layer may reuse a frame's buffer), bounded to `maxMs` with the oldest audio dropped first.
 * One mechanism for both waits (src/realtime/caller-input.ts, src/bridge/early-audio.ts).
 */
import { ulawMs } from '../util/ulaw-time.js';

export class AudioHold {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private dropped = 0;

  constructor(private readonly maxMs: number) {}

  get heldMs(): number {
    return ulawMs(this.bytes);
  }

  /** Audio dropped to the bound since start: a peer sending faster than real time, never a normal wait. */
  get droppedMs(): number {
    return ulawMs(this.dropped);
  }

  add(ulaw: Uint8Array): void {
    this.chunks.push(ulaw.slice());
    this.bytes += ulaw.length;
    while (ulawMs(this.bytes) > this.maxMs && this.chunks.length > 1) {
      const oldest = this.chunks.shift()!;
      this.bytes -= oldest.length;
      this.dropped += oldest.length;
    }
  }

  /** Everything held, in order; the hold is empty after. */
  take(): Uint8Array[] {
    const chunks = this.chunks;
    this.clear();
    return chunks;
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
  }
}
