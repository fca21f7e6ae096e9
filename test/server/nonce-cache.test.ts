import { describe, expect, it } from 'vitest';
import { NonceCache } from '../../src/server/nonce-cache.js';
import { ManualClock } from '../../src/util/clock.js';

describe('NonceCache', () => {
  it('rejects a nonce seen within the TTL and forgets it afterwards', () => {
    const clock = new ManualClock();
    const cache = new NonceCache({ clock, ttlMs: 15_000 });
    expect(cache.remember('a')).toBe(true);
    clock.advance(14_999);
    expect(cache.remember('a')).toBe(false);
    clock.advance(1);
    expect(cache.remember('a')).toBe(true);
  });

  it('expires old entries so its size follows the recent rate, not the total', () => {
    const clock = new ManualClock();
    const cache = new NonceCache({ clock, ttlMs: 1_000 });
    for (let i = 0; i < 100; i++) {
      cache.remember(`n${i}`);
      clock.advance(100);
    }
    expect(cache.size).toBeLessThanOrEqual(11);
  });

  it('never holds more than its capacity, evicting the oldest', () => {
    const clock = new ManualClock();
    const cache = new NonceCache({ clock, ttlMs: 60_000, capacity: 3 });
    for (const n of ['a', 'b', 'c', 'd']) expect(cache.remember(n)).toBe(true);
    expect(cache.size).toBe(3);
    expect(cache.remember('d')).toBe(false);
    expect(cache.remember('a')).toBe(true); // evicted, so no longer known
  });
});
