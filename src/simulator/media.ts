/**
 * Media offers as Genesys sends them, the check of the server's choice, and caller frames in the
 * negotiated layout.
 */
import { bytesPerSampleFrame, ULAW_DECODE, ULAW_SILENCE, type FrameLayout } from '../audio/codec.js';
import { usableMediaSchema, type MediaOffer } from '../audiohook/schemas.js';

export const PCMU_EXTERNAL: MediaOffer = { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 };
export const PCMU_STEREO: MediaOffer = { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 };
export const L16_EXTERNAL: MediaOffer = { type: 'audio', format: 'L16', channels: ['external'], rate: 8000 };
export const L16_STEREO: MediaOffer = { type: 'audio', format: 'L16', channels: ['external', 'internal'], rate: 8000 };

/** What Audio Connector offers in practice (AudioHook spec: media formats). */
export const DEFAULT_OFFERS: readonly MediaOffer[] = [PCMU_EXTERNAL];

/** Structural equality of JSON values; object key order is irrelevant, array order is not. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Checks `opened.media` against the offers: [] or exactly one offered entry copied verbatim (the RI client
 * fails the session with 400 otherwise). Returns a reason string when invalid.
 */
export function checkOpenedMedia(offers: readonly MediaOffer[], media: readonly unknown[]): string | null {
  if (media.length === 0) return null;
  if (media.length > 1) return `opened.media must hold one offered entry or none, got ${media.length}`;
  const chosen = media[0];
  if (!offers.some((offer) => jsonEqual(offer, chosen))) {
    return `opened.media entry ${JSON.stringify(chosen)} is not one of the offers copied verbatim`;
  }
  return null;
}

/** The frame layout of a negotiated media entry, or null when it is not audio we can produce. */
export function layoutOf(media: MediaOffer): FrameLayout | null {
  const parsed = usableMediaSchema.safeParse(media);
  return parsed.success ? { format: parsed.data.format, channels: parsed.data.channels } : null;
}

/** Bytes per second of audio in this layout at 8 kHz. */
export function bytesPerSecond(layout: FrameLayout): number {
  return 8000 * bytesPerSampleFrame(layout);
}

/**
 * Builds a caller frame in the negotiated layout from caller μ-law mono: the caller is on the `external`
 * channel; `internal` (the bot/agent side, which Genesys would mix in) carries silence.
 */
export function callerFrame(ulaw: Uint8Array, layout: FrameLayout): Uint8Array {
  const n = layout.channels.length;
  if (layout.format === 'PCMU') {
    if (n === 1 && layout.channels[0] === 'external') return ulaw;
    const out = new Uint8Array(ulaw.length * n);
    for (let i = 0, j = 0; i < ulaw.length; i++) {
      for (const channel of layout.channels) out[j++] = channel === 'external' ? ulaw[i]! : ULAW_SILENCE;
    }
    return out;
  }
  const out = new Uint8Array(ulaw.length * 2 * n);
  const view = new DataView(out.buffer);
  for (let i = 0, off = 0; i < ulaw.length; i++) {
    const sample = ULAW_DECODE[ulaw[i]!]!;
    for (const channel of layout.channels) {
      view.setInt16(off, channel === 'external' ? sample : 0, true);
      off += 2;
    }
  }
  return out;
}
