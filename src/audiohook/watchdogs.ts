/**
 * The session's three deadlines on the peer: `open` soon after connecting, something received at least
 * every idle timeout, and `close` soon after our `disconnect`. A missed deadline means the peer is gone or
 * is not a Genesys client: `expire` abandons the session (closes the socket without a close transaction).
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import type { SessionState } from './handler.js';

export interface WatchdogOptions {
  clock: Clock;
  idleTimeoutMs: number;
  openTimeoutMs: number;
  disconnectCloseTimeoutMs: number;
  state: () => SessionState;
  /** When the client last sent anything (text or binary). */
  lastInboundAt: () => number;
  /** A deadline passed: `what` names the timer, `reason` is for the log. */
  expire: (what: string, reason: string) => void;
}

export class Watchdogs {
  private idleTimer: TimerHandle | undefined;
  private openTimer: TimerHandle | undefined;
  private closeWaitTimer: TimerHandle | undefined;

  constructor(private readonly o: WatchdogOptions) {}

  /** At connection: waits for `open` and for traffic. */
  start(): void {
    this.armIdle(this.o.idleTimeoutMs);
    this.openTimer = this.o.clock.setTimeout(
      () => this.o.expire('open timeout', `no open within ${this.o.openTimeoutMs} ms`),
      this.o.openTimeoutMs,
    );
  }

  /** The session left `preparing`: `open` arrived. */
  opened(): void {
    this.o.clock.clearTimeout(this.openTimer);
    this.openTimer = undefined;
  }

  /** Our `disconnect` went out: the client's `close` is due. */
  disconnectSent(): void {
    this.closeWaitTimer = this.o.clock.setTimeout(
      () => this.o.expire('close wait', `no close within ${this.o.disconnectCloseTimeoutMs} ms of disconnect`),
      this.o.disconnectCloseTimeoutMs,
    );
  }

  stop(): void {
    this.o.clock.clearTimeout(this.idleTimer);
    this.o.clock.clearTimeout(this.openTimer);
    this.o.clock.clearTimeout(this.closeWaitTimer);
    this.idleTimer = this.openTimer = this.closeWaitTimer = undefined;
  }

  /** Re-armed lazily (not per message) so a 5-frames-per-second stream does not churn timers. */
  private armIdle(delayMs: number): void {
    this.idleTimer = this.o.clock.setTimeout(() => this.checkIdle(), delayMs);
  }

  private checkIdle(): void {
    this.idleTimer = undefined;
    const state = this.o.state();
    if (state === 'closing' || state === 'closed') return;
    const idleMs = this.o.clock.now() - this.o.lastInboundAt();
    if (idleMs >= this.o.idleTimeoutMs) this.o.expire('idle watchdog', `nothing received from the client for ${idleMs} ms`);
    else this.armIdle(this.o.idleTimeoutMs - idleMs);
  }
}
