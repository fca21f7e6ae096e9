import { describe, expect, it } from 'vitest';
import { ModelBackpressure } from '../../src/realtime/backpressure.js';
import { ManualClock } from '../../src/util/clock.js';

const options = (clock: ManualClock) => ({ clock, highWaterBytes: 1000, lowWaterBytes: 200, stallLimitMs: 10_000 });

describe('ModelBackpressure', () => {
  it('sends up to the high-water mark, drops above it, and resumes only at the low-water mark', () => {
    const bp = new ModelBackpressure(options(new ManualClock()));
    expect(bp.admit(1000, 160)).toBe('send');
    expect(bp.admit(1001, 160)).toBe('drop');
    expect(bp.dropping).toBe(true);
    // Hysteresis: between the marks it keeps dropping.
    expect(bp.admit(500, 160)).toBe('drop');
    expect(bp.droppedBytes).toBe(320);
    expect(bp.admit(200, 160)).toBe('send');
    expect(bp.dropping).toBe(false);
    expect(bp.admit(900, 160)).toBe('send');
    expect(bp.totalDroppedBytes).toBe(320);
  });

  it('reports a stall once after the limit over the mark, and a new episode starts afresh', () => {
    const clock = new ManualClock();
    const bp = new ModelBackpressure(options(clock));
    expect(bp.admit(5000, 160)).toBe('drop');
    clock.advance(9_999);
    expect(bp.admit(5000, 160)).toBe('drop');
    clock.advance(1);
    expect(bp.admit(5000, 160)).toBe('stalled');
    clock.advance(5_000);
    expect(bp.admit(5000, 160)).toBe('drop');
    expect(bp.admit(0, 160)).toBe('send');
    expect(bp.admit(5000, 160)).toBe('drop');
    expect(bp.droppedBytes).toBe(160);
    clock.advance(10_000);
    expect(bp.admit(5000, 160)).toBe('stalled');
  });

  it('a drain below the low mark before the limit prevents the stall', () => {
    const clock = new ManualClock();
    const bp = new ModelBackpressure(options(clock));
    bp.admit(5000, 160);
    clock.advance(9_000);
    expect(bp.admit(100, 160)).toBe('send');
    clock.advance(5_000);
    expect(bp.admit(5000, 160)).toBe('drop');
  });

  it('reset forgets the episode (a new socket)', () => {
    const clock = new ManualClock();
    const bp = new ModelBackpressure(options(clock));
    bp.admit(5000, 160);
    bp.reset();
    expect(bp.dropping).toBe(false);
    expect(bp.admit(500, 160)).toBe('send');
  });

  it('rejects marks in the wrong order', () => {
    expect(() => new ModelBackpressure({ clock: new ManualClock(), highWaterBytes: 100, lowWaterBytes: 100 })).toThrow(RangeError);
  });
});
