import { describe, expect, it } from 'vitest';
import { AudioHold } from '../../src/audio/audio-hold.js';

describe('audio hold', () => {
  it('keeps copies in order and gives them up once', () => {
    const hold = new AudioHold(1000);
    const frame = new Uint8Array(800).fill(1);
    hold.add(frame);
    frame.fill(9); // the protocol layer reuses its buffer
    hold.add(new Uint8Array(800).fill(2));
    expect(hold.heldMs).toBe(200);
    expect(hold.take().map((c) => c[0])).toEqual([1, 2]);
    expect(hold.take()).toEqual([]);
    expect(hold.heldMs).toBe(0);
  });

  it('drops the oldest audio beyond the bound and counts it, never the newest chunk', () => {
    const hold = new AudioHold(300);
    for (let i = 1; i <= 5; i++) hold.add(new Uint8Array(800).fill(i)); // 5 × 100 ms
    expect(hold.heldMs).toBe(300);
    expect(hold.droppedMs).toBe(200);
    expect(hold.take().map((c) => c[0])).toEqual([3, 4, 5]);
    const big = new AudioHold(100);
    big.add(new Uint8Array(8000)); // one chunk over the bound is kept: it is all there is
    expect(big.heldMs).toBe(1000);
  });
});
