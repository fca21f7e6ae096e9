/** Generated μ-law tones: stand-in reply audio and test input ("caller speech"). */
import { ULAW_ENCODE, ULAW_SILENCE } from '../audio/codec.js';

export function ulawTone(ms: number, frequencyHz = 440, amplitude = 8000): Uint8Array {
  const samples = Math.max(0, Math.round(ms * 8));
  const out = new Uint8Array(samples);
  for (let i = 0; i < samples; i++) {
    const s = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / 8000));
    out[i] = ULAW_ENCODE[s + 32768]!;
  }
  return out;
}

export function ulawSilence(ms: number): Uint8Array {
  return new Uint8Array(Math.max(0, Math.round(ms * 8))).fill(ULAW_SILENCE);
}
