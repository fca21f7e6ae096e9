import { describe, expect, it } from 'vitest';
import { ULAW_DECODE } from '../../src/audio/codec.js';
import { EnergyVad } from '../../src/emulator/vad.js';
import { utterance } from './harness.js';

function decode(bytes: Uint8Array): Int16Array {
  return Int16Array.from(bytes, (b) => ULAW_DECODE[b]!);
}

describe('EnergyVad (audio time)', () => {
  it('reports start with prefix padding and stop after the silence duration', () => {
    const vad = new EnergyVad({ threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 });
    const events = vad.push(decode(utterance(1000, 800, 1000)), 8000);
    expect(events).toEqual([
      { type: 'speech_started', audioStartMs: 700 },
      { type: 'speech_stopped', audioEndMs: 1000 + 800 + 500 },
    ]);
  });

  it('gives the same result however the audio is chunked', () => {
    const vad = new EnergyVad({ threshold: 0.5, prefixPaddingMs: 100, silenceDurationMs: 300 });
    const audio = decode(utterance(400, 600, 500));
    const events = [];
    for (let i = 0; i < audio.length; i += 37) events.push(...vad.push(audio.subarray(i, i + 37), 8000));
    expect(events).toEqual([
      { type: 'speech_started', audioStartMs: 300 },
      { type: 'speech_stopped', audioEndMs: 1300 },
    ]);
  });

  it('clamps the prefix to the buffer start and ignores silence and a single click', () => {
    const vad = new EnergyVad({ threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 200 });
    expect(vad.push(decode(utterance(500, 10, 500)), 8000)).toEqual([]);
    vad.markBufferStart(950);
    const events = vad.push(decode(utterance(50, 400, 300)), 8000);
    // Speech begins at 1010 + 50 = 1060 ms; 1060 − 300 would reach back before the buffer start.
    expect(events[0]).toEqual({ type: 'speech_started', audioStartMs: 950 });
  });

  it('honours a higher threshold', () => {
    const vad = new EnergyVad({ threshold: 1, prefixPaddingMs: 0, silenceDurationMs: 200 });
    // The test tone's RMS (≈ 0.19 of full scale) clears the level of threshold 1 (0.1); a quarter of it does not.
    expect(vad.push(decode(utterance(100, 300, 300)), 8000).map((e) => e.type)).toEqual(['speech_started', 'speech_stopped']);
    const quiet = new EnergyVad({ threshold: 1, prefixPaddingMs: 0, silenceDurationMs: 200 });
    const soft = decode(utterance(100, 300, 300)).map((s) => Math.round(s / 4));
    expect(quiet.push(soft, 8000)).toEqual([]);
  });
});
