/**
 * The retry arithmetic every retrier shares (model handshake, webhook, spool): which HTTP statuses are
 * worth another try, and the one capped exponential formula. Jitter policies differ per caller and stay
 * with them; the doubling does not.
 */

/** Statuses worth retrying: request timeout, rate limit and server-side failures; other 4xx are final. */
export function isRetryableHttpStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * The cap for retry number `retry` (1-based: the wait after the first failure): initialMs · 2^(retry−1),
 * never above maxMs. Exponent bounded so huge counts cannot overflow.
 */
export function exponentialDelayMs(retry: number, initialMs: number, maxMs: number): number {
  const exponent = Math.min(Math.max(0, retry - 1), 30);
  return Math.min(maxMs, initialMs * 2 ** exponent);
}
