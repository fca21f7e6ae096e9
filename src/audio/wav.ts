/**
 * WAV (RIFF/WAVE) reading and writing for the audio we handle: 8 kHz μ-law (format tag 7) or 16-bit PCM
 * (tag 1), mono or stereo, also inside WAVE_FORMAT_EXTENSIBLE. Everything else is rejected with a message
 * that says what was found and how to convert it.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { linearToUlaw, readL16 } from './codec.js';
import { ulawMs } from '../util/ulaw-time.js';

const BITS_PER_BYTE = 8;

export const SOX_HINT = 'sox input.wav -r 8000 -c 1 -e u-law output.wav';

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_ALAW = 0x0006;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** The bytes after the format tag in every KSDATAFORMAT_SUBTYPE_* GUID derived from a WAVE format tag. */
const SUBFORMAT_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

const FORMAT_NAMES: Record<number, string> = {
  [WAVE_FORMAT_PCM]: 'PCM',
  [WAVE_FORMAT_IEEE_FLOAT]: 'IEEE float',
  [WAVE_FORMAT_ALAW]: 'A-law',
  [WAVE_FORMAT_MULAW]: 'μ-law',
  0x0002: 'MS ADPCM',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0055: 'MP3',
};

export type AudioFileErrorCode =
  | 'not-wav'
  | 'truncated'
  | 'missing-fmt'
  | 'missing-data'
  | 'unsupported-encoding'
  | 'unsupported-rate'
  | 'unsupported-channels'
  | 'unsupported-file';

/** A file we cannot use; the message says what was found and shows the sox conversion. */
export class AudioFileError extends Error {
  override readonly name = 'AudioFileError';
  constructor(
    readonly code: AudioFileErrorCode,
    readonly found: string,
  ) {
    super(`${found}; expected 8000 Hz μ-law (PCMU) or 16-bit PCM WAV, mono or stereo, or raw .ulaw. Convert with: ${SOX_HINT}`);
  }
}

export interface AudioFormat {
  container: 'wav' | 'raw';
  encoding: 'PCMU' | 'L16';
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** WAVE_FORMAT_EXTENSIBLE wrapper around the encoding. */
  extensible: boolean;
  durationMs: number;
}

/** The data chunk declares more bytes than the file holds (a cut-off copy or an interrupted recording). */
export interface WavTruncation {
  declaredBytes: number;
  presentBytes: number;
}

export interface ParsedWav {
  format: AudioFormat;
  /** The data chunk, trimmed to whole sample frames (interleaved as stored). */
  data: Uint8Array;
  /** Set when the data chunk is cut short; `data` is what is there. */
  truncated?: WavTruncation;
}

export interface DecodedAudio {
  /** μ-law 8 kHz mono: the external channel (channel 0 of a stereo file). */
  ulaw: Uint8Array;
  /** The file's original format. */
  format: AudioFormat;
  /** Set when the file is cut short (see ParsedWav). */
  truncated?: WavTruncation;
}

/**
 * Streaming writers that cannot seek back put this placeholder in the data size ("until the end of the
 * file"); it is not a truncation.
 */
const UNKNOWN_DATA_SIZE = 0xffffffff;

interface FmtChunk {
  tag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
  extensible: boolean;
}

function ascii(bytes: Uint8Array, offset: number, length = 4): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

