import { describe, expect, it } from 'vitest';
import { ULAW_DECODE } from '../../src/audio/codec.js';
import { CallRecording } from '../../src/simulator/call-recording.js';

/** `ms` of one μ-law byte value (8 samples per ms). */
const tone = (ms: number, byte = 0x10) => new Uint8Array(ms * 8).fill(byte);
const channel = (rendered: Int16Array, c: 0 | 1) => rendered.filter((_, i) => i % 2 === c);
/** [startMs, endMs) of the non-zero runs in one channel. */
function runs(samples: Int16Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < samples.length; i++) {
    if (samples[i] === 0) continue;
    const last = out.at(-1);
    if (last && last[1] === i / 8) last[1] = (i + 1) / 8;
    else out.push([i / 8, (i + 1) / 8]);
  }
  return out;
}

describe('CallRecording: the call as heard, on its timeline', () => {
  it('puts the caller left and the bot right, each where it happened, silence between', () => {
    const rec = new CallRecording();
    rec.start(1000);
    rec.caller(1000, tone(200));
    rec.caller(1200, tone(200));
    rec.bot(1500, tone(300, 0x20));
    const out = rec.render();
    expect(out.length).toBe(2 * 800 * 8);
    expect(runs(channel(out, 0))).toEqual([[0, 400]]);
    expect(runs(channel(out, 1))).toEqual([[500, 800]]);
    expect(channel(out, 1)[4000]).toBe(ULAW_DECODE[0x20]);
    expect(rec.durationMs).toBe(800);
  });

  it('keeps overlaps: caller and bot at the same time each on their own channel', () => {
    const rec = new CallRecording();
    rec.start(0);
    rec.bot(0, tone(1000, 0x20));
    rec.caller(600, tone(200));
    const out = rec.render();
    expect(runs(channel(out, 0))).toEqual([[600, 800]]);
    expect(runs(channel(out, 1))).toEqual([[0, 1000]]);
  });

  it('plays bot audio that arrives faster than real time one piece after the other, as a playout buffer does', () => {
    const rec = new CallRecording();
    rec.start(0);
    rec.bot(0, tone(500, 0x20));
    rec.bot(10, tone(500, 0x30));
    const bot = channel(rec.render(), 1);
    expect(runs(bot)).toEqual([[0, 1000]]);
    expect(bot[499 * 8]).toBe(ULAW_DECODE[0x20]);
    expect(bot[500 * 8]).toBe(ULAW_DECODE[0x30]);
  });

  it('a barge-in drops the bot audio queued but not yet played; later audio plays from its arrival', () => {
    const rec = new CallRecording();
    rec.start(0);
    rec.bot(0, tone(2000, 0x20));
    rec.bot(5, tone(1000, 0x30));
    rec.flushBot(700);
    rec.bot(1500, tone(100, 0x40));
    expect(runs(channel(rec.render(), 1))).toEqual([
      [0, 700],
      [1500, 1600],
    ]);
  });

  it('caller frames that go out a little late continue the stream; a real stall leaves a gap', () => {
    const rec = new CallRecording();
    rec.start(0);
    rec.caller(0, tone(200));
    rec.caller(230, tone(200)); // 30 ms late: timer jitter, the stream is continuous
    rec.caller(1000, tone(200)); // 600 ms after the stream ran out: a gap on the line
    expect(runs(channel(rec.render(), 0))).toEqual([
      [0, 400],
      [1000, 1200],
    ]);
  });

  it('a sender faster than real time (--fast) gives one continuous caller stream from the start', () => {
    const rec = new CallRecording();
    rec.start(0);
    for (let i = 0; i < 10; i++) rec.caller(i, tone(200));
    expect(runs(channel(rec.render(), 0))).toEqual([[0, 2000]]);
  });

  it('is bounded: audio past its maximum length is dropped', () => {
    const rec = new CallRecording(8 * 1000);
    rec.start(0);
    rec.caller(0, tone(800));
    rec.caller(800, tone(800));
    rec.bot(5000, tone(100));
    expect(rec.durationMs).toBe(1000);
    expect(rec.render().length).toBe(2 * 8000);
  });

  it('copies what it keeps (frames may be views of buffers the sender reuses)', () => {
    const rec = new CallRecording();
    rec.start(0);
    const frame = tone(10, 0x20);
    rec.caller(0, frame);
    frame.fill(0x30);
    expect(channel(rec.render(), 0)[0]).toBe(ULAW_DECODE[0x20]);
  });
});
