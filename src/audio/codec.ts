/**
 * G.711 μ-law ↔ 16-bit linear PCM, and the channel/format views of AudioHook frames.
 *
 * The `g711` package is the reference for the codec; at load we tabulate it once (256 decode entries,
 * 65,536 encode entries) so the per-frame path is a table lookup with no allocation beyond the output.
 * L16 on the wire is little-endian (the AudioHook spec leaves byte order unconfirmed; the reference
 * implementation and its WAV tooling use little-endian, so do we).
 */
import g711 from 'g711';
import type { MediaChannel, MediaFormat } from './media-format.js';

/** μ-law byte → linear sample. */
export const ULAW_DECODE: Int16Array = (() => {
  const codes = new Uint8Array(256);
  for (let i = 0; i < 256; i++) codes[i] = i;
  return Int16Array.from(g711.ulawToPCM(codes, 16) as unknown as ArrayLike<number>);
})();

/** (linear sample + 32768) → μ-law byte. */
export const ULAW_ENCODE: Uint8Array = (() => {
  const samples = new Int16Array(65536);
  for (let i = 0; i < 65536; i++) samples[i] = i - 32768;
  return g711.ulawFromPCM(samples);
})();

/** μ-law silence. 0x00 is full-scale negative, a bug some peers ship. */
export const ULAW_SILENCE = 0xff;

export function ulawToLinear(ulaw: Uint8Array): Int16Array {
  const out = new Int16Array(ulaw.length);
  for (let i = 0; i < ulaw.length; i++) out[i] = ULAW_DECODE[ulaw[i]!]!;
  return out;
}

export function linearToUlaw(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = ULAW_ENCODE[pcm[i]! + 32768]!;
  return out;
}

/** Reads little-endian 16-bit samples from bytes (any alignment). */
export function readL16(bytes: Uint8Array): Int16Array {
  const n = bytes.length >> 1;
  const out = new Int16Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/** Writes samples as little-endian 16-bit bytes. */
export function writeL16(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i]!, true);
  return out;
}

export interface FrameLayout {
  format: MediaFormat;
  channels: readonly MediaChannel[];
}

export function bytesPerSampleFrame(layout: FrameLayout): number {
  return (layout.format === 'PCMU' ? 1 : 2) * layout.channels.length;
}

/**
 * Extracts one channel of an interleaved frame as μ-law mono. PCMU mono is returned as-is (no copy).
 * Returns null when the layout does not carry that channel. The caller has checked whole samples.
 */
export function channelAsUlaw(frame: Uint8Array, layout: FrameLayout, channel: MediaChannel): Uint8Array | null {
  const index = layout.channels.indexOf(channel);
  if (index < 0) return null;
  const n = layout.channels.length;
  if (layout.format === 'PCMU') {
    if (n === 1) return frame;
    const out = new Uint8Array(frame.length / n);
    for (let i = 0, j = index; i < out.length; i++, j += n) out[i] = frame[j]!;
    return out;
  }
  const samples = frame.length / (2 * n);
  const out = new Uint8Array(samples);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  for (let i = 0, off = index * 2; i < samples; i++, off += 2 * n) {
    out[i] = ULAW_ENCODE[view.getInt16(off, true) + 32768]!;
  }
  return out;
}

/**
 * Converts μ-law mono (what the model produces) to the negotiated outbound layout.
 * For a stereo layout the same audio goes on every channel ([U]: Audio Connector offers PCMU mono in practice).
 */
export function ulawToLayout(ulaw: Uint8Array, layout: FrameLayout): Uint8Array {
  const n = layout.channels.length;
  if (layout.format === 'PCMU') {
    if (n === 1) return ulaw;
    const out = new Uint8Array(ulaw.length * n);
    for (let i = 0, j = 0; i < ulaw.length; i++) for (let c = 0; c < n; c++) out[j++] = ulaw[i]!;
    return out;
  }
  const out = new Uint8Array(ulaw.length * 2 * n);
  const view = new DataView(out.buffer);
  for (let i = 0, off = 0; i < ulaw.length; i++) {
    const s = ULAW_DECODE[ulaw[i]!]!;
    for (let c = 0; c < n; c++, off += 2) view.setInt16(off, s, true);
  }
  return out;
}
