/**
 * The call as heard, for a stereo recording: caller audio on one channel, bot audio on the other, each
 * placed on the call's real timeline so pauses, overlaps and barge-ins sound as they happened.
 *
 * - Caller audio is a continuous stream, placed when it was said: callers pass the time a frame was due,
 *   not when a stalled sender got it out (its catch-up frames would otherwise shift the caller's channel
 *   later for the rest of the call). A frame follows the previous one unless it was said more than
 *   CALLER_GAP_TOLERANCE_MS after the previous one ended (a real gap, e.g. the stream resumed).
 * - Bot audio is placed as Genesys plays it (the playout model): from its arrival, queued behind what is
 *   still playing; a `barge_in` drops what was queued but not yet played.
 *
 * Pure: callers pass the time (ms, any origin) of each piece; nothing here reads a clock.
 */
import { ULAW_DECODE } from '../audio/codec.js';
import { ulawBytes, ulawMs } from '../util/ulaw-time.js';
/** A caller frame arriving up to this long after the previous one ended still continues the stream. */
const CALLER_GAP_TOLERANCE_MS = 250;

interface Piece {
  /** First sample, counted from the origin. */
  start: number;
  ulaw: Uint8Array;
}

export class CallRecording {
  private origin: number | null = null;
  private readonly callerPieces: Piece[] = [];
  private readonly botPieces: Piece[] = [];
  private callerEnd = 0;
  private botEnd = 0;

  /**
   * @param maxSamples audio past this length is dropped (bounded memory whatever the peer sends).
   */
  constructor(private readonly maxSamples: number = ulawBytes(60 * 60 * 1000)) {}

  /** Sets the timeline's zero (e.g. when the session opened). Audio before any origin starts it. */
  start(atMs: number): void {
    if (this.origin === null) this.origin = atMs;
  }

  /** Caller audio (μ-law mono) said at `atMs` (when it was due to go out). */
  caller(atMs: number, ulaw: Uint8Array): void {
    if (ulaw.length === 0) return;
    const at = this.sampleAt(atMs);
    const start = at - this.callerEnd > ulawBytes(CALLER_GAP_TOLERANCE_MS) ? at : this.callerEnd;
    this.callerEnd = this.place(this.callerPieces, start, ulaw);
  }

  /** Bot audio (μ-law mono) that arrived at `atMs`: it plays from then, or after what is still playing. */
  bot(atMs: number, ulaw: Uint8Array): void {
    if (ulaw.length === 0) return;
    const start = Math.max(this.sampleAt(atMs), this.botEnd);
    this.botEnd = this.place(this.botPieces, start, ulaw);
  }

  /** A barge-in at `atMs`: the bot audio not yet played is dropped (what Genesys' playout buffer does). */
  flushBot(atMs: number): void {
    const at = this.sampleAt(atMs);
    if (this.botEnd <= at) return;
    while (this.botPieces.length > 0) {
      const last = this.botPieces.at(-1)!;
      if (last.start >= at) this.botPieces.pop();
      else {
        if (last.start + last.ulaw.length > at) last.ulaw = last.ulaw.subarray(0, at - last.start);
        break;
      }
    }
    this.botEnd = at;
  }

  /** Length of the recording so far (ms). */
  get durationMs(): number {
    return ulawMs(Math.max(this.callerEnd, this.botEnd));
  }

  /** The recording as interleaved 16-bit samples, channel 0 the caller and channel 1 the bot; silence between. */
  render(): Int16Array {
    const length = Math.max(this.callerEnd, this.botEnd);
    const out = new Int16Array(length * 2);
    const draw = (pieces: Piece[], channel: number) => {
      for (const piece of pieces) {
        for (let i = 0; i < piece.ulaw.length; i++) out[(piece.start + i) * 2 + channel] = ULAW_DECODE[piece.ulaw[i]!]!;
      }
    };
    draw(this.callerPieces, 0);
    draw(this.botPieces, 1);
    return out;
  }

  private sampleAt(atMs: number): number {
    if (this.origin === null) this.origin = atMs;
    return Math.max(0, Math.round(ulawBytes(atMs - this.origin)));
  }

  /** Stores a copy (frames may be views of reused buffers); returns the new end. */
  private place(pieces: Piece[], start: number, ulaw: Uint8Array): number {
    const room = this.maxSamples - start;
    if (room <= 0) return this.maxSamples;
    const kept = ulaw.subarray(0, Math.min(ulaw.length, room));
    pieces.push({ start, ulaw: Uint8Array.from(kept) });
    return start + kept.length;
  }
}
