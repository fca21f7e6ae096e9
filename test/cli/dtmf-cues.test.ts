import { describe, expect, it } from 'vitest';
import { DtmfSchedule, withDtmfCues, type DtmfSink } from '../../src/cli/dtmf-cues.js';
import { ulawSource } from '../../src/simulator/audio-source.js';
import type { AudioState } from '../../src/simulator/client-contract.js';

/** A sink that advances its position by what is read, like a session sending each frame. */
function fakeSink(): DtmfSink & { sent: Array<{ digits: string; positionMs: number }>; state: AudioState; advance(samples: number): void } {
  let positionMs = 0;
  const sink = {
    sent: [] as Array<{ digits: string; positionMs: number }>,
    state: 'send' as AudioState,
    get positionMs() {
      return positionMs;
    },
    get audioState() {
      return sink.state;
    },
    sendDtmf(digits: string) {
      sink.sent.push({ digits, positionMs });
    },
    advance(samples: number) {
      positionMs += samples / 8;
    },
  };
  return sink;
}

describe('DtmfSchedule', () => {
  it('returns cues in time order, each once, when the position reaches them', () => {
    const schedule = new DtmfSchedule([
      { digits: '9', atMs: 1000 },
      { digits: '1234#', atMs: 250 },
    ]);
    expect(schedule.takeDue(200)).toEqual([]);
    expect(schedule.takeDue(400)).toEqual([{ digits: '1234#', atMs: 250 }]);
    expect(schedule.takeDue(400)).toEqual([]);
    expect(schedule.takeDue(999)).toEqual([]);
    expect(schedule.takeDue(1000)).toEqual([{ digits: '9', atMs: 1000 }]);
    expect(schedule.remaining).toBe(0);
  });
});

describe('withDtmfCues', () => {
  it('sends each cue once the audio up to its time has gone out: cue ≤ position < cue + one frame', () => {
    const sink = fakeSink();
    const source = withDtmfCues(ulawSource(new Uint8Array(8000)), new DtmfSchedule([{ digits: '12', atMs: 450 }, { digits: '#', atMs: 0 }, { digits: '3', atMs: 600 }]), sink);
    for (let chunk = source.read(1600); chunk !== null; chunk = source.read(1600)) sink.advance(chunk.length);
    expect(sink.sent).toEqual([
      { digits: '#', positionMs: 0 },
      { digits: '12', positionMs: 600 },
      { digits: '3', positionMs: 600 },
    ]);
  });

  it('holds cues while paused and sends them with the next frame after resume', () => {
    const sink = fakeSink();
    const source = withDtmfCues(ulawSource(new Uint8Array(8000)), new DtmfSchedule([{ digits: '5', atMs: 100 }]), sink);
    sink.advance(source.read(1600)!.length);
    sink.state = 'paused';
    source.read(1600);
    expect(sink.sent).toEqual([]);
    sink.state = 'send';
    source.read(1600);
    expect(sink.sent).toEqual([{ digits: '5', positionMs: 200 }]);
  });

  it('fires cues beyond the recording during the silent tail when the same schedule wraps it', () => {
    const sink = fakeSink();
    const schedule = new DtmfSchedule([{ digits: '0', atMs: 700 }]);
    const recording = withDtmfCues(ulawSource(new Uint8Array(1600)), schedule, sink);
    for (let chunk = recording.read(1600); chunk !== null; chunk = recording.read(1600)) sink.advance(chunk.length);
    expect(sink.sent).toEqual([]);
    const tail = withDtmfCues(ulawSource(new Uint8Array(0), { thenSilence: true }), schedule, sink);
    for (let i = 0; i < 4; i++) sink.advance(tail.read(1600)!.length);
    expect(sink.sent).toEqual([{ digits: '0', positionMs: 800 }]);
  });
});
