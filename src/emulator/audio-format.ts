/**
 * Session audio formats as bytes and samples. The emulator's script audio is μ-law 8 kHz; when a session's
 * output format is not audio/pcmu it is converted (to 24 kHz L16 or A-law) so a bridge that forgot to ask
 * for pcmu receives exactly the wrong-format audio the real API would send.
 */
import g711 from 'g711';
import { ULAW_DECODE, readL16, writeL16 } from '../audio/codec.js';
import type { AudioFormat } from './client-events.js';

export function bytesPerMs(format: AudioFormat): number {
  return format.type === 'audio/pcm' ? 48 : 8; // 24 kHz × 2 bytes, or 8 kHz × 1 byte
}

export function sampleRate(format: AudioFormat): number {
  return format.type === 'audio/pcm' ? 24000 : 8000;
}

/** Decodes input-buffer bytes of the session format to linear samples (whole samples only). */
export function decodeInput(bytes: Uint8Array, format: AudioFormat): Int16Array {
  if (format.type === 'audio/pcmu') {
    const out = new Int16Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) out[i] = ULAW_DECODE[bytes[i]!]!;
    return out;
  }
  if (format.type === 'audio/pcma') return Int16Array.from(g711.alawToPCM(bytes, 16) as unknown as ArrayLike<number>);
  return readL16(bytes);
}

/** Converts μ-law 8 kHz script audio to the session output format. */
export function encodeOutput(ulaw: Uint8Array, format: AudioFormat): Uint8Array {
  if (format.type === 'audio/pcmu') return ulaw;
  const linear = new Int16Array(ulaw.length);
  for (let i = 0; i < ulaw.length; i++) linear[i] = ULAW_DECODE[ulaw[i]!]!;
  if (format.type === 'audio/pcma') return g711.alawFromPCM(linear);
  // 8 → 24 kHz by linear interpolation: enough for a detectable, audible wrong-format stream.
  const up = new Int16Array(linear.length * 3);
  for (let i = 0; i < linear.length; i++) {
    const a = linear[i]!;
    const b = linear[i + 1] ?? a;
    up[i * 3] = a;
    up[i * 3 + 1] = Math.round(a + (b - a) / 3);
    up[i * 3 + 2] = Math.round(a + (2 * (b - a)) / 3);
  }
  return writeL16(up);
}
