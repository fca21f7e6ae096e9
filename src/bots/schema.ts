/**
 * The bots file (BOTS_FILE): bot profiles keyed by Connector ID, an optional default bot, and the tool
 * sources they may use. Field names as in docs/BOTS.md.
 */
import { z } from 'zod';
import { REALTIME_VOICES } from '../realtime/env.js';
import { toolSpec } from '../tools/spec.js';

/** A Connector ID as Genesys appends it to the base URI (one path segment, no control characters). */
const connectorId = z.string().regex(/^[A-Za-z0-9._~-]{1,128}$/, { message: 'must be 1–128 of A-Z a-z 0-9 . _ ~ -' });
const toolKey = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1–64 of A-Z a-z 0-9 _ -' });

export const botProfileSchema = z.strictObject({
  instructions: z.string().trim().min(1).max(20_000).optional(),
  voice: z.enum(REALTIME_VOICES, { message: `must be one of ${REALTIME_VOICES.join(', ')}` }).optional(),
  model: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'must be a model name' }).optional(),
  language: z.string().trim().regex(/^[\p{L} ()-]{2,40}$/u, { message: 'must be a language code or name such as en-US' }).optional(),
  /** true: the bot greets first; false: the caller speaks first; text: exactly this greeting. */
  greeting: z.union([z.boolean(), z.string().trim().min(1).max(500)]).optional(),
  /** Said when a tool has not answered after TOOL_FILLER_AFTER_MS (default: one in the call's language). */
  holding_phrase: z.string().trim().min(1).max(200).optional(),
  tools: z.array(toolKey).max(64).default([]),
});

export const botsFileSchema = z.strictObject({
  default: connectorId.optional(),
  bots: z.record(connectorId, botProfileSchema).refine((b) => Object.keys(b).length > 0, { message: 'must define at least one bot' }),
  tools: z.record(toolKey, toolSpec).default({}),
});

export type BotProfileInput = z.infer<typeof botProfileSchema>;
export type BotsFileInput = z.infer<typeof botsFileSchema>;
