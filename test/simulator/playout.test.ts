import { describe, expect, it } from 'vitest';
import { PlayoutModel } from '../../src/simulator/playout.js';
import { ManualClock, type Clock } from '../../src/util/clock.js';

function setup() {
  const clock = new ManualClock();
  const log: string[] = [];
  const model = new PlayoutModel(clock, {
    onStarted: (at) => log.push(`started@${at}`),
    onCompleted: (at, reason) => log.push(`${reason}@${at}`),
  });
  return { clock, log, model };
}

describe('PlayoutModel', () => {
  it('plays bursts back to back and starts a new burst after silence', () => {
    const { clock, log, model } = setup();
    model.push(200);
    clock.advance(50);
    model.push(200);
    expect(model.bufferedMs).toBe(350);
    clock.advance(350);
    expect(log).toEqual(['started@0', 'drained@400']);
    clock.advance(100);
    model.push(100);
    clock.advance(100);
    expect(log).toEqual(['started@0', 'drained@400', 'started@500', 'drained@600']);
    expect(model.playedMs).toBe(500);
  });

  it('counts only what was played before a flush', () => {
    const { clock, log, model } = setup();
    model.push(1000);
    clock.advance(250);
    expect(model.flush()).toBe(true);
    expect(model.flush()).toBe(false);
    clock.advance(1000);
    expect(log).toEqual(['started@0', 'flushed@250']);
    expect(model.playedMs).toBe(250);
  });

  it('emits nothing after stop', () => {
    const { clock, log, model } = setup();
    model.push(100);
    model.stop();
    model.push(100);
    clock.advance(500);
    expect(log).toEqual(['started@0']);
    expect(clock.pending).toBe(0);
  });

  it('a drain timer that fires late: audio arriving after the buffer ran dry starts a new burst (never a negative timer)', () => {
    // A clock whose timers only fire when the test says so, as on a busy loop.
    let now = 0;
    const delays: number[] = [];
    const clock: Clock = { now: () => now, setTimeout: (_cb, ms) => (delays.push(ms), {}), clearTimeout: () => {} };
    const log: string[] = [];
    const model = new PlayoutModel(clock, { onStarted: (at) => log.push(`started@${at}`), onCompleted: (at, reason) => log.push(`${reason}@${at}`) });
    model.push(200);
    now = 400;
    model.push(100);
    expect(log).toEqual(['started@0', 'drained@200', 'started@400']);
    expect(delays).toEqual([200, 100]);
    expect(model.bufferedMs).toBe(100);
    expect(model.playedMs).toBe(200);
  });
});
