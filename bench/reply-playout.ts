/**
 * A reply as the caller hears it: Genesys plays the bot's audio as it arrives, one chunk after another.
 * When a chunk of the same reply arrives after everything before it has played, the playout ran dry and the
 * caller hears a gap: a bot underrun. A gap under UNDERRUN_TOLERANCE_MS (one 20 ms telephony packet) is
 * not counted: Genesys' jitter buffer is not documented, so we assume it absorbs at least that much
 * (unverified) and count only gaps a caller could hear.
 */
export const UNDERRUN_TOLERANCE_MS = 20;

export class ReplyPlayout {
  private playEnd: number | undefined;

  /**
   * `ms` of audio arrived at `now` (ms, any monotonic origin); `newReply` when it starts a reply. Returns the
   * gap heard just before it (ms), or 0 when the playout had not run dry (or only within the tolerance).
   */
  arrive(now: number, ms: number, newReply: boolean): number {
    const dry = !newReply && this.playEnd !== undefined ? now - this.playEnd : 0;
    this.playEnd = (newReply || this.playEnd === undefined ? now : Math.max(this.playEnd, now)) + ms;
    return dry >= UNDERRUN_TOLERANCE_MS ? dry : 0;
  }

  /** A barge-in: what was queued is dropped. */
  flush(): void {
    this.playEnd = undefined;
  }
}
