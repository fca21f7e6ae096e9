/**
 * Identifies caller frames by content: the first 8 bytes of each frame carry a 32-bit id, one nibble per
 * byte as μ-law 0xF0–0xFF. Those codes are the quietest μ-law values (|x| ≤ 124 of 32767, below −48 dBFS), so a tag neither
 * makes silence "speech" for the emulator's VAD nor changes a tone frame's level. The bridge relays PCMU
 * byte for byte, so the id survives into `input_audio_buffer.append`.
 */
export const TAG_BYTES = 8;
/** Id layout: call index in the high bits, frame sequence in the low 18 bits (14.5 h of 200 ms frames). */
export const SEQ_BITS = 18;
export const MAX_CALLS = 2 ** (32 - SEQ_BITS);

export function frameId(callIndex: number, seq: number): number {
  if (!Number.isInteger(callIndex) || callIndex < 0 || callIndex >= MAX_CALLS) throw new RangeError(`call index ${callIndex} out of range`);
  return callIndex * 2 ** SEQ_BITS + (seq % 2 ** SEQ_BITS);
}

export function callIndexOf(id: number): number {
  return Math.floor(id / 2 ** SEQ_BITS);
}

/** Writes `id` into the first TAG_BYTES of `frame` (which must be at least that long). */
export function writeTag(frame: Uint8Array, id: number): void {
  if (frame.length < TAG_BYTES) throw new RangeError('frame too short for a tag');
  for (let i = 0; i < TAG_BYTES; i++) frame[i] = 0xf0 | ((id >>> (4 * (TAG_BYTES - 1 - i))) & 0x0f);
}

/** The id in a frame's first bytes, or null when they are not a tag. */
export function readTag(bytes: Uint8Array): number | null {
  if (bytes.length < TAG_BYTES) return null;
  let id = 0;
  for (let i = 0; i < TAG_BYTES; i++) {
    const b = bytes[i]!;
    if ((b & 0xf0) !== 0xf0) return null;
    id = id * 16 + (b & 0x0f);
  }
  return id;
}

/** The tag of a base64 `input_audio_buffer.append` payload, decoding only its first 12 characters. */
export function readTagFromBase64(audio: string): number | null {
  return readTag(Buffer.from(audio.slice(0, 12), 'base64'));
}
