/**
 * Outbound (bot → caller) audio pacing and playout accounting.
 *
 * Genesys buffers and plays whatever it receives (AUDIOHOOK.md §8.3), so we send fixed frames in real time
 * with a bounded lead. That keeps little audio inside Genesys (barge-in stays crisp, no 429s) and lets us
 * estimate what the caller has actually heard, which the model's truncation needs (OPENAI_REALTIME.md §12.3):
 * AudioHook has no mark echo, so "played" is derived from our own send timeline.
 *
 * Playout model: Genesys starts playing a frame when it arrives if idle, else right after the previous one.
 * Arrival ≈ send time (network latency only makes our estimate early, i.e. we count at most that much audio
 * as heard too soon; the `playback_started` hint corrects it). A gap with no audio makes the playhead idle.
 *
 * Pure logic: time comes from the injected Clock, output goes through the injected `send`.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import { MAX_AUDIO_MESSAGE_BYTES } from './media-format.js';

/** μ-law 8 kHz mono: 8 bytes per millisecond. */
export const ULAW_BYTES_PER_MS = 8;

/** Float tolerance when comparing computed due times with the clock. */
const EPSILON_MS = 1e-6;
/** How many finished (ended or dropped) response ids we remember, to ignore their late deltas. */
const CLOSED_RESPONSE_MEMORY = 256;
/** How many item records we keep for progress() once they are fully played. */
const ITEM_MEMORY = 256;

export interface OverflowInfo {
  /** Unsent bytes dropped (oldest first) to respect maxQueuedMs. */
  droppedBytes: number;
  /** Unsent bytes still queued afterwards. */
  queuedBytes: number;
}

export interface OutboundPacerOptions {
  clock: Clock;
  /** Sends one frame of μ-law 8 kHz mono; false means "not sent now" (paused, disconnecting…): retried later. */
  send: (frame: Uint8Array) => boolean;
  /** Frame duration in ms (default 200 → 1600 bytes). */
  frameMs?: number;
  /** Most audio (ms) ever sent ahead of the caller's estimated playhead (default 400, ≥ frameMs). */
  maxLeadMs?: number;
  /** Cap on unsent audio held (default 120 s); beyond it the oldest audio is dropped. */
  maxQueuedMs?: number;
  /** Called when the cap drops audio, so the owner can warn. */
  onOverflow?: (info: OverflowInfo) => void;
  /** Retry delay after `send` returned false (default frameMs). */
  refusedRetryMs?: number;
}

export interface ItemProgress {
  /** Audio received from the model for this item. */
  receivedMs: number;
  /** Audio sent to Genesys. */
  sentMs: number;
  /** Audio estimated as played to the caller (never more than sentMs). */
  playedMs: number;
}

export interface PlayingItem extends ItemProgress {
  itemId: string;
  responseId: string;
  /** Its playout was cut by dropResponse/dropAll (the caller barged in); playedMs is final. */
  interrupted: boolean;
}

export interface PacerStats {
  framesSent: number;
  bytesSent: number;
  /** Largest lead (ms of audio ahead of the estimated playhead) right after any send. */
  maxLeadMs: number;
  /** Frames that continued a response after the playhead had run dry: an audible gap (model or timer late). */
  lateFrames: number;
  /** Unsent bytes discarded by dropResponse/dropAll. */
  droppedBytes: number;
  /** Unsent bytes discarded by the queue cap. */
  overflowBytes: number;
  /** Bytes enqueued for a response already ended or dropped (late deltas), ignored. */
  ignoredBytes: number;
  /** Times `send` returned false. */
  refusedSends: number;
}

interface ItemRecord {
  itemId: string;
  responseId: string;
  receivedBytes: number;
  sentBytes: number;
  /** Played bytes of frames no longer in the outstanding timeline. */
  settledPlayedBytes: number;
  interrupted: boolean;
}

interface Segment {
  item: ItemRecord;
  data: Uint8Array;
  offset: number;
}

