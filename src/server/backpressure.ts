/**
 * Outbound back-pressure for one Genesys socket (pure; time from the injected Clock).
 *
 * The pacer sends caller-bound audio in real time, so in health the socket's send queue holds a few
 * kilobytes. A queue past the high-water mark means the peer (or the network) is not reading: new audio
 * is refused (the pacer keeps it and retries), control messages still go out. A queue that stays past
 * the mark for the stall timeout means the peer is gone for practical purposes: the connection is ended,
 * so one stuck peer can hold at most about the high-water mark (plus a few control messages) of memory.
 */
import type { Clock } from '../util/clock.js';

export interface BackpressureLimits {
  /** Queued bytes at which outbound audio is refused. */
  audioHighWaterBytes: number;
  /** Continuous time over the mark after which the connection is ended. */
  stallTimeoutMs: number;
}

/**
 * 256 KiB is 32 s of PCMU mono (8 s of L16 stereo) beyond what the pacer keeps in flight: far past any
 * network hiccup a live call survives, and small enough that MAX_SESSIONS stuck peers stay bounded.
 */
export const BACKPRESSURE_DEFAULTS: BackpressureLimits = {
  audioHighWaterBytes: 256 * 1024,
  stallTimeoutMs: 15_000,
};

export type BackpressureVerdict = 'ok' | 'refuse-audio' | 'stalled';

export class OutboundBackpressure {
  private overSince: number | null = null;
  /** How many times the queue crossed the mark (each crossing is one episode). */
  episodes = 0;

  constructor(
    private readonly clock: Clock,
    private readonly limits: BackpressureLimits = BACKPRESSURE_DEFAULTS,
  ) {}

  /** Whether the queue is over the mark right now (as of the last observation). */
  get congested(): boolean {
    return this.overSince !== null;
  }

  /** Judges the current send-queue size; call on every audio send and periodically. */
  observe(bufferedAmount: number): BackpressureVerdict {
    if (bufferedAmount < this.limits.audioHighWaterBytes) {
      this.overSince = null;
      return 'ok';
    }
    const now = this.clock.now();
    if (this.overSince === null) {
      this.overSince = now;
      this.episodes++;
    }
    return now - this.overSince >= this.limits.stallTimeoutMs ? 'stalled' : 'refuse-audio';
  }

  /** Milliseconds the queue has been over the mark (0 when it is not). */
  congestedForMs(): number {
    return this.overSince === null ? 0 : this.clock.now() - this.overSince;
  }
}
