import { describe, expect, it } from 'vitest';
import { isSilent, ulawDbfs, ulawDurationMs, ulawRms, ulawSilence, ulawTone } from '../../src/audio/level.js';
import { ULAW_DECODE } from '../../src/audio/codec.js';

describe('level helpers', () => {
  it('silence is 0xff, has zero RMS and -Infinity dBFS', () => {
    const s = ulawSilence(100);
    expect(s.length).toBe(800);
    expect(s.every((b) => b === 0xff)).toBe(true);
    expect(ulawRms(s)).toBe(0);
    expect(ulawDbfs(s)).toBe(Number.NEGATIVE_INFINITY);
    expect(isSilent(s)).toBe(true);
    expect(ulawRms(new Uint8Array(0))).toBe(0);
  });

  it('0x00 bytes are full-scale, not silence', () => {
    const loud = new Uint8Array(800); // the classic bug: zero bytes are -32124
    expect(ulawDbfs(loud)).toBeCloseTo(20 * Math.log10(32124 / 32768), 5);
    expect(isSilent(loud)).toBe(false);
  });

  it('a sine tone has the expected length, level and frequency', () => {
    const tone = ulawTone(1000, 440, { amplitude: 0.5 });
    expect(tone.length).toBe(8000);
    expect(ulawDurationMs(tone)).toBe(1000);
    // Sine RMS = peak/√2 → -9.03 dBFS at half scale; μ-law quantisation moves it by well under 0.5 dB.
    expect(Math.abs(ulawDbfs(tone) - 20 * Math.log10(0.5 / Math.SQRT2))).toBeLessThan(0.5);
    expect(isSilent(tone)).toBe(false);
    // 440 Hz over 1 s: 880 sign changes.
    let crossings = 0;
    for (let i = 1; i < tone.length; i++) {
      if (ULAW_DECODE[tone[i - 1]!]! < 0 !== ULAW_DECODE[tone[i]!]! < 0) crossings++;
    }
    expect(Math.abs(crossings - 880)).toBeLessThanOrEqual(2);
  });

  it('continues the phase across chunks', () => {
    const whole = ulawTone(200, 300);
    const joined = new Uint8Array([...ulawTone(100, 300), ...ulawTone(100, 300, { startSample: 800 })]);
    expect(Array.from(joined)).toEqual(Array.from(whole));
  });

  it('a quiet tone falls under a custom threshold', () => {
    const quiet = ulawTone(100, 1000, { amplitude: 0.001 });
    expect(isSilent(quiet)).toBe(true);
    expect(isSilent(quiet, -80)).toBe(false);
  });

  it('rejects impossible tone parameters', () => {
    expect(() => ulawTone(100, 5000)).toThrow(RangeError);
    expect(() => ulawTone(-1, 440)).toThrow(RangeError);
    expect(() => ulawTone(100, 440, { amplitude: 2 })).toThrow(RangeError);
  });
});