/** Four printable ASCII characters, as every chunk id is. */
function isChunkId(bytes: Uint8Array, offset: number): boolean {
  if (offset + 4 > bytes.length) return false;
  for (let i = offset; i < offset + 4; i++) {
    const c = bytes[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function describeFmt(fmt: FmtChunk): string {
  const name =
    fmt.tag < 0 ? 'non-standard subformat GUID' : (FORMAT_NAMES[fmt.tag] ?? `format tag 0x${fmt.tag.toString(16).padStart(4, '0')}`);
  const wrapped = fmt.extensible ? ' (extensible)' : '';
  return `${name}${wrapped} ${fmt.bitsPerSample}-bit, ${fmt.sampleRate} Hz, ${fmt.channels} channel${fmt.channels === 1 ? '' : 's'}`;
}

function parseFmt(bytes: Uint8Array, view: DataView, offset: number, size: number): FmtChunk {
  if (size < 16) throw new AudioFileError('truncated', `WAV fmt chunk is ${size} bytes, shorter than 16`);
  let tag = view.getUint16(offset, true);
  const channels = view.getUint16(offset + 2, true);
  const sampleRate = view.getUint32(offset + 4, true);
  const blockAlign = view.getUint16(offset + 12, true);
  let bitsPerSample = view.getUint16(offset + 14, true);
  let extensible = false;
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    extensible = true;
    if (size < 40) throw new AudioFileError('truncated', `WAVE_FORMAT_EXTENSIBLE fmt chunk is ${size} bytes, shorter than 40`);
    const validBits = view.getUint16(offset + 18, true);
    const guid = bytes.subarray(offset + 24, offset + 40);
    const isStandardGuid = SUBFORMAT_GUID_TAIL.every((b, i) => guid[i + 2] === b);
    tag = isStandardGuid ? view.getUint16(offset + 24, true) : -1;
    if (validBits !== 0 && validBits !== bitsPerSample && tag === WAVE_FORMAT_PCM) bitsPerSample = validBits;
  }
  return { tag, channels, sampleRate, blockAlign, bitsPerSample, extensible };
}

/**
 * Parses a WAV file held in memory. Walks every chunk (LIST, fact, cue…), honouring the pad byte after
 * odd-sized chunks. A data size larger than the file is clamped to what is there: silently for the
 * streaming writers' 0xFFFFFFFF placeholder, otherwise reported in `truncated`.
 */
export function parseWav(bytes: Uint8Array): ParsedWav {
  if (bytes.length < 12 || ascii(bytes, 0) !== 'RIFF' || ascii(bytes, 8) !== 'WAVE') {
    const head = bytes.length >= 4 ? JSON.stringify(ascii(bytes, 0)) : `${bytes.length} bytes`;
    throw new AudioFileError('not-wav', `not a RIFF/WAVE file (starts with ${head})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: FmtChunk | undefined;
  let data: Uint8Array | undefined;
  let truncated: WavTruncation | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = ascii(bytes, offset);
    const declared = view.getUint32(offset + 4, true);
    const body = offset + 8;
    const size = Math.min(declared, bytes.length - body);
    if (id === 'fmt ') fmt = parseFmt(bytes, view, body, size);
    else if (id === 'data') {
      data = bytes.subarray(body, body + size);
      if (declared > size && declared !== UNKNOWN_DATA_SIZE) truncated = { declaredBytes: declared, presentBytes: size };
    }
    if (data && fmt) break;
    offset = body + declared;
    // RIFF pads odd-sized chunks to even; some writers forget. Take the pad byte unless the next id starts without it.
    if (declared & 1 && !(isChunkId(bytes, offset) && !isChunkId(bytes, offset + 1))) offset += 1;
  }
  if (!fmt) throw new AudioFileError('missing-fmt', 'WAV file has no fmt chunk');
  if (!data) throw new AudioFileError('missing-data', `WAV file (${describeFmt(fmt)}) has no data chunk`);

  const encoding =
    fmt.tag === WAVE_FORMAT_MULAW && fmt.bitsPerSample === 8
      ? 'PCMU'
      : fmt.tag === WAVE_FORMAT_PCM && fmt.bitsPerSample === 16
        ? 'L16'
        : undefined;
  if (!encoding) throw new AudioFileError('unsupported-encoding', `unsupported WAV encoding: ${describeFmt(fmt)}`);
  if (fmt.sampleRate !== 8000) throw new AudioFileError('unsupported-rate', `unsupported WAV sample rate: ${describeFmt(fmt)}`);
  if (fmt.channels !== 1 && fmt.channels !== 2) {
    throw new AudioFileError('unsupported-channels', `unsupported WAV channel count: ${describeFmt(fmt)}`);
  }
  // blockAlign is recomputed: some writers put 0 or nonsense there.
  const frameBytes = (fmt.bitsPerSample / BITS_PER_BYTE) * fmt.channels;
  const whole = data.subarray(0, data.length - (data.length % frameBytes));
  const samples = whole.length / frameBytes;
  return {
    format: {
      container: 'wav',
      encoding,
      sampleRate: fmt.sampleRate,
      channels: fmt.channels,
      bitsPerSample: fmt.bitsPerSample,
      extensible: fmt.extensible,
      durationMs: (samples * 1000) / fmt.sampleRate,
    },
    data: whole,
    ...(truncated ? { truncated } : {}),
  };
}

/** Channel 0 of interleaved PCMU or L16 data, as μ-law mono. */
function firstChannelAsUlaw(data: Uint8Array, format: AudioFormat): Uint8Array {
  const { channels } = format;
  if (format.encoding === 'PCMU') {
    if (channels === 1) return data;
    const out = new Uint8Array(data.length / channels);
    for (let i = 0, j = 0; i < out.length; i++, j += channels) out[i] = data[j]!;
    return out;
  }
  const all = readL16(data);
  if (channels === 1) return linearToUlaw(all);
  const mono = new Int16Array(all.length / channels);
  for (let i = 0, j = 0; i < mono.length; i++, j += channels) mono[i] = all[j]!;
  return linearToUlaw(mono);
}

/** Decodes a WAV held in memory to μ-law mono of the external channel (channel 0). */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  const { format, data, truncated } = parseWav(bytes);
  return { ulaw: firstChannelAsUlaw(data, format), format, ...(truncated ? { truncated } : {}) };
}

const RAW_ULAW_EXTENSIONS = new Set(['.ulaw', '.mulaw', '.mu']);

/** Reads a WAV file or raw μ-law (.ulaw: 8 kHz mono, no header). Throws AudioFileError for anything else. */
export async function readAudioFile(path: string): Promise<DecodedAudio> {
  const bytes = new Uint8Array(await readFile(path));
  const ext = extname(path).toLowerCase();
  if (RAW_ULAW_EXTENSIONS.has(ext)) {
    return {
      ulaw: bytes,
      format: { container: 'raw', encoding: 'PCMU', sampleRate: 8000, channels: 1, bitsPerSample: 8, extensible: false, durationMs: ulawMs(bytes.length) },
    };
  }
  if (ext !== '.wav' && ext !== '.wave' && !(bytes.length >= 4 && ascii(bytes, 0) === 'RIFF')) {
    throw new AudioFileError('unsupported-file', `unsupported audio file type "${ext || '(no extension)'}"`);
  }
  return decodeWav(bytes);
}

/** A playable WAV of μ-law 8 kHz mono: format tag 7 (18-byte fmt with cbSize 0, as non-PCM requires) and a fact chunk. */
export function writeUlawWav(ulaw: Uint8Array): Buffer {
  const pad = ulaw.length & 1;
  const fmtSize = 18;
  const total = 12 + (8 + fmtSize) + (8 + 4) + (8 + ulaw.length + pad);
  const out = Buffer.alloc(total);
  let o = 0;
  o += out.write('RIFF', o, 'ascii');
  o = out.writeUInt32LE(total - 8, o);
  o += out.write('WAVE', o, 'ascii');
  o += out.write('fmt ', o, 'ascii');
  o = out.writeUInt32LE(fmtSize, o);
  o = out.writeUInt16LE(WAVE_FORMAT_MULAW, o);
  o = out.writeUInt16LE(1, o); // channels
  o = out.writeUInt32LE(8000, o); // sample rate
  o = out.writeUInt32LE(8000, o); // byte rate
  o = out.writeUInt16LE(1, o); // block align
  o = out.writeUInt16LE(8, o); // bits per sample
  o = out.writeUInt16LE(0, o); // cbSize
  o += out.write('fact', o, 'ascii');
  o = out.writeUInt32LE(4, o);
  o = out.writeUInt32LE(ulaw.length, o); // samples per channel
  o += out.write('data', o, 'ascii');
  o = out.writeUInt32LE(ulaw.length, o);
  out.set(ulaw, o);
  return out;
}

/** A playable 16-bit PCM WAV (format tag 1) of interleaved samples; the most widely playable layout for stereo. */
export function writePcmWav(interleaved: Int16Array, channels: number, sampleRate = 8000): Buffer {
  const dataBytes = interleaved.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  let o = 0;
  o += out.write('RIFF', o, 'ascii');
  o = out.writeUInt32LE(36 + dataBytes, o);
  o += out.write('WAVE', o, 'ascii');
  o += out.write('fmt ', o, 'ascii');
  o = out.writeUInt32LE(16, o);
  o = out.writeUInt16LE(WAVE_FORMAT_PCM, o);
  o = out.writeUInt16LE(channels, o);
  o = out.writeUInt32LE(sampleRate, o);
  o = out.writeUInt32LE(sampleRate * channels * 2, o); // byte rate
  o = out.writeUInt16LE(channels * 2, o); // block align
  o = out.writeUInt16LE(16, o); // bits per sample
  o += out.write('data', o, 'ascii');
  o = out.writeUInt32LE(dataBytes, o);
  for (let i = 0; i < interleaved.length; i++) o = out.writeInt16LE(interleaved[i]!, o);
  return out;
}
