/**
 * Outbound back-pressure for one Genesys socket (pure; time from the injected Clock).
 *
 * The pacer sends caller-bound audio in real time, so in health the socket's send queue holds a few
 * kilobytes. A queue past the high-water mark means the peer (or the network) is not reading: new audio
 * is refused (the pacer keeps it and retries), control messages still go out. A queue that stays past
 * the mark for the stall timeout means the peer is gone for practical purposes: the connection is ended,
 * so one stuck peer can hold at most about the high-water mark (plus a few control messages) of memory.
 *
 * Every message counts, not only audio: a peer that sends (pings, say) but does not read would otherwise
 * make us queue its answers without limit. Over `pauseReadingBytes` we stop reading from the peer (it
 * gets nothing more to answer until it reads), under `resumeReadingBytes` we read again, and at
 * `hardCapBytes` the connection is ended at once, whatever the stall timer says.
 */
import type { Clock } from '../util/clock.js';

export interface BackpressureLimits {
  /** Queued bytes at which outbound audio is refused. */
  audioHighWaterBytes: number;
  /** Continuous time over the mark after which the connection is ended. */
  stallTimeoutMs: number;
  /** Queued bytes at which we stop reading from the peer. Default: audioHighWaterBytes. */
  pauseReadingBytes?: number;
  /** Queued bytes under which a paused peer is read again. Default: a quarter of pauseReadingBytes. */
  resumeReadingBytes?: number;
  /** Queued bytes at which the connection is ended at once. Default: twice audioHighWaterBytes. */
  hardCapBytes?: number;
}

export type ReadingVerdict = 'keep' | 'pause' | 'resume' | 'terminate';

/** What to do with reading from the peer, given its send queue and whether reading is paused (pure). */
export function readingVerdict(bufferedAmount: number, paused: boolean, limits: BackpressureLimits): ReadingVerdict {
  const hardCap = limits.hardCapBytes ?? limits.audioHighWaterBytes * 2;
  const pauseAt = limits.pauseReadingBytes ?? limits.audioHighWaterBytes;
  const resumeBelow = limits.resumeReadingBytes ?? Math.floor(pauseAt / 4);
  if (bufferedAmount >= hardCap) return 'terminate';
  if (!paused && bufferedAmount >= pauseAt) return 'pause';
  if (paused && bufferedAmount < resumeBelow) return 'resume';
  return 'keep';
}

/**
 * 256 KiB is 32 s of PCMU mono (8 s of L16 stereo) beyond what the pacer keeps in flight: far past any
 * network hiccup a live call survives, and small enough that MAX_SESSIONS stuck peers stay bounded.
 */
export const BACKPRESSURE_DEFAULTS: BackpressureLimits = {
  audioHighWaterBytes: 256 * 1024,
  stallTimeoutMs: 15_000,
  pauseReadingBytes: 256 * 1024,
  resumeReadingBytes: 64 * 1024,
  // Above the audio mark only control messages are queued (each a few KB at most): reaching this means
  // the peer keeps provoking answers it does not read.
  hardCapBytes: 512 * 1024,
};

export type BackpressureVerdict = 'ok' | 'refuse-audio' | 'stalled';

export class OutboundBackpressure {
  private overSince: number | null = null;
  /** How many times the queue crossed the mark (each crossing is one episode). */
  episodes = 0;

  constructor(
    private readonly clock: Clock,
    readonly limits: BackpressureLimits = BACKPRESSURE_DEFAULTS,
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
