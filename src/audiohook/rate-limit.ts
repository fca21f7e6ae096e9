/**
 * Outbound hold after a Genesys `error` 429 (AudioHook spec: `error` message, code 429): for `retryAfter` we send no audio and
 * hold back non-essential messages (`event`), then resume on our own. Control messages (pong, closed,
 * disconnect, opened, updated, pause, resume) are never held: they are what keeps the session alive.
 *
 * Pure bookkeeping (the session owns the timer): the hold's end and a bounded FIFO of held items.
 * Choices ([U], safe with a real Genesys):
 * - no `retryAfter` → hold DEFAULT_RATE_LIMIT_HOLD_MS (1 s): long enough to ease the pressure, short
 *   enough not to be noticed by the caller;
 * - a `retryAfter` above MAX_RATE_LIMIT_HOLD_MS (60 s) is clamped: a bogus value must not silence the
 *   bot for the rest of the call;
 * - repeated 429s extend the hold (the later end wins, never shortened);
 * - at most MAX_HELD_EVENTS items are held; on overflow the oldest is dropped (and counted), because
 *   the newest events describe the current state of the conversation.
 */
export const DEFAULT_RATE_LIMIT_HOLD_MS = 1_000;
export const MAX_RATE_LIMIT_HOLD_MS = 60_000;
export const MAX_HELD_EVENTS = 100;

export class OutboundHold<T> {
  private end = Number.NEGATIVE_INFINITY;
  private readonly queue: T[] = [];
  private droppedCount = 0;

  constructor(private readonly maxQueued: number = MAX_HELD_EVENTS) {
    if (!Number.isInteger(maxQueued) || maxQueued < 1) throw new RangeError(`maxQueued must be a positive integer, got ${maxQueued}`);
  }

  /** Holds until at least `now + durationMs` (clamped to 0…MAX_RATE_LIMIT_HOLD_MS); returns the hold's end. */
  extend(now: number, durationMs: number | undefined): number {
    const requested = durationMs === undefined || !Number.isFinite(durationMs) ? DEFAULT_RATE_LIMIT_HOLD_MS : durationMs;
    const ms = Math.min(MAX_RATE_LIMIT_HOLD_MS, Math.max(0, requested));
    this.end = Math.max(this.end, now + ms);
    return this.end;
  }

  isHeld(now: number): boolean {
    return now < this.end;
  }

  /** The end of the hold in force at `now` (session-clock ms), or 0 when none is. */
  heldUntil(now: number): number {
    return this.isHeld(now) ? this.end : 0;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Total items dropped because the queue was full. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Queues an item; returns the oldest item when it had to be dropped to make room. */
  enqueue(item: T): { dropped: T } | null {
    let dropped: { dropped: T } | null = null;
    if (this.queue.length >= this.maxQueued) {
      dropped = { dropped: this.queue.shift() as T };
      this.droppedCount++;
    }
    this.queue.push(item);
    return dropped;
  }

  /** Removes and returns every held item, oldest first. */
  takeAll(): T[] {
    return this.queue.splice(0, this.queue.length);
  }
}
