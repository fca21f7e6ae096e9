/**
 * When has the bot gone quiet? The replay hangs up once the recording is over and, since then, the bot has
 * neither sent audio nor been audible (per the simulator's playout model) for a while. Quiet is measured
 * from the LATEST of: the end of the recording, the last bot audio frame, the end of the last playback —
 * so a bot that went silent long before the caller finished (a flushed greeting, a pause for the caller's
 * turn) still gets the full idle time to answer the caller's last words.
 */
import type { Clock } from '../util/clock.js';

export class BotQuietTracker {
  private recordingEndedAt: number | null = null;
  private lastActivityAt: number;
  private playing = false;

  constructor(private readonly clock: Clock) {
    this.lastActivityAt = clock.now();
  }

  /** The caller recording has been sent completely; quiet can start counting. */
  recordingEnded(): void {
    this.recordingEndedAt = this.clock.now();
    this.touch();
  }

  /** A bot audio frame arrived. */
  botAudio(): void {
    this.touch();
  }

  /** The modelled playout started (true) or drained / was flushed (false). */
  playback(playing: boolean): void {
    this.playing = playing;
    this.touch();
  }

  /** Whether bot audio is playing out now (per the playout model). */
  get botSpeaking(): boolean {
    return this.playing;
  }

  /** Milliseconds the bot has been quiet since the recording ended; 0 while it plays or before the end. */
  quietMs(): number {
    if (this.recordingEndedAt === null || this.playing) return 0;
    return Math.max(0, this.clock.now() - this.lastActivityAt);
  }

  private touch(): void {
    this.lastActivityAt = Math.max(this.lastActivityAt, this.clock.now());
  }
}
