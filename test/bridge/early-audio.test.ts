/** EarlyCallerAudio: caller audio held while the call start waits for Data Action contracts (no session yet). */
import { describe, expect, it } from 'vitest';
import { EarlyCallerAudio, type CallerAudioTarget } from '../../src/bridge/early-audio.js';

function target() {
  const calls: Array<['audio', number[]] | ['pause']> = [];
  const t: CallerAudioTarget = {
    appendAudio: (ulaw) => calls.push(['audio', [...ulaw]]),
    pauseInput: () => calls.push(['pause']),
  };
  return { t, calls };
}

describe('EarlyCallerAudio', () => {
  it('hands everything held over in order, copies of the frames, and is empty afterwards', () => {
    const early = new EarlyCallerAudio();
    const frame = new Uint8Array([1, 2]);
    early.append(frame);
    frame[0] = 99; // the protocol layer reusing its buffer must not change what was held
    early.append(new Uint8Array([3]));
    expect(early.heldMs).toBeCloseTo(3 / 8);
    const { t, calls } = target();
    early.handOver(t);
    expect(calls).toEqual([['audio', [1, 2]], ['audio', [3]]]);
    expect(early.heldMs).toBe(0);
    const again = target();
    early.handOver(again.t);
    expect(again.calls).toEqual([]);
  });

  it('is bounded: past the limit the oldest audio goes, counted', () => {
    const early = new EarlyCallerAudio(100); // 100 ms = 800 bytes
    for (let i = 0; i < 12; i++) early.append(new Uint8Array(100).fill(i));
    expect(early.heldMs).toBe(100);
    expect(early.droppedMs).toBe(50);
    const { t, calls } = target();
    early.handOver(t);
    expect(calls.map((c) => (c[0] === 'audio' ? c[1][0] : -1))).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('a Genesys pause drops what is held, holds nothing until the resume, and passes on to the session', () => {
    const early = new EarlyCallerAudio();
    early.append(new Uint8Array([1]));
    early.pause();
    early.append(new Uint8Array([2]));
    expect(early.heldMs).toBe(0);
    const paused = target();
    early.handOver(paused.t);
    expect(paused.calls).toEqual([['pause']]);
    early.resume();
    early.append(new Uint8Array([3]));
    const resumed = target();
    early.handOver(resumed.t);
    expect(resumed.calls).toEqual([['audio', [3]]]);
  });
});
