/**
 * G.711 μ-law at 8 kHz mono — the only audio format on both sides of the bridge — is one byte per sample,
 * 8 bytes per millisecond. Every bytes↔time conversion goes through here. In src/util because the
 * protocol, audio and model layers all count μ-law time and none may import a sibling.
 */
export const ULAW_SAMPLE_RATE = 8000;
/** μ-law 8 kHz mono: 8 bytes per millisecond. */
export const ULAW_BYTES_PER_MS = ULAW_SAMPLE_RATE / 1000;

/** Milliseconds of audio in `bytes` (or samples) of 8 kHz μ-law. */
export function ulawMs(bytes: number): number {
  return bytes / ULAW_BYTES_PER_MS;
}

/** Bytes (samples) of 8 kHz μ-law in `ms` milliseconds. */
export function ulawBytes(ms: number): number {
  return ms * ULAW_BYTES_PER_MS;
}
