/**
 * A model of Genesys' playout buffer for server audio (AudioHook spec: sending audio): audio plays at its real rate
 * from the moment it arrives; more audio queues behind what is playing. `playback_started` is emitted when
 * audio arrives while nothing is playing, `playback_completed` when the buffer drains.
 *
 * [U] The semantics of playback_* are unconfirmed (§5.12). Choices, made to exercise a server's
 * barge-in path: one started/completed pair per contiguous burst, and a `barge_in` flush drops
 * everything queued and completes the burst immediately (reason "flushed").
 */
import type { Clock, TimerHandle } from '../util/clock.js';

export type PlayoutEndReason = 'drained' | 'flushed';

export interface PlayoutHooks {
  onStarted(at: number): void;
  onCompleted(at: number, reason: PlayoutEndReason): void;
}

export class PlayoutModel {
  private endsAt: number | null = null;
  private startedAt = 0;
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** Total audio actually played out (ms), flushed audio excluded. */
  private playedBeforeBurstMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly hooks: PlayoutHooks,
  ) {}

  get playing(): boolean {
    return this.endsAt !== null;
  }

  /** Audio still queued (ms). */
  get bufferedMs(): number {
    return this.endsAt === null ? 0 : Math.max(0, this.endsAt - this.clock.now());
  }

  get playedMs(): number {
    if (this.endsAt === null) return this.playedBeforeBurstMs;
    return this.playedBeforeBurstMs + Math.min(this.clock.now(), this.endsAt) - this.startedAt;
  }

  /** Audio of this duration arrived now. */
  push(durationMs: number): void {
    if (this.stopped || durationMs <= 0) return;
    const now = this.clock.now();
    // The buffer ran dry before this audio came, but the drain timer has not fired yet (a busy loop): that
    // burst is over, and this audio starts a new one now rather than being counted from the past.
    if (this.endsAt !== null && this.endsAt <= now) this.finish('drained');
    if (this.endsAt === null) {
      this.startedAt = now;
      this.endsAt = now + durationMs;
      this.hooks.onStarted(now);
    } else {
      this.endsAt += durationMs;
    }
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.finish('drained'), this.endsAt - now);
  }

  /** Drops queued audio (barge-in). Returns whether anything was playing. */
  flush(): boolean {
    if (this.endsAt === null || this.stopped) return false;
    this.finish('flushed');
    return true;
  }

  /** Stops the model without emitting anything (session over). */
  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private finish(reason: PlayoutEndReason): void {
    if (this.endsAt === null) return;
    const now = this.clock.now();
    // Drained when the audio ran out, even if the timer saying so fired late.
    const at = reason === 'drained' ? Math.min(now, this.endsAt) : now;
    this.playedBeforeBurstMs += Math.min(now, this.endsAt) - this.startedAt;
    this.endsAt = null;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.hooks.onCompleted(at, reason);
  }
}
