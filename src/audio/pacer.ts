/**
 * Outbound (bot → caller) audio pacing and playout accounting.
 *
 * Genesys buffers and plays whatever it receives (AUDIOHOOK.md §8.3), so we send fixed frames in real time
 * with a bounded lead. That keeps little audio inside Genesys (barge-in stays crisp, no 429s) and lets us
 * estimate what the caller has actually heard, which the model's truncation needs (OPENAI_REALTIME.md §12.3):
 * AudioHook has no mark echo, so "played" is derived from our own send timeline.
 *
 * The pieces: the unsent audio per response (response-queue.ts), the estimated playout of what was sent
 * (playout-timeline.ts), and this pacer, which decides when the next frame goes out.
 * A Genesys 429 hold is the protocol session's: it refuses `send` meanwhile, and refused frames are retried.
 *
 * Pure logic: time comes from the injected Clock, output goes through the injected `send`.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import { MAX_AUDIO_MESSAGE_BYTES } from './media-format.js';
import { EPSILON_MS, PlayoutTimeline, progressOf, type ItemProgress, type ItemRecord } from './playout-timeline.js';
import { ResponseQueue } from './response-queue.js';
import { ulawBytes, ulawMs, ULAW_BYTES_PER_MS } from '../util/ulaw-time.js';

export { ULAW_BYTES_PER_MS, type ItemProgress };

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

  private readonly queue = new ResponseQueue();
  private readonly timeline = new PlayoutTimeline();
  /** Items cut by the latest drop, still listed by playingItems() until the next frame goes out. */
  private interruptedItems: ItemRecord[] = [];

  private pumping = false;
  private pumpAgain = false;
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
    if (ulawBytes(frameMs) > MAX_AUDIO_MESSAGE_BYTES) {
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
    this.frameBytes = ulawBytes(frameMs);
    this.maxQueuedBytes = Math.floor(ulawBytes(maxQueuedMs));
    this.onOverflow = options.onOverflow;
    this.refusedRetryMs = Math.max(1, options.refusedRetryMs ?? frameMs);
  }

  // ---------------------------------------------------------------- input

  /** Model audio for one item of one response, any size. The bytes are copied. */
  enqueue(responseId: string, itemId: string, ulaw: Uint8Array): void {
    if (this.stopped || ulaw.length === 0) return;
    if (!this.queue.enqueue(responseId, itemId, ulaw, () => this.timeline.outstandingItems())) {
      this.stats.ignoredBytes += ulaw.length;
      return;
    }
    if (this.queue.queuedBytes > this.maxQueuedBytes) this.trimOverflow();
    this.pump();
  }

  /** No more audio for this response: its last partial frame may go out (unpadded). */
  endResponse(responseId: string): void {
    if (this.stopped) return;
    this.queue.end(responseId);
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
    this.queue.rememberClosed(responseId);
    return this.drop((id) => id === responseId);
  }

  /** Drops all unsent audio and cuts the playout of everything sent (see dropResponse). */
  dropAll(): number {
    if (this.stopped) return 0;
    return this.drop(undefined);
  }

  /** After disconnect: never send again, clear timers and the queue, release whenDrained waiters. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.sendTimer);
    this.clock.clearTimeout(this.drainTimer);
    this.sendTimer = undefined;
    this.drainTimer = undefined;
    this.queue.clear();
    this.resolveDrainWaiters();
  }

  // ---------------------------------------------------------------- Genesys playback hints ([U] semantics, AUDIOHOOK.md §5.12)

  /** Genesys began playing: re-bases the estimate (playout-timeline.ts). */
  playbackStarted(): void {
    if (this.stopped) return;
    if (this.timeline.playbackStarted(this.clock.now())) this.pump();
  }

  /** Genesys' buffer is empty: everything sent long enough ago is played (playout-timeline.ts). */
  playbackCompleted(): void {
    if (this.stopped) return;
    this.timeline.playbackCompleted(this.clock.now());
    this.pump();
    this.checkDrained();
  }

  // ---------------------------------------------------------------- queries

  /** Bot audio outstanding: queued, or sent and not yet played (estimate). */
  isPlaying(): boolean {
    if (this.stopped) return false;
    return this.queue.queuedBytes > 0 || !this.timeline.isIdle(this.clock.now());
  }

  /** Per-item audio accounting (zeros for an unknown item). */
  progress(itemId: string): ItemProgress {
    const item = this.queue.item(itemId);
    if (!item) return { receivedMs: 0, sentMs: 0, playedMs: 0 };
    return progressOf(item, this.timeline.playedBytesByItem(this.clock.now()));
  }

  /**
   * Items with audio sent but not fully played, in playout order, plus the items whose playout the latest
   * drop cut (flagged `interrupted`, listed until the next frame goes out) so the owner can truncate them
   * right after dropping.
   */
  playingItems(): PlayingItem[] {
    const played = this.timeline.playedBytesByItem(this.clock.now());
    const result: PlayingItem[] = [];
    const seen = new Set<ItemRecord>();
    const add = (item: ItemRecord, onlyIfUnplayed: boolean): void => {
      if (seen.has(item)) return;
      seen.add(item);
      const progress = progressOf(item, played);
      if (onlyIfUnplayed && progress.playedMs >= progress.sentMs) return;
      result.push({ itemId: item.itemId, responseId: item.responseId, interrupted: item.interrupted, ...progress });
    };
    for (const item of this.interruptedItems) add(item, false);
    for (const item of this.timeline.outstandingItems()) add(item, true);
    return result;
  }

  /** Unsent audio held, in ms. */
  get queuedMs(): number {
    return ulawMs(this.queue.queuedBytes);
  }

  /** Audio sent and not yet played (estimate), in ms. */
  get leadMs(): number {
    return this.timeline.leadMs(this.clock.now());
  }

  /**
   * Resolves when everything queued is sent and played (estimate or playback_completed), e.g. before a
   * farewell disconnect. Also resolves after a drop empties everything, and on stop(). Owners should bound
   * the wait: while `send` keeps refusing (paused, Genesys 429 hold), nothing drains.
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
      this.timeline.settle(now);
      const response = this.queue.head();
      if (!response) break;
      const bytes = Math.min(this.frameBytes, response.queuedBytes);
      if (bytes < this.frameBytes && !response.ended) break; // wait for a full frame
      const durationMs = ulawMs(bytes);
      const startAt = this.timeline.startAt(now);
      if (startAt + durationMs - now > this.maxLeadMs + EPSILON_MS) {
        // Due when the lead after sending is exactly maxLeadMs: derived from the playout timeline, so no drift.
        this.scheduleSend(this.timeline.playheadFreeAt + durationMs - this.maxLeadMs);
        break;
      }
      const frame = this.queue.peek(response, bytes);
      if (!this.sendFrame(frame)) {
        this.stats.refusedSends++;
        this.scheduleSend(now + this.refusedRetryMs);
        break;
      }
      if (this.stopped) return;
      this.stats.framesSent++;
      this.stats.bytesSent += bytes;
      // A drop inside send() removed the response: the frame went out, but its bytes are no longer ours to consume.
      if (!this.queue.holds(response, bytes)) continue;
      const parts = this.queue.consume(response, bytes);
      if (this.timeline.commit(response.responseId, parts, bytes, now, startAt)) this.stats.lateFrames++;
      this.interruptedItems = [];
      this.stats.maxLeadMs = Math.max(this.stats.maxLeadMs, this.timeline.playheadFreeAt - now);
    }
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

  /**
   * Cuts the playout of matching sent audio at now and discards matching unsent audio. The affected items,
   * in playout order, become the interrupted list: also items none of whose audio had been sent yet (held,
   * refused), since the caller heard none of it.
   */
  private drop(match: ((responseId: string) => boolean) | undefined): number {
    const interrupted = this.timeline.cut(this.clock.now(), match ?? (() => true));
    const dropped = this.queue.drop(match, interrupted);
    this.stats.droppedBytes += dropped;
    for (const item of interrupted) item.interrupted = true;
    this.interruptedItems = [...interrupted];
    if (this.queue.queuedBytes === 0) {
      this.clock.clearTimeout(this.sendTimer);
      this.sendTimer = undefined;
      this.sendTimerAt = Number.POSITIVE_INFINITY;
    }
    this.pump();
    this.checkDrained();
    return dropped;
  }

  /** Drops the oldest unsent audio until the queue fits its cap. */
  private trimOverflow(): void {
    const dropped = this.queue.trimTo(this.maxQueuedBytes);
    this.stats.overflowBytes += dropped;
    this.onOverflow?.({ droppedBytes: dropped, queuedBytes: this.queue.queuedBytes });
  }

  // ---------------------------------------------------------------- drain

  private isDrained(now: number): boolean {
    return this.queue.queuedBytes === 0 && this.timeline.isIdle(now);
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
    const freeAt = this.timeline.playheadFreeAt;
    if (this.queue.queuedBytes === 0 && (this.drainTimer === undefined || freeAt < this.drainTimerAt)) {
      this.clock.clearTimeout(this.drainTimer);
      this.drainTimerAt = freeAt;
      this.drainTimer = this.clock.setTimeout(() => {
        this.drainTimer = undefined;
        this.drainTimerAt = Number.POSITIVE_INFINITY;
        this.timeline.settle(this.clock.now());
        this.checkDrained();
      }, Math.max(0, Math.ceil(freeAt - now)));
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
