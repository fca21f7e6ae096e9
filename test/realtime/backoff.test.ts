import { describe, expect, it } from 'vitest';
import {
  isFinalErrorCode,
  isRetryableCloseCode,
  isRetryableConnectFailure,
  isRetryableHttpStatus,
  parseRetryAfterMs,
  RetryBudget,
} from '../../src/realtime/backoff.js';
import { ManualClock } from '../../src/util/clock.js';

describe('failure classification', () => {
  it('retries handshake timeouts, rate limits and server errors, not auth or missing models', () => {
    for (const status of [408, 429, 500, 502, 503, 504]) expect(isRetryableHttpStatus(status), String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 422]) expect(isRetryableHttpStatus(status), String(status)).toBe(false);
  });

  it('retries transient close codes only', () => {
    for (const code of [1001, 1005, 1006, 1011, 1012, 1013]) expect(isRetryableCloseCode(code), String(code)).toBe(true);
    for (const code of [1000, 1002, 1008, 4000, 4001]) expect(isRetryableCloseCode(code), String(code)).toBe(false);
  });

  it('treats configuration error codes as final; session_expired is renewable', () => {
    for (const code of ['invalid_api_key', 'model_not_found', 'insufficient_quota', 'beta_api_shape_disabled']) {
      expect(isFinalErrorCode(code)).toBe(true);
    }
    expect(isFinalErrorCode('session_expired')).toBe(false);
    expect(isFinalErrorCode('server_error')).toBe(false);
    expect(isFinalErrorCode(undefined)).toBe(false);
  });

  it('classifies connect failures by their handshake details; none means a configuration error', () => {
    expect(isRetryableConnectFailure({ httpStatus: 429 })).toBe(true);
    expect(isRetryableConnectFailure({ httpStatus: 401 })).toBe(false);
    expect(isRetryableConnectFailure({ closeCode: 1006 })).toBe(true);
    expect(isRetryableConnectFailure({ closeCode: 4000 })).toBe(false);
    expect(isRetryableConnectFailure({ transport: true })).toBe(true);
    expect(isRetryableConnectFailure(undefined)).toBe(false);
  });
});

describe('RetryBudget', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 6, budgetMs: 10_000 };

  it('grows the jitter cap exponentially up to the maximum (full jitter: random × cap)', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget(policy, clock, () => 0.999);
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      budget.attemptStarted();
      delays.push(budget.nextDelayMs()!);
    }
    expect(delays).toEqual([99, 199, 399, 799, 999]);
    const low = new RetryBudget(policy, clock, () => 0);
    low.attemptStarted();
    expect(low.nextDelayMs()).toBe(0);
  });

  it('stops after maxAttempts', () => {
    const budget = new RetryBudget({ ...policy, maxAttempts: 2 }, new ManualClock(), () => 0.5);
    budget.attemptStarted();
    expect(budget.nextDelayMs()).toBe(50);
    budget.attemptStarted();
    expect(budget.nextDelayMs()).toBeUndefined();
    expect(budget.attemptsMade).toBe(2);
  });

  it('stops when the next attempt would start after the time budget', () => {
    const clock = new ManualClock(5000);
    const budget = new RetryBudget({ ...policy, budgetMs: 1000 }, clock, () => 0.5);
    budget.attemptStarted();
    clock.advance(900);
    expect(budget.nextDelayMs()).toBe(50);
    clock.advance(60);
    budget.attemptStarted();
    // 960 ms spent; the next delay (100 ms) would end past 1000 ms.
    expect(budget.nextDelayMs()).toBeUndefined();
  });
});

describe('parseRetryAfterMs', () => {
  it('reads seconds and milliseconds from rate-limit messages, rounding up', () => {
    expect(parseRetryAfterMs('Rate limit reached for gpt-realtime … Please try again in 6.2s.')).toBe(6200);
    expect(parseRetryAfterMs('Please try again in 850ms.')).toBe(850);
    expect(parseRetryAfterMs('please try again in 2 seconds')).toBe(2000);
    expect(parseRetryAfterMs('Please try again in 0.0004s')).toBe(1);
  });

  it('reads the minute and hour forms OpenAI writes for longer waits', () => {
    expect(parseRetryAfterMs('Rate limit reached for gpt-realtime on tokens per min (TPM): Limit 40000. Please try again in 1m26.4s. Visit …')).toBe(86_400);
    expect(parseRetryAfterMs('Please try again in 2m0s.')).toBe(120_000);
    expect(parseRetryAfterMs('Please try again in 1h2m3s.')).toBe(3_723_000);
    expect(parseRetryAfterMs('please try again in 3 minutes')).toBe(180_000);
    // "ms" is never read as minutes followed by seconds.
    expect(parseRetryAfterMs('Please try again in 850ms.')).toBe(850);
  });

  it('is undefined when no wait is named', () => {
    expect(parseRetryAfterMs('Rate limit reached.')).toBeUndefined();
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
    expect(parseRetryAfterMs('try again in a moment')).toBeUndefined();
  });
});
