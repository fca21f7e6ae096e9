/**
 * The estimated playout of the audio we sent to Genesys (pure: times are passed in). Genesys starts playing
 * a frame when it arrives if idle, else right after the previous one; arrival ≈ send time (network latency
 * only makes our estimate early, i.e. we count at most that much audio as heard too soon; the
 * `playback_started` hint corrects it). A gap with no audio makes the playhead idle.
 * AudioHook has no mark echo, so "played" is derived from this timeline (the OpenAI Realtime API truncates to `audio_end_ms`).
 */
import { ulawMs, ULAW_BYTES_PER_MS } from '../util/ulaw-time.js';

/** Float tolerance when comparing computed due times with the clock. */
export const EPSILON_MS = 1e-6;

/** One model item's audio accounting (shared with the response queue). */
export interface ItemRecord {
  itemId: string;
  responseId: string;
  receivedBytes: number;
  sentBytes: number;
  /** Played bytes of frames no longer in the outstanding timeline. */
  settledPlayedBytes: number;
  interrupted: boolean;
}

export interface ItemProgress {
  /** Audio received from the model for this item. */
  receivedMs: number;
  /** Audio sent to Genesys. */
  sentMs: number;
  /** Audio estimated as played to the caller (never more than sentMs). */
  playedMs: number;
}

export interface FramePart {
  item: ItemRecord;
  bytes: number;
}

interface SentFrame {
  responseId: string;
  parts: FramePart[];
  bytes: number;
  sentAt: number;
  startAt: number;
  endAt: number;
  burst: number;
}

export class PlayoutTimeline {
  /** Sent frames not yet settled as fully played, in send order. */
  private outstanding: SentFrame[] = [];
  /** When the estimated playhead finishes everything sent; ≤ now means idle. */
  private freeAt = Number.NEGATIVE_INFINITY;
  private burst = 0;
  private startedHintBurst = -1;
  private lastSentResponseId: string | undefined;

  /** When the playhead is free (everything sent played); ≤ now means idle. */
  get playheadFreeAt(): number {
    return this.freeAt;
  }

  /** When a frame sent now would start playing. */
  startAt(now: number): number {
    return Math.max(now, this.freeAt);
  }

  /** Audio sent and not yet played (estimate), in ms. */
  leadMs(now: number): number {
    return Math.max(0, this.freeAt - now);
  }

  isIdle(now: number): boolean {
    return this.freeAt <= now + EPSILON_MS;
  }

  /**
   * Records a frame sent at `now`, playing from `startAt`. Returns true when it continues a response after
   * the playhead had run dry: an audible gap (model or timer late).
   */
  commit(responseId: string, parts: FramePart[], bytes: number, now: number, startAt: number): boolean {
    // A gap before this frame: the playhead was idle, so a new burst starts (audible gap if mid-response).
    let late = false;
    if (startAt > this.freeAt + EPSILON_MS) {
      this.burst++;
      late = this.lastSentResponseId === responseId;
    }
    const endAt = startAt + ulawMs(bytes);
    this.outstanding.push({ responseId, parts, bytes, sentAt: now, startAt, endAt, burst: this.burst });
    this.freeAt = endAt;
    this.lastSentResponseId = responseId;
    return late;
  }

  /** Moves frames that finished playing out of the outstanding timeline. */
  settle(now: number): void {
    let n = 0;
    for (const f of this.outstanding) {
      if (f.endAt > now + EPSILON_MS) break;
      settleFrame(f, f.bytes);
      n++;
    }
    if (n > 0) this.outstanding.splice(0, n);
  }

  /**
   * Genesys began playing. If our estimate has the frame playing now starting earlier, re-base it (and what
   * follows) to start now: network and jitter-buffer latency. Once per burst, and at most one frame's worth,
   * so a late or stray hint can only make played slightly smaller (the safe side for truncation).
   * Returns true when the timeline moved.
   */
  playbackStarted(now: number): boolean {
    this.settle(now);
    const first = this.outstanding[0];
    if (!first || first.burst === this.startedHintBurst) return false;
    this.startedHintBurst = first.burst;
    const delta = now - first.startAt;
    if (delta <= 0) return false;
    for (const f of this.outstanding) {
      f.startAt += delta;
      f.endAt += delta;
    }
    this.freeAt += delta;
    return true;
  }

