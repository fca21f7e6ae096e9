/**
 * AudioHook protocol v2 message shapes, both directions (AudioHook spec: message framing and message reference).
 * One source for types and validation: parse at the edge with these, trust the typed values inside.
 *
 * Leniency choices (safe with a real Genesys, recorded here and in the notes):
 * - Unknown extra keys in parameters are accepted (`looseObject`): Genesys adds fields over time.
 * - Media offers are not validated in `open` at all (any array entries): the media selector skips entries it
 *   cannot use, so one malformed offer next to a good one does not fail the open (or a connection probe).
 * - `close.reason` accepts any string; the four known values are typed in CLOSE_REASONS.
 * Messages we *send* are built from strict schemas and validated by the simulator.
 */
import { z } from 'zod';
import { MAX_AUDIO_MESSAGE_BYTES, MEDIA_CHANNELS, MEDIA_FORMATS, type MediaChannel, type MediaFormat } from '../audio/media-format.js';
import { DURATION_PATTERN } from './duration.js';

export { MAX_AUDIO_MESSAGE_BYTES, MEDIA_CHANNELS, MEDIA_FORMATS, type MediaChannel, type MediaFormat };

export const PROTOCOL_VERSION = '2';
export const MAX_TEXT_MESSAGE_CHARS = 65_535;
export const NULL_UUID = '00000000-0000-0000-0000-000000000000';

/** Any 8-4-4-4-12 hex id; the RI validator also accepts the null UUID and non-RFC variants seen in real traffic. */
export const uuidSchema = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
  message: 'must be a UUID',
});
export const durationSchema = z.string().regex(DURATION_PATTERN, { message: 'must be a duration like PT1.250S' });
const seqSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const ackSeqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const stringMap = z.record(z.string(), z.string());
const empty = z.looseObject({});

// ---------------------------------------------------------------- media


/** A media entry exactly as offered (loose: we echo it verbatim, so we keep unknown keys). */
export const mediaOfferSchema = z.looseObject({
  type: z.string(),
  format: z.string(),
  channels: z.array(z.string()),
  rate: z.number(),
});
export type MediaOffer = z.infer<typeof mediaOfferSchema>;

/** A media entry we can actually handle. */
export const usableMediaSchema = z.object({
  type: z.literal('audio'),
  format: z.enum(MEDIA_FORMATS),
  channels: z
    .array(z.enum(MEDIA_CHANNELS))
    .min(1)
    .max(2)
    .refine((c) => new Set(c).size === c.length, { message: 'channels must be distinct' }),
  rate: z.literal(8000),
});
export type UsableMedia = z.infer<typeof usableMediaSchema>;

// ---------------------------------------------------------------- client → server

export const participantSchema = z.looseObject({
  id: uuidSchema,
  ani: z.string(),
  aniName: z.string(),
  dnis: z.string(),
});

export const openParametersSchema = z.looseObject({
  organizationId: uuidSchema,
  conversationId: uuidSchema,
  participant: participantSchema,
  // Entries are not validated here: one malformed offer must not fail the whole `open` (nor a probe).
  // selectMedia (media.ts) skips entries it cannot use and echoes the chosen one verbatim.
  media: z.array(z.unknown()),
  language: z.string().optional(),
  supportedLanguages: z.boolean().optional(),
  customConfig: z.record(z.string(), z.unknown()).optional(),
  continuedSessions: z.array(z.unknown()).optional(),
  inputVariables: stringMap.optional(),
});
export type OpenParameters = z.infer<typeof openParametersSchema>;

