import { describe, expect, it } from 'vitest';
import type { FrameLayout } from '../../src/audio/codec.js';
import { silenceSource, ulawSource } from '../../src/simulator/audio-source.js';
import { AudioStreamer, type AudioSink } from '../../src/simulator/audio-streamer.js';
import type { AudioState } from '../../src/simulator/client-contract.js';
import { callerFrame } from '../../src/simulator/media.js';
import { ManualClock, type Clock } from '../../src/util/clock.js';

class FakeSink implements AudioSink {
  audioState: AudioState = 'send';
  negotiatedLayout: FrameLayout | null = { format: 'PCMU', channels: ['external'] };
  sent: Array<{ at: number; bytes: number }> = [];
  lateMs: number[] = [];
  discarded = 0;
  constructor(private readonly clock: Clock) {}
  sendAudio(frame: Uint8Array, lateMs = 0): boolean {
    if (this.audioState !== 'send') return false;
    this.sent.push({ at: this.clock.now(), bytes: frame.length });
    this.lateMs.push(lateMs);
    return true;
  }
  discardAudio(samples: number): void {
    this.discarded += samples;
  }
}

/** A clock whose timers fire late by a fixed amount, like a busy event loop. */
class LateClock extends ManualClock {
  override setTimeout(callback: () => void, ms: number) {
    return super.setTimeout(callback, ms + 7);
  }
}

describe('AudioStreamer', () => {
  it('sends 1600-byte frames every 200 ms in real time, the first at once', () => {
    const clock = new ManualClock();
    const sink = new FakeSink(clock);
    new AudioStreamer(clock, sink, silenceSource()).start();
    clock.advance(1000);
    expect(sink.sent).toEqual([0, 200, 400, 600, 800, 1000].map((at) => ({ at, bytes: 1600 })));
  });

  it('does not drift when timers fire late', () => {
    const clock = new LateClock();
    const sink = new FakeSink(clock);
    new AudioStreamer(clock, sink, silenceSource()).start();
    clock.advance(10_000);
    const last = sink.sent.at(-1)!;
    // Each frame is due at k·200 ms; lateness (7 ms) does not accumulate over 50 frames.
    expect(last.at % 200).toBe(7);
    expect(sink.sent).toHaveLength(50);
  });

  it('says how late each frame went out: a stall, then the catch-up frames back to back, each with its own lateness', () => {
    // Timers fire only when the test says so (a loop blocked for 450 ms).
    let now = 0;
    let pending: (() => void) | undefined;
    const clock: Clock = { now: () => now, setTimeout: (cb) => ((pending = cb), {}), clearTimeout: () => {} };
    const sink = new FakeSink(clock);
    new AudioStreamer(clock, sink, silenceSource()).start(); // frame 0 at 0
    now = 200;
    pending!(); // frame 1, on time
    now = 650;
    pending!(); // frame 2, due at 400
    pending!(); // frame 3, due at 600
    now = 800;
    pending!(); // frame 4, on time again
    expect(sink.sent.map((f) => f.at)).toEqual([0, 200, 650, 650, 800]);
    expect(sink.lateMs).toEqual([0, 0, 250, 50, 0]);
  });

  it('reports no lateness in fast pacing (no schedule to be late for)', () => {
    const clock = new ManualClock();
    const sink = new FakeSink(clock);
    new AudioStreamer(clock, sink, ulawSource(new Uint8Array(4800).fill(0xff)), { pacing: 'fast' }).start();
    clock.advance(10);
    expect(sink.lateMs).toEqual([0, 0, 0]);
  });

  it('ends with a partial last frame when the source is exhausted', async () => {
    const clock = new ManualClock();
    const sink = new FakeSink(clock);
    const streamer = new AudioStreamer(clock, sink, ulawSource(new Uint8Array(2000).fill(0xff))).start();
    clock.advance(1000);
    expect(sink.sent.map((f) => f.bytes)).toEqual([1600, 400]);
    await expect(streamer.done).resolves.toEqual({ framesSent: 2, bytesSent: 2000, ended: 'source-exhausted' });
  });

  it('sends nothing while paused, discards the audio that goes by, and continues after resume', () => {
    const clock = new ManualClock();
    const sink = new FakeSink(clock);
    new AudioStreamer(clock, sink, silenceSource()).start();
    clock.advance(200);
    sink.audioState = 'paused';
    clock.advance(600);
    sink.audioState = 'send';
    clock.advance(200);
    expect(sink.sent.map((f) => f.at)).toEqual([0, 200, 1000]);
    expect(sink.discarded).toBe(3 * 1600);
  });

  it('stops when the session stops audio (close or disconnect)', async () => {
    const clock = new ManualClock();
    const sink = new FakeSink(clock);
    const streamer = new AudioStreamer(clock, sink, silenceSource()).start();
    sink.audioState = 'stopped';
    clock.advance(1000);
    expect(sink.sent).toHaveLength(1);
    await expect(streamer.done).resolves.toMatchObject({ ended: 'session-stopped' });
    expect(clock.pending).toBe(0);
  });

  it('fast pacing sends back to back without waiting for real time', () => {
    const clock = new ManualClock();
    const sink = new FakeSink(clock);
    new AudioStreamer(clock, sink, ulawSource(new Uint8Array(16_000)), { pacing: 'fast' }).start();
    clock.advance(0);
    expect(sink.sent).toHaveLength(10);
    expect(sink.sent.every((f) => f.at === 0)).toBe(true);
  });

  it('converts caller audio to the negotiated layout (L16 stereo: caller on external, silence on internal)', () => {
    const clock = new ManualClock();
    const sink = new FakeSink(clock);
    sink.negotiatedLayout = { format: 'L16', channels: ['external', 'internal'] };
    new AudioStreamer(clock, sink, silenceSource(), { frameMs: 20 }).start();
    expect(sink.sent[0]!.bytes).toBe(640);
  });
});

describe('callerFrame', () => {
  it('puts caller μ-law on the external channel in channel order', () => {
    const ulaw = new Uint8Array([0x00, 0x80]);
    expect(callerFrame(ulaw, { format: 'PCMU', channels: ['external'] })).toBe(ulaw);
    expect([...callerFrame(ulaw, { format: 'PCMU', channels: ['external', 'internal'] })]).toEqual([0x00, 0xff, 0x80, 0xff]);
    expect([...callerFrame(ulaw, { format: 'PCMU', channels: ['internal', 'external'] })]).toEqual([0xff, 0x00, 0xff, 0x80]);
    const l16 = callerFrame(ulaw, { format: 'L16', channels: ['external'] });
    const view = new DataView(l16.buffer);
    expect([view.getInt16(0, true), view.getInt16(2, true)]).toEqual([-32124, 32124]);
  });
});