  /**
   * Genesys' buffer is empty: everything sent is played. [U] The hint may describe an earlier burst while a
   * new one is already in flight, so frames sent too recently to have finished in real time keep their
   * estimate (re-based as if they arrived at an idle playhead).
   */
  playbackCompleted(now: number): void {
    this.settle(now);
    const remaining: SentFrame[] = [];
    for (const f of this.outstanding) {
      if (f.sentAt + ulawMs(f.bytes) <= now + EPSILON_MS) settleFrame(f, f.bytes);
      else remaining.push(f);
    }
    this.outstanding = remaining;
    this.rechainFromArrival(now);
  }

  /**
   * Cuts the playout of matching sent frames at now (Genesys flushes them on barge_in); frames queued in
   * Genesys behind a cut one now play from now at the earliest. Returns the items whose playout was cut.
   */
  cut(now: number, matchFrame: (responseId: string) => boolean): Set<ItemRecord> {
    this.settle(now);
    const interrupted = new Set<ItemRecord>();
    const kept: SentFrame[] = [];
    let cutBefore = false;
    let previousEnd = Number.NEGATIVE_INFINITY;
    this.burst++;
    for (const f of this.outstanding) {
      if (matchFrame(f.responseId)) {
        settleFrame(f, playedOfFrame(f, now));
        for (const p of f.parts) interrupted.add(p.item);
        cutBefore = true;
        continue;
      }
      if (cutBefore) {
        f.startAt = Math.max(f.sentAt, previousEnd, now);
        f.endAt = f.startAt + ulawMs(f.bytes);
        f.burst = this.burst;
      }
      previousEnd = f.endAt;
      kept.push(f);
    }
    this.outstanding = kept;
    this.freeAt = kept.length > 0 ? previousEnd : Math.min(this.freeAt, now);
    return interrupted;
  }

  /** Estimated played bytes of outstanding frames, per item (settled bytes excluded). */
  playedBytesByItem(now: number): Map<ItemRecord, number> {
    const result = new Map<ItemRecord, number>();
    for (const f of this.outstanding) {
      let left = playedOfFrame(f, now);
      if (left === 0) break;
      for (const p of f.parts) {
        const take = Math.min(left, p.bytes);
        if (take > 0) result.set(p.item, (result.get(p.item) ?? 0) + take);
        left -= take;
      }
    }
    return result;
  }

  /** Items with audio in the outstanding timeline, in playout order (repeats possible). */
  *outstandingItems(): Iterable<ItemRecord> {
    for (const f of this.outstanding) for (const p of f.parts) yield p.item;
  }

  /** Re-derives outstanding frames' timing from their send times: each plays on arrival if idle, else after the previous one. */
  private rechainFromArrival(now: number): void {
    let at = Number.NEGATIVE_INFINITY;
    let burst = this.burst;
    for (const f of this.outstanding) {
      const start = Math.max(f.sentAt, at);
      if (start > at + EPSILON_MS) burst = ++this.burst;
      f.startAt = start;
      f.endAt = start + ulawMs(f.bytes);
      f.burst = burst;
      at = f.endAt;
    }
    const last = this.outstanding[this.outstanding.length - 1];
    this.freeAt = last ? last.endAt : Math.min(this.freeAt, now);
  }
}

export function progressOf(item: ItemRecord, outstandingPlayed: Map<ItemRecord, number>): ItemProgress {
  const playedBytes = Math.min(item.sentBytes, item.settledPlayedBytes + (outstandingPlayed.get(item) ?? 0));
  return { receivedMs: ulawMs(item.receivedBytes), sentMs: ulawMs(item.sentBytes), playedMs: ulawMs(playedBytes) };
}

function settleFrame(frame: SentFrame, playedBytes: number): void {
  let left = playedBytes;
  for (const p of frame.parts) {
    const take = Math.min(left, p.bytes);
    p.item.settledPlayedBytes += take;
    left -= take;
  }
}

/** Bytes played so far of one outstanding frame. */
function playedOfFrame(frame: SentFrame, now: number): number {
  if (now <= frame.startAt) return 0;
  return Math.min(frame.bytes, Math.floor((now - frame.startAt) * ULAW_BYTES_PER_MS + EPSILON_MS));
}
