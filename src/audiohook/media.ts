/**
 * Media negotiation (AudioHook spec: `opened` and media) and outbound frame splitting.
 *
 * We answer with exactly one of the offered entries, echoed VERBATIM: the very JSON value the client
 * sent (same key order, channel order and unknown keys), because the client rejects anything it did not
 * offer (error 400).
 */
import { bytesPerSampleFrame, type FrameLayout } from '../audio/codec.js';
import { MAX_AUDIO_MESSAGE_BYTES, usableMediaSchema, type UsableMedia } from './schemas.js';

export interface MediaChoice {
  /** Index into the offered array. */
  index: number;
  /** The offered entry itself (raw JSON value), to echo in `opened`. */
  offer: unknown;
  /** The same entry, typed for audio handling. */
  layout: UsableMedia;
}

/**
 * Rank of a usable offer; lower is better. PCMU is preferred (no byte-order ambiguity, and it is what
 * Audio Connector sends, §6.1); mono external before stereo carrying external. Offers without the
 * external (caller) channel are useless to a voice bot.
 */
function rank(media: UsableMedia): number | null {
  if (!media.channels.includes('external')) return null;
  const formatRank = media.format === 'PCMU' ? 0 : 2;
  const channelRank = media.channels.length === 1 ? 0 : 1;
  return formatRank + channelRank;
}

/** Picks the best usable offer; ties keep the client's preference order. Null when none is usable. */
export function selectMedia(offers: readonly unknown[]): MediaChoice | null {
  let best: (MediaChoice & { rank: number }) | null = null;
  offers.forEach((offer, index) => {
    const parsed = usableMediaSchema.safeParse(offer);
    if (!parsed.success) return;
    const r = rank(parsed.data);
    if (r === null) return;
    if (best === null || r < best.rank) best = { index, offer, layout: parsed.data, rank: r };
  });
  if (best === null) return null;
  const { index, offer, layout } = best as MediaChoice & { rank: number };
  return { index, offer, layout };
}

const MAX_DESCRIBED_OFFERS = 5;
const MAX_FIELD_CHARS = 24;

function clip(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > MAX_FIELD_CHARS ? `${text.slice(0, MAX_FIELD_CHARS)}…` : text;
}

/** A short description of the offers, e.g. `L16/16000/[internal]`, for a `disconnect` info and logs. */
export function describeOffers(offers: readonly unknown[]): string {
  if (offers.length === 0) return 'none';
  const described = offers.slice(0, MAX_DESCRIBED_OFFERS).map((offer) => {
    if (typeof offer !== 'object' || offer === null) return clip(offer);
    const o = offer as Record<string, unknown>;
    const channels = Array.isArray(o.channels) ? o.channels.map(clip).join(',') : clip(o.channels);
    return `${clip(o.format)}/${clip(o.rate)}/[${channels}]`;
  });
  const more = offers.length > MAX_DESCRIBED_OFFERS ? ` (+${offers.length - MAX_DESCRIBED_OFFERS} more)` : '';
  return described.join(', ') + more;
}

/**
 * Splits audio in the negotiated layout into binary messages of at most `maxBytes`, each a whole number
 * of sample frames. Views into the input, no copies. A trailing partial sample frame is dropped (callers
 * pass whole frames; this only guards the invariant on the wire).
 */
export function splitIntoMessages(
  bytes: Uint8Array,
  layout: FrameLayout,
  maxBytes: number = MAX_AUDIO_MESSAGE_BYTES,
): Uint8Array[] {
  const frameBytes = bytesPerSampleFrame(layout);
  const chunk = Math.floor(maxBytes / frameBytes) * frameBytes;
  if (chunk <= 0) throw new RangeError(`maxBytes ${maxBytes} is smaller than one sample frame (${frameBytes})`);
  const usable = bytes.length - (bytes.length % frameBytes);
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < usable; offset += chunk) out.push(bytes.subarray(offset, Math.min(usable, offset + chunk)));
  return out;
}
