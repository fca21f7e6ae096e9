import { describe, expect, it } from 'vitest';
import { OutboundBackpressure } from '../../src/server/backpressure.js';
import { ManualClock } from '../../src/util/clock.js';

const limits = { audioHighWaterBytes: 1000, stallTimeoutMs: 5_000 };

describe('OutboundBackpressure', () => {
  it('accepts audio below the mark and refuses it at or above', () => {
    const bp = new OutboundBackpressure(new ManualClock(), limits);
    expect(bp.observe(0)).toBe('ok');
    expect(bp.observe(999)).toBe('ok');
    expect(bp.congested).toBe(false);
    expect(bp.observe(1000)).toBe('refuse-audio');
    expect(bp.congested).toBe(true);
    expect(bp.episodes).toBe(1);
  });

  it('declares a stall only after staying over the mark for the whole timeout', () => {
    const clock = new ManualClock();
    const bp = new OutboundBackpressure(clock, limits);
    expect(bp.observe(5000)).toBe('refuse-audio');
    clock.advance(4_999);
    expect(bp.observe(5000)).toBe('refuse-audio');
    expect(bp.congestedForMs()).toBe(4_999);
    clock.advance(1);
    expect(bp.observe(1200)).toBe('stalled');
  });

  it('a dip below the mark restarts the stall timer and counts a new episode', () => {
    const clock = new ManualClock();
    const bp = new OutboundBackpressure(clock, limits);
    bp.observe(2000);
    clock.advance(4_000);
    expect(bp.observe(10)).toBe('ok');
    expect(bp.congestedForMs()).toBe(0);
    expect(bp.observe(2000)).toBe('refuse-audio');
    clock.advance(4_000);
    expect(bp.observe(2000)).toBe('refuse-audio');
    expect(bp.episodes).toBe(2);
  });
});
