import { describe, expect, it } from 'vitest';
import {
  ULAW_DECODE,
  ULAW_SILENCE,
  bytesPerSampleFrame,
  channelAsUlaw,
  linearToUlaw,
  readL16,
  ulawToLayout,
  ulawToLinear,
  writeL16,
} from '../../src/audio/codec.js';

describe('μ-law codec', () => {
  it('decodes the known code points', () => {
    expect(ULAW_DECODE[0xff]).toBe(0);
    expect(ULAW_DECODE[0x7f]).toBe(0);
    expect(ULAW_DECODE[0x00]).toBe(-32124);
    expect(ULAW_DECODE[0x80]).toBe(32124);
    expect(ULAW_SILENCE).toBe(0xff);
  });

  it('is monotonic: larger codes below 0x80 are quieter negatives, above are quieter positives', () => {
    for (let c = 1; c < 0x80; c++) expect(ULAW_DECODE[c]!).toBeGreaterThan(ULAW_DECODE[c - 1]!);
    for (let c = 0x81; c < 0x100; c++) expect(ULAW_DECODE[c]!).toBeLessThan(ULAW_DECODE[c - 1]!);
  });

  it('round-trips every code (0x7f, negative zero, maps to 0xff)', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const back = linearToUlaw(ulawToLinear(codes));
    for (let c = 0; c < 256; c++) expect(back[c]).toBe(c === 0x7f ? 0xff : c);
  });

  it('encodes linear samples to the nearest segment within μ-law quantisation error', () => {
    const samples = Int16Array.from([0, 1, -1, 100, -100, 1000, -1000, 12345, -12345, 32767, -32768]);
    const decoded = ulawToLinear(linearToUlaw(samples));
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      // μ-law step size grows with magnitude: at most 1/16 of the segment, bounded by 1024 at the top.
      const tolerance = Math.max(8, Math.abs(s) / 16);
      expect(Math.abs(decoded[i]! - s)).toBeLessThanOrEqual(Math.min(tolerance, 1024));
    }
    expect(linearToUlaw(Int16Array.from([0]))[0]).toBe(0xff);
  });
});

describe('L16', () => {
  it('reads and writes little-endian samples', () => {
    const bytes = Uint8Array.from([0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f]);
    expect(Array.from(readL16(bytes))).toEqual([1, -1, -32768, 32767]);
    expect(Array.from(writeL16(Int16Array.from([1, -1, -32768, 32767])))).toEqual(Array.from(bytes));
  });

  it('reads from an unaligned view', () => {
    const backing = Uint8Array.from([0xaa, 0x34, 0x12, 0xcd, 0xab]);
    expect(Array.from(readL16(backing.subarray(1)))).toEqual([0x1234, -0x5433]);
  });
});

describe('channel extraction', () => {
  const ext = Uint8Array.from([0x10, 0x20, 0x30]);
  const int = Uint8Array.from([0x81, 0x82, 0x83]);

  it('PCMU mono is returned as-is', () => {
    const frame = Uint8Array.from([1, 2, 3]);
    expect(channelAsUlaw(frame, { format: 'PCMU', channels: ['external'] }, 'external')).toBe(frame);
    expect(channelAsUlaw(frame, { format: 'PCMU', channels: ['external'] }, 'internal')).toBeNull();
  });

  it('de-interleaves PCMU stereo in both channel orders', () => {
    const externalFirst = Uint8Array.from([0x10, 0x81, 0x20, 0x82, 0x30, 0x83]);
    const internalFirst = Uint8Array.from([0x81, 0x10, 0x82, 0x20, 0x83, 0x30]);
    const a = { format: 'PCMU', channels: ['external', 'internal'] } as const;
    const b = { format: 'PCMU', channels: ['internal', 'external'] } as const;
    expect(Array.from(channelAsUlaw(externalFirst, a, 'external')!)).toEqual(Array.from(ext));
    expect(Array.from(channelAsUlaw(externalFirst, a, 'internal')!)).toEqual(Array.from(int));
    expect(Array.from(channelAsUlaw(internalFirst, b, 'external')!)).toEqual(Array.from(ext));
    expect(Array.from(channelAsUlaw(internalFirst, b, 'internal')!)).toEqual(Array.from(int));
  });

  it('de-interleaves L16 stereo in both orders and encodes to μ-law', () => {
    const extSamples = ulawToLinear(ext);
    const intSamples = ulawToLinear(int);
    const interleave = (first: Int16Array, second: Int16Array): Uint8Array => {
      const both = new Int16Array(first.length * 2);
      for (let i = 0; i < first.length; i++) {
        both[2 * i] = first[i]!;
        both[2 * i + 1] = second[i]!;
      }
      return writeL16(both);
    };
    const a = { format: 'L16', channels: ['external', 'internal'] } as const;
    const b = { format: 'L16', channels: ['internal', 'external'] } as const;
    expect(Array.from(channelAsUlaw(interleave(extSamples, intSamples), a, 'external')!)).toEqual(Array.from(ext));
    expect(Array.from(channelAsUlaw(interleave(intSamples, extSamples), b, 'external')!)).toEqual(Array.from(ext));
    expect(Array.from(channelAsUlaw(interleave(intSamples, extSamples), b, 'internal')!)).toEqual(Array.from(int));
    expect(bytesPerSampleFrame(a)).toBe(4);
    expect(bytesPerSampleFrame({ format: 'PCMU', channels: ['external'] })).toBe(1);
  });

  it('converts μ-law mono to each outbound layout', () => {
    const ulaw = Uint8Array.from([0x00, 0x80, 0xff]);
    expect(ulawToLayout(ulaw, { format: 'PCMU', channels: ['external'] })).toBe(ulaw);
    expect(Array.from(ulawToLayout(ulaw, { format: 'PCMU', channels: ['external', 'internal'] }))).toEqual([0, 0, 0x80, 0x80, 0xff, 0xff]);
    const l16 = ulawToLayout(ulaw, { format: 'L16', channels: ['external'] });
    expect(Array.from(readL16(l16))).toEqual([-32124, 32124, 0]);
    const l16Stereo = ulawToLayout(ulaw, { format: 'L16', channels: ['external', 'internal'] });
    expect(Array.from(readL16(l16Stereo))).toEqual([-32124, -32124, 32124, 32124, 0, 0]);
  });
});
