/**
 * The audio AudioHook carries — its formats, its channels, and the size limit on one audio message —
 * defined here, below the protocol layer, so audio handling needs nothing from src/audiohook
 * (src/audiohook/schemas.ts builds its zod schemas on these).
 */

export const MEDIA_FORMATS = ['PCMU', 'L16'] as const;
export const MEDIA_CHANNELS = ['external', 'internal'] as const;
export type MediaFormat = (typeof MEDIA_FORMATS)[number];
export type MediaChannel = (typeof MEDIA_CHANNELS)[number];

/** AudioHook's cap on one binary (audio) message, in either direction: 64,000 bytes (AUDIOHOOK.md §3.2). */
export const MAX_AUDIO_MESSAGE_BYTES = 64_000;
