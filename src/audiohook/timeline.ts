/**
 * The client's audio stream timeline (AudioHook spec: audio sizes and timing): position = received samples / 8000 plus the
 * gaps the client reports (`discarded`, and `resumed.discarded` for the audio skipped while paused).
 * The client's own `position` does not advance during a pause; the gap is reported on `resumed`.
 */
export const SAMPLE_RATE = 8000;

export class StreamTimeline {
  private samples = 0;
  private gapMs = 0;

  /** Current stream position in ms (the position of the next sample to arrive). */
  get positionMs(): number {
    return (this.samples * 1000) / SAMPLE_RATE + this.gapMs;
  }

  get receivedSamples(): number {
    return this.samples;
  }

  /** Audio received: advance by its sample count (per channel). */
  addSamples(count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`sample count must be a non-negative integer, got ${count}`);
    this.samples += count;
  }

  /** The client skipped `ms` of audio (discarded, or the gap of a pause). */
  skip(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`skipped duration must be non-negative, got ${ms}`);
    this.gapMs += ms;
  }
}
