/**
 * The call's setup, deferred past `opened`: run on the loop's next turn (default `setImmediate`), so a burst
 * of `open`s read together is answered before any call is built; or at once, when anything else reaches the
 * session first (a message, the socket's close, a timeout, shutdown), so the call sees every event after
 * `opened` in order, as if it had been built with it. Runs at most once.
 */
export class DeferredCallSetup {
  private pending: (() => void) | null = null;

  constructor(
    private readonly defer: (run: () => void) => void,
    /** Runs the setup, catching what it throws (the session's guard). */
    private readonly guard: (run: () => void) => void,
  ) {}

  schedule(setUp: () => void): void {
    this.pending = setUp;
    this.defer(() => this.runNow());
  }

  /** Builds the call now if its setup is still waiting. */
  runNow(): void {
    const setUp = this.pending;
    if (!setUp) return;
    this.pending = null;
    this.guard(setUp);
  }
}
