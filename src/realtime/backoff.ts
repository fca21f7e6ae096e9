/**
 * Retry policy for the model connection (pure; time and randomness injected): exponential backoff with
 * full jitter inside a bounded budget (attempts and elapsed ms), and the classification of failures into
 * retryable (transient: worth a new session) and final (configuration: retrying cannot help).
 */
import { exponentialDelayMs, isRetryableHttpStatus } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';

export { isRetryableHttpStatus };

export interface BackoffPolicy {
  /** Cap of the first delay; each retry doubles the cap up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  /** No attempt starts later than this many ms after the first one. */
  budgetMs: number;
}

/**
 * Close codes after which a new session may succeed: going away (1001, also the 60-minute expiry),
 * no status / abnormal drop (1005, 1006), server error (1011), restart (1012), try again later (1013).
 * Everything else — 1000 from the peer, 1008 policy, 4000 beta shape, other 4xxx — is final.
 */
export function isRetryableCloseCode(code: number): boolean {
  return code === 1001 || code === 1005 || code === 1006 || code === 1011 || code === 1012 || code === 1013;
}

/** Server error codes that end a session for good (OPENAI_REALTIME.md §9); session_expired is renewable. */
const FINAL_ERROR_CODES = new Set([
  'invalid_api_key',
  'model_not_found',
  'insufficient_quota',
  'account_deactivated',
  'beta_api_shape_disabled',
]);

export function isFinalErrorCode(code: string | undefined): boolean {
  return code !== undefined && FINAL_ERROR_CODES.has(code);
}

/** The retry state of one operation (one handshake series or one call's reconnects). */
export class RetryBudget {
  private attempts = 0;
  private startedAt: number | undefined;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly clock: Clock,
    /** [0, 1); injected so tests are deterministic. */
    private readonly random: () => number = Math.random,
  ) {}

  /** Call before each attempt. */
  attemptStarted(): void {
    this.startedAt ??= this.clock.now();
    this.attempts += 1;
  }

  get attemptsMade(): number {
    return this.attempts;
  }

  /**
   * The delay before the next attempt, or undefined when the budget is spent (attempts used up, or the
   * next attempt would start after the budget). Full jitter: uniform in [0, min(max, initial·2^n)].
   */
  nextDelayMs(): number | undefined {
    if (this.attempts >= this.policy.maxAttempts) return undefined;
    const cap = exponentialDelayMs(this.attempts, this.policy.initialDelayMs, this.policy.maxDelayMs);
    const delay = Math.floor(this.random() * cap);
    const elapsed = this.startedAt === undefined ? 0 : this.clock.now() - this.startedAt;
    if (elapsed + delay > this.policy.budgetMs) return undefined;
    return delay;
  }
}

/**
 * The wait the server asks for in a rate-limit message, in ms, rounded up; undefined when it names none.
 * OpenAI writes Go-style durations: "try again in 6.2s", "in 1m26.4s", "in 850ms", "in 1h2m3s"; older
 * messages say "in 20 seconds".
 */
export function parseRetryAfterMs(message: string | undefined): number | undefined {
  if (!message) return undefined;
  const match = /try again in\s+((?:\d+(?:\.\d+)?\s*(?:milliseconds?|minutes?|seconds?|ms|h|m|s)(?![a-z])\s*)+)/i.exec(message);
  if (!match) return undefined;
  const unitMs: Record<string, number> = { ms: 1, millisecond: 1, milliseconds: 1, h: 3_600_000, m: 60_000, minute: 60_000, minutes: 60_000, s: 1000, second: 1000, seconds: 1000 };
  let total = 0;
  for (const part of match[1]!.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/gi)) {
    const factor = unitMs[part[2]!.toLowerCase()];
    if (factor === undefined) return undefined;
    total += Number(part[1]) * factor;
  }
  return Number.isFinite(total) ? Math.ceil(total) : undefined;
}

/**
 * Whether a failed connection attempt is worth retrying. Errors without handshake details were raised
 * before any socket existed (missing key, bad settings): final.
 */
export function isRetryableConnectFailure(failure: { httpStatus: number } | { closeCode: number } | { transport: true } | undefined): boolean {
  if (!failure) return false;
  if ('httpStatus' in failure) return isRetryableHttpStatus(failure.httpStatus);
  if ('closeCode' in failure) return isRetryableCloseCode(failure.closeCode);
  return true;
}