interface ResponseQueue {
  responseId: string;
  ended: boolean;
  segments: Segment[];
  queuedBytes: number;
}

interface SentFrame {
  responseId: string;
  parts: Array<{ item: ItemRecord; bytes: number }>;
  bytes: number;
  sentAt: number;
  startAt: number;
  endAt: number;
  burst: number;
}

export class OutboundPacer {
  readonly frameMs: number;
  readonly maxLeadMs: number;
  readonly frameBytes: number;
  readonly stats: PacerStats = {
    framesSent: 0,
    bytesSent: 0,
    maxLeadMs: 0,
    lateFrames: 0,
    droppedBytes: 0,
    overflowBytes: 0,
    ignoredBytes: 0,
    refusedSends: 0,
  };

  private readonly clock: Clock;
  private readonly sendFrame: (frame: Uint8Array) => boolean;
  private readonly maxQueuedBytes: number;
  private readonly onOverflow: ((info: OverflowInfo) => void) | undefined;
  private readonly refusedRetryMs: number;

  private readonly queue: ResponseQueue[] = [];
  private readonly queueById = new Map<string, ResponseQueue>();
  private queuedBytes = 0;
  private readonly closedResponses = new Set<string>();
  private readonly items = new Map<string, ItemRecord>();

  /** Sent frames not yet settled as fully played, in send order. */
  private outstanding: SentFrame[] = [];
  /** When the estimated playhead finishes everything sent; ≤ now means idle. */
  private playheadFreeAt = Number.NEGATIVE_INFINITY;
  private burst = 0;
  private startedHintBurst = -1;
  private lastSentResponseId: string | undefined;
  /** Items cut by the latest drop, still listed by playingItems() until the next frame goes out. */
  private interruptedItems: ItemRecord[] = [];

  private pumping = false;
  private pumpAgain = false;
  private holdUntilMs = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private sendTimer: TimerHandle | undefined;
  private sendTimerAt = Number.POSITIVE_INFINITY;
  private drainTimer: TimerHandle | undefined;
  private drainTimerAt = Number.POSITIVE_INFINITY;
  private drainWaiters: Array<() => void> = [];

  constructor(options: OutboundPacerOptions) {
    const frameMs = options.frameMs ?? 200;
    const maxLeadMs = options.maxLeadMs ?? 400;
    if (!Number.isInteger(frameMs) || frameMs <= 0) throw new RangeError(`frameMs must be a positive integer, got ${frameMs}`);
    if (frameMs * ULAW_BYTES_PER_MS > MAX_AUDIO_MESSAGE_BYTES) {
      throw new RangeError(`frameMs ${frameMs} exceeds the ${MAX_AUDIO_MESSAGE_BYTES}-byte binary message limit`);
    }
    // With a lead below one frame no frame could ever go out without breaking the lead bound.
    if (!(maxLeadMs >= frameMs)) throw new RangeError(`maxLeadMs (${maxLeadMs}) must be at least frameMs (${frameMs})`);
    const maxQueuedMs = options.maxQueuedMs ?? 120_000;
    if (!(maxQueuedMs >= frameMs)) throw new RangeError(`maxQueuedMs (${maxQueuedMs}) must be at least frameMs (${frameMs})`);
    this.clock = options.clock;
    this.sendFrame = options.send;
    this.frameMs = frameMs;
    this.maxLeadMs = maxLeadMs;
    this.frameBytes = frameMs * ULAW_BYTES_PER_MS;
    this.maxQueuedBytes = Math.floor(maxQueuedMs * ULAW_BYTES_PER_MS);
    this.onOverflow = options.onOverflow;
    this.refusedRetryMs = Math.max(1, options.refusedRetryMs ?? frameMs);
  }

  // ---------------------------------------------------------------- input