export const CLOSE_REASONS = ['end', 'error', 'disconnect', 'reconnect'] as const;
export const closeParametersSchema = z.looseObject({ reason: z.string() });
export const pingParametersSchema = z.looseObject({ rtt: durationSchema.optional() });
export const resumedParametersSchema = z.looseObject({ start: durationSchema, discarded: durationSchema });
export const discardedParametersSchema = z.looseObject({ start: durationSchema, discarded: durationSchema });
export const updateParametersSchema = z.looseObject({ language: z.string().optional() });
export const clientErrorParametersSchema = z.looseObject({
  code: z.number().int().min(400).max(9999),
  message: z.string(),
  retryAfter: durationSchema.optional(),
});
export const dtmfParametersSchema = z.looseObject({
  digit: z.string().regex(/^[0-9*#A-Da-d]$/, { message: 'must be one DTMF key (0-9, *, #, A-D)' }),
});

/** Fields every client message carries (AudioHook spec: message envelope). */
export const clientEnvelopeSchema = z.object({
  version: z.literal(PROTOCOL_VERSION),
  id: uuidSchema,
  type: z.string().min(1),
  seq: seqSchema,
  serverseq: ackSeqSchema,
  position: durationSchema,
  parameters: z.record(z.string(), z.unknown()),
});
export type ClientEnvelope = z.infer<typeof clientEnvelopeSchema>;

const clientMessage = <T extends string, P extends z.ZodType>(type: T, parameters: P) =>
  clientEnvelopeSchema.extend({ type: z.literal(type), parameters });

export const clientMessageSchemas = {
  open: clientMessage('open', openParametersSchema),
  close: clientMessage('close', closeParametersSchema),
  ping: clientMessage('ping', pingParametersSchema),
  paused: clientMessage('paused', empty),
  resumed: clientMessage('resumed', resumedParametersSchema),
  update: clientMessage('update', updateParametersSchema),
  discarded: clientMessage('discarded', discardedParametersSchema),
  error: clientMessage('error', clientErrorParametersSchema),
  dtmf: clientMessage('dtmf', dtmfParametersSchema),
  playback_started: clientMessage('playback_started', empty),
  playback_completed: clientMessage('playback_completed', empty),
} as const;

export type ClientMessageType = keyof typeof clientMessageSchemas;
export const CLIENT_MESSAGE_TYPES = Object.keys(clientMessageSchemas) as ClientMessageType[];
export const clientMessageSchema = z.discriminatedUnion('type', [
  clientMessageSchemas.open,
  clientMessageSchemas.close,
  clientMessageSchemas.ping,
  clientMessageSchemas.paused,
  clientMessageSchemas.resumed,
  clientMessageSchemas.update,
  clientMessageSchemas.discarded,
  clientMessageSchemas.error,
  clientMessageSchemas.dtmf,
  clientMessageSchemas.playback_started,
  clientMessageSchemas.playback_completed,
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type ClientMessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;

export function isKnownClientType(type: string): type is ClientMessageType {
  return Object.hasOwn(clientMessageSchemas, type);
}

// ---------------------------------------------------------------- server → client

export const DISCONNECT_REASONS = ['completed', 'unauthorized', 'error'] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];

export const eventEntitySchema = z.object({ type: z.string().min(1), data: z.unknown() });
export type EventEntity = z.infer<typeof eventEntitySchema>;

export const botTurnResponseDataSchema = z.object({
  disposition: z.enum(['match', 'no_match', 'no_input']),
  text: z.string().optional(),
  confidence: z.number().min(0).max(1).optional(),
});

export const serverParametersSchemas = {
  opened: z.strictObject({
    media: z.array(mediaOfferSchema).max(1),
    startPaused: z.boolean(),
    discardTo: durationSchema.optional(),
    supportedLanguages: z.array(z.string()).optional(),
  }),
  closed: z.strictObject({}),
  pong: z.strictObject({}),
  disconnect: z.strictObject({
    reason: z.enum(DISCONNECT_REASONS),
    info: z.string().optional(),
    outputVariables: stringMap.optional(),
  }),
  event: z.strictObject({ entities: z.array(eventEntitySchema).min(1) }),
  pause: z.strictObject({}),
  resume: z.strictObject({}),
  updated: z.strictObject({}),
  reconnect: z.strictObject({ info: z.string().optional() }),
} as const;

export type ServerMessageType = keyof typeof serverParametersSchemas;
export type ServerParameters<T extends ServerMessageType> = z.infer<(typeof serverParametersSchemas)[T]>;

export const serverEnvelopeSchema = z.strictObject({
  version: z.literal(PROTOCOL_VERSION),
  id: uuidSchema,
  type: z.enum(Object.keys(serverParametersSchemas) as [ServerMessageType, ...ServerMessageType[]]),
  seq: seqSchema,
  clientseq: ackSeqSchema,
  parameters: z.record(z.string(), z.unknown()),
});

export interface ServerMessage<T extends ServerMessageType = ServerMessageType> {
  version: typeof PROTOCOL_VERSION;
  id: string;
  type: T;
  seq: number;
  clientseq: number;
  parameters: ServerParameters<T>;
}

/** Strictly validates a server message (used by the simulator; the server builds them typed). */
export function parseServerMessage(value: unknown): z.ZodSafeParseResult<ServerMessage> {
  const envelope = serverEnvelopeSchema.safeParse(value);
  if (!envelope.success) return envelope as z.ZodSafeParseResult<ServerMessage>;
  const params = serverParametersSchemas[envelope.data.type].safeParse(envelope.data.parameters);
  if (!params.success) return params as unknown as z.ZodSafeParseResult<ServerMessage>;
  return { success: true, data: { ...envelope.data, parameters: params.data } as ServerMessage };
}

/** Formats a zod error as a short, single-line reason for a protocol `info`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'message'}: ${i.message}`)
    .join('; ');
}
