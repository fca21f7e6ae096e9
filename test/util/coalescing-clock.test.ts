import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { CoalescingClock, coalescedClock } from '../../src/util/coalescing-clock.js';

describe('coalescing clock (shared pacing grid)', () => {
  it('fires timers due in the same grid slot together, at the slot end: never early, at most one slot late', () => {
    const base = new ManualClock(1000);
    const clock = new CoalescingClock(base, 10);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(['a', base.now()]), 1); // due 1001 → slot end 1010
    clock.setTimeout(() => fired.push(['b', base.now()]), 9); // due 1009 → 1010
    clock.setTimeout(() => fired.push(['c', base.now()]), 10); // due 1010 → 1010
    clock.setTimeout(() => fired.push(['d', base.now()]), 11); // due 1011 → 1020
    expect(base.pending).toBe(2); // one underlying timer per occupied slot, not one per timer
    base.advance(9);
    expect(fired).toEqual([]);
    base.advance(1);
    expect(fired).toEqual([['a', 1010], ['b', 1010], ['c', 1010]]);
    base.advance(10);
    expect(fired.at(-1)).toEqual(['d', 1020]);
    expect(clock.pendingSlots).toBe(0);
  });

  it('clears one timer without disturbing its slot, and the slot timer with the last one', () => {
    const base = new ManualClock(0);
    const clock = new CoalescingClock(base, 10);
    const fired: string[] = [];
    const a = clock.setTimeout(() => fired.push('a'), 5);
    const b = clock.setTimeout(() => fired.push('b'), 6);
    clock.clearTimeout(a);
    clock.clearTimeout(a); // twice is harmless
    base.advance(10);
    expect(fired).toEqual(['b']);
    const c = clock.setTimeout(() => fired.push('c'), 5);
    clock.clearTimeout(c);
    expect(base.pending).toBe(0);
    expect(clock.pendingSlots).toBe(0);
    clock.clearTimeout(b); // already fired: harmless
    clock.clearTimeout(undefined);
  });

  it('a timer set while its slot fires runs in a later wake-up, and a throwing callback spares the others', () => {
    const manual = new ManualClock(0);
    let underlying = 0;
    const base = { now: () => manual.now(), setTimeout: (cb: () => void, ms: number) => (underlying++, manual.setTimeout(cb, ms)), clearTimeout: manual.clearTimeout.bind(manual) };
    const thrown: unknown[] = [];
    const clock = new CoalescingClock(base, 10, (err) => thrown.push(err));
    const fired: string[] = [];
    {
      clock.setTimeout(() => {
        fired.push('first');
        clock.setTimeout(() => fired.push('re-armed'), 0);
        throw new Error('boom');
      }, 3);
      clock.setTimeout(() => fired.push('second'), 4);
      manual.advance(10);
      // The re-armed timer got an underlying timer of its own (a new wake-up), not a place in the firing slot.
      expect(fired).toEqual(['first', 'second', 're-armed']);
      expect(underlying).toBe(2);
      expect(thrown.map((e) => (e as Error).message)).toEqual(['boom']);
    }
  });

  it('is one per base clock, so every call shares the grid', () => {
    const base = new ManualClock(0);
    expect(coalescedClock(base)).toBe(coalescedClock(base));
    expect(coalescedClock(new ManualClock(0))).not.toBe(coalescedClock(base));
  });
});