  /** Model audio for one item of one response, any size. The bytes are copied. */
  enqueue(responseId: string, itemId: string, ulaw: Uint8Array): void {
    if (this.stopped || ulaw.length === 0) return;
    if (this.closedResponses.has(responseId)) {
      this.stats.ignoredBytes += ulaw.length;
      return;
    }
    let response = this.queueById.get(responseId);
    if (!response) {
      response = { responseId, ended: false, segments: [], queuedBytes: 0 };
      this.queue.push(response);
      this.queueById.set(responseId, response);
    }
    const item = this.itemRecord(itemId, responseId);
    item.receivedBytes += ulaw.length;
    response.segments.push({ item, data: ulaw.slice(), offset: 0 });
    response.queuedBytes += ulaw.length;
    this.queuedBytes += ulaw.length;
    if (this.queuedBytes > this.maxQueuedBytes) this.trimOverflow();
    this.pump();
  }

  /** No more audio for this response: its last partial frame may go out (unpadded). */
  endResponse(responseId: string): void {
    if (this.stopped) return;
    this.rememberClosed(responseId);
    const response = this.queueById.get(responseId);
    if (response) response.ended = true;
    this.pump();
    this.checkDrained();
  }

  /**
   * Barge-in: drops every unsent byte of the response and ignores its later deltas. Assumes the owner also
   * sends `barge_in`, so Genesys discards what it buffered: the estimated playout of the response's sent
   * audio is cut at now ([U] if Genesys kept playing, played is underestimated, the safe side for truncation).
   * Returns the unsent bytes dropped.
   */
  dropResponse(responseId: string): number {
    if (this.stopped) return 0;
    this.rememberClosed(responseId);
    return this.drop(
      (f) => f.responseId === responseId,
      (r) => r.responseId === responseId,
    );
  }

  /** Drops all unsent audio and cuts the playout of everything sent (see dropResponse). */
  dropAll(): number {
    if (this.stopped) return 0;
    for (const r of this.queue) this.rememberClosed(r.responseId);
    return this.drop(
      () => true,
      () => true,
    );
  }

  /**
   * No audio before this clock time (ms, on `clock.now()`'s timeline), e.g. now + Genesys 429 retryAfter.
   * The queue is kept (bounded by maxQueuedMs). Later calls can only extend the hold.
   */
  holdUntil(untilMs: number): void {
    if (this.stopped || !Number.isFinite(untilMs)) return;
    this.holdUntilMs = Math.max(this.holdUntilMs, untilMs);
    this.pump();
  }

  /** Convenience for a relative hold (e.g. retryAfter in ms). */
  holdFor(durationMs: number): void {
    this.holdUntil(this.clock.now() + Math.max(0, durationMs));
  }

  /** After disconnect: never send again, clear timers and the queue, release whenDrained waiters. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.sendTimer);
    this.clock.clearTimeout(this.drainTimer);
    this.sendTimer = undefined;
    this.drainTimer = undefined;
    this.queue.length = 0;
    this.queueById.clear();
    this.queuedBytes = 0;
    this.resolveDrainWaiters();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  // ---------------------------------------------------------------- Genesys playback hints ([U] semantics, AUDIOHOOK.md §5.12)

  /**
   * Genesys began playing. If our estimate has the frame playing now starting earlier, re-base it (and what
   * follows) to start now: network and jitter-buffer latency. Once per burst, and at most one frame's worth,
   * so a late or stray hint can only make played slightly smaller (the safe side for truncation).
   */
  playbackStarted(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    this.settle(now);
    const first = this.outstanding[0];
    if (!first || first.burst === this.startedHintBurst) return;
    this.startedHintBurst = first.burst;
    const delta = now - first.startAt;
    if (delta <= 0) return;
    for (const f of this.outstanding) {
      f.startAt += delta;
      f.endAt += delta;
    }
    this.playheadFreeAt += delta;
    this.pump();
  }

