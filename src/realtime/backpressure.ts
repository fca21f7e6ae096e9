/**
 * Back-pressure on the model socket (fault 11, the model side). Caller audio is appended every 20 ms; if the
 * model socket stops draining (a stalled peer or network), its send queue grows without bound. Above the
 * high-water mark caller audio is dropped (the model would hear it minutes late anyway); below the low-water
 * mark it flows again. Staying above the mark for too long means the socket is effectively dead.
 */
import type { Clock } from '../util/clock.js';

export interface ModelBackpressureOptions {
  clock: Clock;
  /** Stop appending above this many queued bytes (default 1 MiB ≈ 2 min of base64 μ-law in JSON). */
  highWaterBytes?: number;
  /** Resume at or below this (default 256 KiB). */
  lowWaterBytes?: number;
  /** Over the high-water mark this long (ms) → the socket is dead (default 10 s). */
  stallLimitMs?: number;
}

/**
 * - `send`: append the audio;
 * - `drop`: skip it (counted);
 * - `stalled`: over the mark for stallLimitMs: treat the socket as dead (reported once per episode).
 */
export type BackpressureDecision = 'send' | 'drop' | 'stalled';

export const MODEL_BACKPRESSURE_DEFAULTS = {
  highWaterBytes: 1024 * 1024,
  lowWaterBytes: 256 * 1024,
  stallLimitMs: 10_000,
} as const;

export class ModelBackpressure {
  private readonly clock: Clock;
  private readonly high: number;
  private readonly low: number;
  private readonly stallLimitMs: number;
  /** Since when the queue has been over the mark; undefined while audio flows. */
  private overSince: number | undefined;
  private stallReported = false;
  /** Audio bytes dropped in the current episode and over the whole call. */
  droppedBytes = 0;
  totalDroppedBytes = 0;

  constructor(options: ModelBackpressureOptions) {
    this.clock = options.clock;
    this.high = options.highWaterBytes ?? MODEL_BACKPRESSURE_DEFAULTS.highWaterBytes;
    this.low = options.lowWaterBytes ?? MODEL_BACKPRESSURE_DEFAULTS.lowWaterBytes;
    this.stallLimitMs = options.stallLimitMs ?? MODEL_BACKPRESSURE_DEFAULTS.stallLimitMs;
    if (!(this.low < this.high)) throw new RangeError('lowWaterBytes must be below highWaterBytes');
  }

  /** True while caller audio is being dropped. */
  get dropping(): boolean {
    return this.overSince !== undefined;
  }

  /** Decides for one chunk of `bytes` caller audio, given the socket's queued bytes now. */
  admit(bufferedAmount: number, bytes: number): BackpressureDecision {
    if (this.overSince === undefined) {
      if (bufferedAmount <= this.high) return 'send';
      this.overSince = this.clock.now();
      this.droppedBytes = 0;
      this.stallReported = false;
    } else if (bufferedAmount <= this.low) {
      this.overSince = undefined;
      return 'send';
    }
    this.droppedBytes += bytes;
    this.totalDroppedBytes += bytes;
    if (!this.stallReported && this.clock.now() - this.overSince >= this.stallLimitMs) {
      this.stallReported = true;
      return 'stalled';
    }
    return 'drop';
  }

  /** A new socket: its queue starts empty. */
  reset(): void {
    this.overSince = undefined;
    this.stallReported = false;
    this.droppedBytes = 0;
  }
}
