/** Environment variables of the call bridge (merged into src/cli/env.ts with realtimeEnvShape). */
import { z } from 'zod';
import { boolFromString, msInRange, secondsInRange } from '../config/env-fields.js';
import { webhookEnvShape } from './webhook.js';

export const bridgeEnvShape = {
  /** Send `bot_turn_response` events with the bot's text (Genesys Historical Execution reporting). */
  BOT_TURN_EVENTS: boolFromString.default(false),
  DTMF_INTER_DIGIT_TIMEOUT_MS: msInRange(500, 20_000).default(3000),
  /** How long to wait for the model's summary before using the transcript-only fallback. */
  SUMMARY_TIMEOUT_MS: msInRange(1000, 60_000).default(10_000),
  /** Upper bound on waiting for the farewell to play before `disconnect` on a bot-ended call. */
  FAREWELL_TIMEOUT_MS: msInRange(1000, 60_000).default(15_000),
  /** Optional cap on a call, in seconds: the bot says goodbye and the call ends `completed` with outputs. */
  MAX_CALL_DURATION: secondsInRange(1, 86_400).optional(),
  ...webhookEnvShape,
};

export const bridgeEnvSchema = z.object(bridgeEnvShape);
export type BridgeEnv = z.infer<typeof bridgeEnvSchema>;
