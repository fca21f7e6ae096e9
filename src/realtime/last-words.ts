/**
 * The caller's last words at the end of a call: the input buffer is committed while they are mid-utterance
 * (so the words reach the conversation and the summary), and the ending waits, bounded, for that item's
 * transcript. Tracks one commit: its item id arrives with input_audio_buffer.committed, then the
 * transcription completes or fails (or is off).
 */
import type { Clock } from '../util/clock.js';
import { deferred, within, type Deferred } from '../util/timers.js';

export class LastWords {
  private pending: { itemId: string | undefined; done: Deferred<void> } | undefined;

  /** A commit was just sent: resolves once its transcript is in (or failed, or off), or after `waitMs`. */
  begin(clock: Clock, waitMs: number): Promise<void> {
    const done = deferred<void>();
    this.pending = { itemId: undefined, done };
    return within(clock, done.promise, waitMs).then(() => {
      this.pending = undefined;
    });
  }

  /** input_audio_buffer.committed: the first one after begin() is ours. */
  committed(itemId: string, transcriptionOff: boolean): void {
    if (!this.pending || this.pending.itemId !== undefined) return;
    this.pending.itemId = itemId;
    if (transcriptionOff) this.pending.done.resolve();
  }

  /** The transcription of `itemId` completed or failed. */
  transcribed(itemId: string): void {
    if (this.pending?.itemId === itemId) this.pending.done.resolve();
  }

  /** The session is gone: nothing more will come. */
  abandon(): void {
    this.pending?.done.resolve();
  }
}
