import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioFileError, SOX_HINT, decodeWav, parseWav, readAudioFile, writePcmWav, writeUlawWav } from '../../src/audio/wav.js';
import { readL16, ulawToLinear, writeL16 } from '../../src/audio/codec.js';
import { ulawTone } from '../../src/audio/level.js';

// ---------------------------------------------------------------- a small WAV builder for test inputs

function chunk(id: string, body: Uint8Array, declaredSize = body.length): Buffer {
  const header = Buffer.alloc(8);
  header.write(id, 0, 'ascii');
  header.writeUInt32LE(declaredSize, 4);
  const pad = body.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0);
  return Buffer.concat([header, Buffer.from(body), pad]);
}

function riff(...chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from('WAVE', 'ascii'), ...chunks]);
  const header = Buffer.alloc(8);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

function fmt(tag: number, channels: number, rate: number, bits: number): Buffer {
  const b = Buffer.alloc(16);
  const blockAlign = (bits / 8) * channels;
  b.writeUInt16LE(tag, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE(rate * blockAlign, 8);
  b.writeUInt16LE(blockAlign, 12);
  b.writeUInt16LE(bits, 14);
  return chunk('fmt ', b);
}

const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

function fmtExtensible(subTag: number, channels: number, rate: number, bits: number, guidTail = GUID_TAIL): Buffer {
  const b = Buffer.alloc(40);
  const blockAlign = (bits / 8) * channels;
  b.writeUInt16LE(0xfffe, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE(rate * blockAlign, 8);
  b.writeUInt16LE(blockAlign, 12);
  b.writeUInt16LE(bits, 14);
  b.writeUInt16LE(22, 16); // cbSize
  b.writeUInt16LE(bits, 18); // valid bits
  b.writeUInt32LE(channels === 1 ? 0x4 : 0x3, 20); // channel mask
  b.writeUInt16LE(subTag, 24);
  Buffer.from(guidTail).copy(b, 26);
  return chunk('fmt ', b);
}

function interleave(...channels: Uint8Array[]): Uint8Array {
  const n = channels[0]!.length;
  const out = new Uint8Array(n * channels.length);
  for (let i = 0; i < n; i++) channels.forEach((c, k) => (out[i * channels.length + k] = c[i]!));
  return out;
}

function interleave16(...channels: Int16Array[]): Uint8Array {
  const n = channels[0]!.length;
  const out = new Int16Array(n * channels.length);
  for (let i = 0; i < n; i++) channels.forEach((c, k) => (out[i * channels.length + k] = c[i]!));
  return writeL16(out);
}

function expectRejected(bytes: Uint8Array, code: string, found: RegExp): void {
  let error: unknown;
  try {
    parseWav(bytes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(AudioFileError);
  const err = error as AudioFileError;
  expect(err.code).toBe(code);
  expect(err.message).toMatch(found);
  expect(err.message).toContain(SOX_HINT);
}

// ---------------------------------------------------------------- tests

const external = ulawTone(250, 440); // 2000 samples
const internal = ulawTone(250, 1000, { amplitude: 0.2 });

describe('writeUlawWav', () => {
  it('writes a PCMU WAV with a fact chunk that parses back to the same bytes', () => {
    const wav = writeUlawWav(external);
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.toString('ascii', 12, 16)).toBe('fmt ');
    expect(wav.readUInt16LE(20)).toBe(7);
    expect(wav.indexOf('fact')).toBeGreaterThan(0);
    const fact = wav.indexOf('fact');
    expect(wav.readUInt32LE(fact + 8)).toBe(external.length);
    const parsed = parseWav(wav);
    expect(parsed.format).toEqual({ container: 'wav', encoding: 'PCMU', sampleRate: 8000, channels: 1, bitsPerSample: 8, extensible: false, durationMs: 250 });
    expect(Buffer.from(parsed.data).equals(Buffer.from(external))).toBe(true);
  });

  it('pads an odd-length data chunk and still round-trips exactly', () => {
    const odd = external.subarray(0, 1001);
    const wav = writeUlawWav(odd);
    expect(wav.length % 2).toBe(0);
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(Buffer.from(decodeWav(wav).ulaw).equals(Buffer.from(odd))).toBe(true);
  });

  it('writes something sox accepts as 8 kHz μ-law mono', async () => {
    const { execFile } = await import('node:child_process');
    const dir = await mkdtemp(join(tmpdir(), 'wav-sox-'));
    try {
      const path = join(dir, 'tone.wav');
      await writeFile(path, writeUlawWav(external));
      const info = await new Promise<string | null>((resolve) => {
        execFile('sox', ['--i', path], { timeout: 10_000 }, (err, stdout) => resolve(err ? null : stdout));
      });
      // sox is optional on developer machines; when it is there, it must agree with our header.
      if (info !== null) {
        expect(info).toMatch(/Channels\s*:\s*1/);
        expect(info).toMatch(/Sample Rate\s*:\s*8000/);
        expect(info).toMatch(/u-law/i);
        expect(info).toMatch(/2000 samples/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseWav / decodeWav accepted formats', () => {
  it('16-bit PCM mono → μ-law', () => {
    const wav = riff(fmt(1, 1, 8000, 16), chunk('data', writeL16(ulawToLinear(external))));
    const { ulaw, format } = decodeWav(wav);
    expect(format.encoding).toBe('L16');
    expect(format.durationMs).toBe(250);
    expect(Buffer.from(ulaw).equals(Buffer.from(external))).toBe(true);
  });

  it('PCMU stereo → channel 0', () => {
    const wav = riff(fmt(7, 2, 8000, 8), chunk('data', interleave(external, internal)));
    const { ulaw, format } = decodeWav(wav);
    expect(format.channels).toBe(2);
    expect(format.durationMs).toBe(250);
    expect(Buffer.from(ulaw).equals(Buffer.from(external))).toBe(true);
  });

  it('16-bit PCM stereo → channel 0 as μ-law', () => {
    const wav = riff(fmt(1, 2, 8000, 16), chunk('data', interleave16(ulawToLinear(external), ulawToLinear(internal))));
    const { ulaw } = decodeWav(wav);
    expect(Buffer.from(ulaw).equals(Buffer.from(external))).toBe(true);
  });

  it('WAVE_FORMAT_EXTENSIBLE with PCM and μ-law subformats', () => {
    const pcm = riff(fmtExtensible(1, 1, 8000, 16), chunk('data', writeL16(ulawToLinear(external))));
    expect(decodeWav(pcm).format).toMatchObject({ encoding: 'L16', extensible: true });
    expect(Buffer.from(decodeWav(pcm).ulaw).equals(Buffer.from(external))).toBe(true);
    const mulaw = riff(fmtExtensible(7, 2, 8000, 8), chunk('data', interleave(external, internal)));
    expect(decodeWav(mulaw).format).toMatchObject({ encoding: 'PCMU', extensible: true, channels: 2 });
    expect(Buffer.from(decodeWav(mulaw).ulaw).equals(Buffer.from(external))).toBe(true);
  });

  it('walks LIST and odd-sized chunks, before and between fmt and data', () => {
    const info = new Uint8Array(Buffer.from('INFOISFT\x05\x00\x00\x00test\x00', 'latin1')); // 17 bytes: odd
    const wav = riff(chunk('LIST', info), fmt(7, 1, 8000, 8), chunk('junk', new Uint8Array(3)), chunk('data', external));
    expect(Buffer.from(decodeWav(wav).ulaw).equals(Buffer.from(external))).toBe(true);
  });

  it('reads a file whose writer forgot the pad byte after an odd-sized chunk', () => {
    const odd = chunk('LIST', new Uint8Array(Buffer.from('INFOabcde', 'latin1'))); // 9 bytes + pad
    const unpadded = odd.subarray(0, odd.length - 1);
    const wav = riff(unpadded, fmt(7, 1, 8000, 8), chunk('data', external));
    expect(Buffer.from(decodeWav(wav).ulaw).equals(Buffer.from(external))).toBe(true);
  });

  it('clamps a data size larger than the file and trims a trailing partial sample', () => {
    const pcm = writeL16(ulawToLinear(external)).subarray(0, 2001); // 1000.5 samples
    const header = riff(fmt(1, 1, 8000, 16));
    const dataHeader = Buffer.alloc(8);
    dataHeader.write('data', 0, 'ascii');
    dataHeader.writeUInt32LE(0xffffffff, 4); // streaming writers leave this unset
    const wav = Buffer.concat([header, dataHeader, Buffer.from(pcm)]);
    const { ulaw, format, truncated } = decodeWav(wav);
    expect(ulaw.length).toBe(1000);
    expect(format.durationMs).toBe(125);
    expect(Buffer.from(ulaw).equals(Buffer.from(external.subarray(0, 1000)))).toBe(true);
    // 0xFFFFFFFF means "until the end of the file", not a file cut short.
    expect(truncated).toBeUndefined();
  });

  it('reports a data chunk that claims more bytes than the file holds (a cut-off file), with both sizes', () => {
    const whole = writeUlawWav(external);
    const cut = whole.subarray(0, whole.length - 500);
    const parsed = parseWav(cut);
    expect(parsed.truncated).toEqual({ declaredBytes: external.length, presentBytes: external.length - 500 });
    expect(parsed.data.length).toBe(external.length - 500);
    expect(decodeWav(cut).truncated).toEqual(parsed.truncated);
    expect(parseWav(whole).truncated).toBeUndefined();
  });
});

describe('writePcmWav', () => {
  it('writes interleaved 16-bit stereo that parses back to the same samples', () => {
    const interleaved = Int16Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? i : -i));
    const wav = writePcmWav(interleaved, 2);
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    const parsed = parseWav(wav);
    expect(parsed.format).toEqual({ container: 'wav', encoding: 'L16', sampleRate: 8000, channels: 2, bitsPerSample: 16, extensible: false, durationMs: 125 });
    expect(Array.from(readL16(parsed.data))).toEqual(Array.from(interleaved));
  });
});

describe('parseWav rejections (each says what it found and how to convert)', () => {
  const data = chunk('data', new Uint8Array(16));
  it('not RIFF/WAVE', () => expectRejected(new Uint8Array(Buffer.from('ID3\x04 mp3 stuff here')), 'not-wav', /not a RIFF\/WAVE file \(starts with "ID3/));
  it('too short', () => expectRejected(new Uint8Array(2), 'not-wav', /2 bytes/));
  it('44.1 kHz', () => expectRejected(riff(fmt(1, 1, 44_100, 16), data), 'unsupported-rate', /PCM 16-bit, 44100 Hz, 1 channel/));
  it('IEEE float', () => expectRejected(riff(fmt(3, 2, 8000, 32), data), 'unsupported-encoding', /IEEE float 32-bit, 8000 Hz, 2 channels/));
  it('A-law', () => expectRejected(riff(fmt(6, 1, 8000, 8), data), 'unsupported-encoding', /A-law 8-bit/));
  it('8-bit PCM', () => expectRejected(riff(fmt(1, 1, 8000, 8), data), 'unsupported-encoding', /PCM 8-bit/));
  it('24-bit extensible PCM', () => expectRejected(riff(fmtExtensible(1, 1, 8000, 24), data), 'unsupported-encoding', /PCM \(extensible\) 24-bit/));
  it('extensible with a non-standard GUID', () =>
    expectRejected(riff(fmtExtensible(1, 1, 8000, 16, GUID_TAIL.map((b) => b ^ 1)), data), 'unsupported-encoding', /non-standard subformat GUID/));
  it('three channels', () => expectRejected(riff(fmt(7, 3, 8000, 8), data), 'unsupported-channels', /3 channels/));
  it('no fmt chunk', () => expectRejected(riff(data), 'missing-fmt', /no fmt chunk/));
  it('no data chunk', () => expectRejected(riff(fmt(7, 1, 8000, 8)), 'missing-data', /no data chunk/));
  it('truncated fmt chunk', () => expectRejected(riff(chunk('fmt ', new Uint8Array(10))), 'truncated', /shorter than 16/));
});

describe('readAudioFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wav-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a WAV written by writeUlawWav', async () => {
    const path = join(dir, 'a.wav');
    await writeFile(path, writeUlawWav(external));
    const { ulaw, format } = await readAudioFile(path);
    expect(format.encoding).toBe('PCMU');
    expect(Buffer.from(ulaw).equals(Buffer.from(external))).toBe(true);
  });

  it('reads raw .ulaw as μ-law 8 kHz mono', async () => {
    const path = join(dir, 'b.ulaw');
    await writeFile(path, external);
    const { ulaw, format } = await readAudioFile(path);
    expect(format).toEqual({ container: 'raw', encoding: 'PCMU', sampleRate: 8000, channels: 1, bitsPerSample: 8, extensible: false, durationMs: 250 });
    expect(Buffer.from(ulaw).equals(Buffer.from(external))).toBe(true);
  });

  it('rejects other file types with the sox hint', async () => {
    const path = join(dir, 'c.mp3');
    await writeFile(path, Buffer.from('ID3\x04\x00\x00'));
    await expect(readAudioFile(path)).rejects.toThrow(AudioFileError);
    await expect(readAudioFile(path)).rejects.toThrow(/unsupported audio file type "\.mp3".*sox input\.wav -r 8000 -c 1 -e u-law output\.wav/);
  });

  it('rejects a .wav that is not RIFF with the sox hint', async () => {
    const path = join(dir, 'd.wav');
    await writeFile(path, Buffer.from('OggS\x00\x02'));
    await expect(readAudioFile(path)).rejects.toThrow(/not a RIFF\/WAVE file.*sox input\.wav/);
  });
});
