/**
 * How many client `ping`s get a `pong` (pure; time from the caller). Genesys pings about every 5 s
 * (AUDIOHOOK.md §5.7, [U] for the exact period); a peer pinging far faster is either broken or trying to
 * make us write answers it does not read. A token bucket: `burst` pings at once, then one per
 * `refillMs`; a ping without a token is not answered (the session stays up: a real Genesys never gets
 * near the limit, and an unanswered ping costs it nothing worse than one missed round trip).
 */
export interface PingBudgetLimits {
  burst: number;
  refillMs: number;
}

/** 20 at once, then 10 a second: 50× Genesys's rate (the fuzz victim and simulator ping far faster than Genesys). */
export const PING_BUDGET_DEFAULTS: PingBudgetLimits = { burst: 20, refillMs: 100 };

export class PingBudget {
  private tokens: number;
  private updatedAt: number;
  /** Pings refused over the session. */
  refused = 0;

  constructor(
    now: number,
    private readonly limits: PingBudgetLimits = PING_BUDGET_DEFAULTS,
  ) {
    this.tokens = limits.burst;
    this.updatedAt = now;
  }

  /** True when this ping is answered. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.limits.burst, this.tokens + elapsed / this.limits.refillMs);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.refused++;
    return false;
  }
}