  /**
   * Genesys' buffer is empty: everything sent is played. [U] The hint may describe an earlier burst while a
   * new one is already in flight, so frames sent too recently to have finished in real time keep their
   * estimate (re-based as if they arrived at an idle playhead).
   */
  playbackCompleted(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    this.settle(now);
    const remaining: SentFrame[] = [];
    for (const f of this.outstanding) {
      if (f.sentAt + f.bytes / ULAW_BYTES_PER_MS <= now + EPSILON_MS) this.settleFrame(f, f.bytes);
      else remaining.push(f);
    }
    this.outstanding = remaining;
    this.rechainFromArrival();
    this.pump();
    this.checkDrained();
  }

  // ---------------------------------------------------------------- queries

  /** Bot audio outstanding: queued, or sent and not yet played (estimate). */
  isPlaying(): boolean {
    if (this.stopped) return false;
    return this.queuedBytes > 0 || this.playheadFreeAt > this.clock.now() + EPSILON_MS;
  }

  /** Per-item audio accounting (zeros for an unknown item). */
  progress(itemId: string): ItemProgress {
    const item = this.items.get(itemId);
    if (!item) return { receivedMs: 0, sentMs: 0, playedMs: 0 };
    return this.progressOf(item, this.playedBytesByItem(this.clock.now()));
  }

  /**
   * Items with audio sent but not fully played, in playout order, plus the items whose playout the latest
   * drop cut (flagged `interrupted`, listed until the next frame goes out) so the owner can truncate them
   * right after dropping.
   */
  playingItems(): PlayingItem[] {
    const now = this.clock.now();
    const played = this.playedBytesByItem(now);
    const result: PlayingItem[] = [];
    const seen = new Set<ItemRecord>();
    const add = (item: ItemRecord, onlyIfUnplayed: boolean): void => {
      if (seen.has(item)) return;
      seen.add(item);
      const progress = this.progressOf(item, played);
      if (onlyIfUnplayed && progress.playedMs >= progress.sentMs) return;
      result.push({ itemId: item.itemId, responseId: item.responseId, interrupted: item.interrupted, ...progress });
    };
    for (const item of this.interruptedItems) add(item, false);
    for (const f of this.outstanding) for (const p of f.parts) add(p.item, true);
    return result;
  }

  /** Unsent audio held, in ms. */
  get queuedMs(): number {
    return this.queuedBytes / ULAW_BYTES_PER_MS;
  }

  /** Audio sent and not yet played (estimate), in ms. */
  get leadMs(): number {
    return Math.max(0, this.playheadFreeAt - this.clock.now());
  }

