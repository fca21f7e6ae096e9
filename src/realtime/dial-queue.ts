/**
 * Model dials take turns. Starting a TLS handshake costs the event loop about a millisecond of CPU (key
 * share, certificate checks, the SDK's client objects); in a burst of `open`s a worker that started every
 * call's dial at once answered the later `open`s only after all those handshakes (500 at once: `opened`
 * p99 over 500 ms, BENCHMARKS.md). Here at most `perTurn` dials start per event-loop turn, and the loop
 * polls for I/O between turns, so every `open` already received is answered first and a new one waits for
 * at most one turn. The calls' model sessions start a little later instead; their caller audio is held
 * meanwhile (caller-input.ts), and a dial never waits for anything but other dials.
 *
 * FIFO, never drops; `defer` is injectable so the policy is tested without the event loop.
 */
export const DIALS_PER_TURN = 4;

export class DialQueue {
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  constructor(
    private readonly perTurn: number = DIALS_PER_TURN,
    /** Runs `fn` on a later turn of the loop, after pending I/O (setImmediate: the check phase follows poll). */
    private readonly defer: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {
    if (!Number.isInteger(perTurn) || perTurn < 1) throw new RangeError(`perTurn must be a positive integer, got ${perTurn}`);
  }

  /** Resolves when this dial may start. */
  turn(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  /** Dials waiting for a turn. */
  get length(): number {
    return this.waiting.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(() => this.release());
  }

  private release(): void {
    this.scheduled = false;
    for (const resolve of this.waiting.splice(0, this.perTurn)) resolve();
    if (this.waiting.length > 0) this.schedule();
  }
}

/** The process's queue: every call's model dial in this process takes its turn here. */
export const modelDials = new DialQueue();