  /**
   * Resolves when everything queued is sent and played (estimate or playback_completed), e.g. before a
   * farewell disconnect. Also resolves after a drop empties everything, and on stop(). Owners should bound
   * the wait: while `send` keeps refusing (paused), nothing drains.
   */
  whenDrained(): Promise<void> {
    if (this.stopped || this.isDrained(this.clock.now())) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.drainWaiters.push(resolve);
      this.checkDrained();
    });
  }

  // ---------------------------------------------------------------- pacing

  /** Sends every frame that is due now, then schedules the next wake-up. */
  private pump(): void {
    if (this.stopped) return;
    // send() may call back into us (e.g. a drop); the outer loop picks the new state up.
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain && !this.stopped);
    } finally {
      this.pumping = false;
    }
    this.checkDrained();
  }

  private pumpOnce(): void {
    for (;;) {
      const now = this.clock.now();
      this.settle(now);
      const response = this.headResponse();
      if (!response) break;
      const bytes = Math.min(this.frameBytes, response.queuedBytes);
      if (bytes < this.frameBytes && !response.ended) break; // wait for a full frame
      if (now + EPSILON_MS < this.holdUntilMs) {
        this.scheduleSend(this.holdUntilMs);
        break;
      }
      const durationMs = bytes / ULAW_BYTES_PER_MS;
      const startAt = Math.max(now, this.playheadFreeAt);
      if (startAt + durationMs - now > this.maxLeadMs + EPSILON_MS) {
        // Due when the lead after sending is exactly maxLeadMs: derived from the playout timeline, so no drift.
        this.scheduleSend(this.playheadFreeAt + durationMs - this.maxLeadMs);
        break;
      }
      const frame = this.peekFrame(response, bytes);
      if (!this.sendFrame(frame)) {
        this.stats.refusedSends++;
        this.scheduleSend(now + this.refusedRetryMs);
        break;
      }
      if (this.stopped) return;
      // A drop inside send() removed the response: the frame went out, but its bytes are no longer ours to consume.
      if (this.queueById.get(response.responseId) !== response || response.queuedBytes < bytes) {
        this.stats.framesSent++;
        this.stats.bytesSent += bytes;
        continue;
      }
      this.commitFrame(response, bytes, now, startAt, durationMs);
    }
  }

  /** The response whose audio goes next (FIFO); finished, empty responses are discarded on the way. */
  private headResponse(): ResponseQueue | undefined {
    for (;;) {
      const head = this.queue[0];
      if (!head) return undefined;
      if (!head.ended || head.queuedBytes > 0) return head;
      this.queue.shift();
      this.queueById.delete(head.responseId);
    }
  }

  private peekFrame(response: ResponseQueue, bytes: number): Uint8Array {
    const frame = new Uint8Array(bytes);
    let filled = 0;
    for (const seg of response.segments) {
      if (filled >= bytes) break;
      const take = Math.min(bytes - filled, seg.data.length - seg.offset);
      frame.set(seg.data.subarray(seg.offset, seg.offset + take), filled);
      filled += take;
    }
    return frame;
  }

  private commitFrame(response: ResponseQueue, bytes: number, now: number, startAt: number, durationMs: number): void {
    const parts: SentFrame['parts'] = [];
    let remaining = bytes;
    while (remaining > 0) {
      const seg = response.segments[0]!;
      const take = Math.min(remaining, seg.data.length - seg.offset);
      seg.offset += take;
      remaining -= take;
      seg.item.sentBytes += take;
      const last = parts[parts.length - 1];
      if (last && last.item === seg.item) last.bytes += take;
      else parts.push({ item: seg.item, bytes: take });
      if (seg.offset >= seg.data.length) response.segments.shift();
    }
    response.queuedBytes -= bytes;
    this.queuedBytes -= bytes;

    // A gap before this frame: the playhead was idle, so a new burst starts (audible gap if mid-response).
    const gap = startAt > this.playheadFreeAt + EPSILON_MS;
    if (gap) {
      this.burst++;
      if (this.lastSentResponseId === response.responseId) this.stats.lateFrames++;
    }
    this.outstanding.push({ responseId: response.responseId, parts, bytes, sentAt: now, startAt, endAt: startAt + durationMs, burst: this.burst });
    this.playheadFreeAt = startAt + durationMs;
    this.lastSentResponseId = response.responseId;
    this.interruptedItems = [];
    this.stats.framesSent++;
    this.stats.bytesSent += bytes;
    this.stats.maxLeadMs = Math.max(this.stats.maxLeadMs, this.playheadFreeAt - now);
  }

  private scheduleSend(at: number): void {
    if (this.sendTimer !== undefined && this.sendTimerAt <= at) return;
    this.clock.clearTimeout(this.sendTimer);
    // Ceil: a timer may not fire before `at`; if the platform still wakes us early, pump() reschedules.
    const delay = Math.max(0, Math.ceil(at - this.clock.now()));
    this.sendTimerAt = at;
    this.sendTimer = this.clock.setTimeout(() => {
      this.sendTimer = undefined;
      this.sendTimerAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, delay);
  }

  // ---------------------------------------------------------------- playout timeline

  /** Moves frames that finished playing out of the outstanding timeline. */
  private settle(now: number): void {
    let n = 0;
    for (const f of this.outstanding) {
      if (f.endAt > now + EPSILON_MS) break;
      this.settleFrame(f, f.bytes);
      n++;
    }
    if (n > 0) this.outstanding.splice(0, n);
  }

  private settleFrame(frame: SentFrame, playedBytes: number): void {
    let left = playedBytes;
    for (const p of frame.parts) {
      const take = Math.min(left, p.bytes);
      p.item.settledPlayedBytes += take;
      left -= take;
    }
  }

  /** Bytes played so far of one outstanding frame. */
  private playedOfFrame(frame: SentFrame, now: number): number {
    if (now <= frame.startAt) return 0;
    return Math.min(frame.bytes, Math.floor((now - frame.startAt) * ULAW_BYTES_PER_MS + EPSILON_MS));
  }

  /** Estimated played bytes of outstanding frames, per item (settled bytes excluded). */
  private playedBytesByItem(now: number): Map<ItemRecord, number> {
    const result = new Map<ItemRecord, number>();
    for (const f of this.outstanding) {
      let left = this.playedOfFrame(f, now);
      if (left === 0) break;
      for (const p of f.parts) {
        const take = Math.min(left, p.bytes);
        if (take > 0) result.set(p.item, (result.get(p.item) ?? 0) + take);
        left -= take;
      }
    }
    return result;
  }

  private progressOf(item: ItemRecord, outstandingPlayed: Map<ItemRecord, number>): ItemProgress {
    const playedBytes = Math.min(item.sentBytes, item.settledPlayedBytes + (outstandingPlayed.get(item) ?? 0));
    return {
      receivedMs: item.receivedBytes / ULAW_BYTES_PER_MS,
      sentMs: item.sentBytes / ULAW_BYTES_PER_MS,
      playedMs: playedBytes / ULAW_BYTES_PER_MS,
    };
  }

  /** Re-derives outstanding frames' timing from their send times: each plays on arrival if idle, else after the previous one. */
  private rechainFromArrival(): void {
    let at = Number.NEGATIVE_INFINITY;
    let burst = this.burst;
    for (const f of this.outstanding) {
      const start = Math.max(f.sentAt, at);
      if (start > at + EPSILON_MS) burst = ++this.burst;
      f.startAt = start;
      f.endAt = start + f.bytes / ULAW_BYTES_PER_MS;
      f.burst = burst;
      at = f.endAt;
    }
    const last = this.outstanding[this.outstanding.length - 1];
    this.playheadFreeAt = last ? last.endAt : Math.min(this.playheadFreeAt, this.clock.now());
  }

  /**
   * Cuts the playout of matching sent frames at now (Genesys flushes them on barge_in) and discards matching
   * unsent audio. The affected items, in playout order, become the interrupted list: also items none of whose
   * audio had been sent yet (held, refused), since the caller heard none of it.
   */
  private drop(matchFrame: (f: SentFrame) => boolean, matchQueued: (r: ResponseQueue) => boolean): number {
    const now = this.clock.now();
    this.settle(now);
    const interrupted = new Set<ItemRecord>();
    const kept: SentFrame[] = [];
    let cutBefore = false;
    let previousEnd = Number.NEGATIVE_INFINITY;
    this.burst++;
    for (const f of this.outstanding) {
      if (matchFrame(f)) {
        this.settleFrame(f, this.playedOfFrame(f, now));
        for (const p of f.parts) interrupted.add(p.item);
        cutBefore = true;
        continue;
      }
      // Frames queued in Genesys behind a cut one now play from now at the earliest; earlier ones keep their timing.
      if (cutBefore) {
        f.startAt = Math.max(f.sentAt, previousEnd, now);
        f.endAt = f.startAt + f.bytes / ULAW_BYTES_PER_MS;
        f.burst = this.burst;
      }
      previousEnd = f.endAt;
      kept.push(f);
    }
    this.outstanding = kept;
    this.playheadFreeAt = kept.length > 0 ? previousEnd : Math.min(this.playheadFreeAt, now);

    let dropped = 0;
    for (let i = 0; i < this.queue.length; ) {
      const r = this.queue[i]!;
      if (!matchQueued(r)) {
        i++;
        continue;
      }
      for (const seg of r.segments) interrupted.add(seg.item);
      dropped += r.queuedBytes;
      this.queue.splice(i, 1);
      this.queueById.delete(r.responseId);
    }
    this.queuedBytes -= dropped;
    this.stats.droppedBytes += dropped;

    for (const item of interrupted) item.interrupted = true;
    this.interruptedItems = [...interrupted];
    this.afterDrop();
    return dropped;
  }

  private afterDrop(): void {
    if (this.queuedBytes === 0) {
      this.clock.clearTimeout(this.sendTimer);
      this.sendTimer = undefined;
      this.sendTimerAt = Number.POSITIVE_INFINITY;
    }
    this.pump();
    this.checkDrained();
  }

  /** Drops the oldest unsent audio until the queue fits its cap. */
  private trimOverflow(): void {
    let excess = this.queuedBytes - this.maxQueuedBytes;
    let dropped = 0;
    for (const r of this.queue) {
      while (excess > 0 && r.segments.length > 0) {
        const seg = r.segments[0]!;
        const take = Math.min(excess, seg.data.length - seg.offset);
        seg.offset += take;
        r.queuedBytes -= take;
        excess -= take;
        dropped += take;
        if (seg.offset >= seg.data.length) r.segments.shift();
      }
      if (excess <= 0) break;
    }
    this.queuedBytes -= dropped;
    this.stats.overflowBytes += dropped;
    this.onOverflow?.({ droppedBytes: dropped, queuedBytes: this.queuedBytes });
  }

  private rememberClosed(responseId: string): void {
    this.closedResponses.delete(responseId);
    this.closedResponses.add(responseId);
    if (this.closedResponses.size > CLOSED_RESPONSE_MEMORY) {
      const oldest = this.closedResponses.values().next().value;
      if (oldest !== undefined) this.closedResponses.delete(oldest);
    }
  }

  private itemRecord(itemId: string, responseId: string): ItemRecord {
    let item = this.items.get(itemId);
    if (!item) {
      item = { itemId, responseId, receivedBytes: 0, sentBytes: 0, settledPlayedBytes: 0, interrupted: false };
      this.items.set(itemId, item);
      if (this.items.size > ITEM_MEMORY) this.forgetOldItems();
    }
    return item;
  }

  /** Forgets the oldest items that have nothing queued or playing (bounded memory on long calls). */
  private forgetOldItems(): void {
    const busy = new Set<ItemRecord>();
    for (const r of this.queue) for (const s of r.segments) busy.add(s.item);
    for (const f of this.outstanding) for (const p of f.parts) busy.add(p.item);
    for (const [id, item] of this.items) {
      if (this.items.size <= ITEM_MEMORY) break;
      if (!busy.has(item)) this.items.delete(id);
    }
  }

  // ---------------------------------------------------------------- drain

  private isDrained(now: number): boolean {
    return this.queuedBytes === 0 && this.playheadFreeAt <= now + EPSILON_MS;
  }

  private checkDrained(): void {
    if (this.drainWaiters.length === 0 || this.stopped) return;
    const now = this.clock.now();
    if (this.isDrained(now)) {
      this.resolveDrainWaiters();
      return;
    }
    // With nothing left to send, only the playhead is pending: wake when it should be done (re-armed if a
    // hint moved the end earlier; a later end just re-arms on wake-up).
    if (this.queuedBytes === 0 && (this.drainTimer === undefined || this.playheadFreeAt < this.drainTimerAt)) {
      this.clock.clearTimeout(this.drainTimer);
      this.drainTimerAt = this.playheadFreeAt;
      this.drainTimer = this.clock.setTimeout(() => {
        this.drainTimer = undefined;
        this.drainTimerAt = Number.POSITIVE_INFINITY;
        this.settle(this.clock.now());
        this.checkDrained();
      }, Math.max(0, Math.ceil(this.playheadFreeAt - now)));
    }
  }

  private resolveDrainWaiters(): void {
    this.clock.clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    this.drainTimerAt = Number.POSITIVE_INFINITY;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
