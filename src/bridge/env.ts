/** Environment variables of the call bridge (merged into src/config/env.ts with realtimeEnvShape). */
import { z } from 'zod';
import { webhookEnvShape } from './webhook.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const ms = (min: number, max: number) =>
  z.coerce
    .number({ message: `must be an integer number of ms from ${min} to ${max}` })
    .int({ message: `must be an integer number of ms from ${min} to ${max}` })
    .min(min, { message: `must be an integer number of ms from ${min} to ${max}` })
    .max(max, { message: `must be an integer number of ms from ${min} to ${max}` });

export const bridgeEnvShape = {
  /** Send `bot_turn_response` events with the bot's text (Genesys Historical Execution reporting). */
  BOT_TURN_EVENTS: bool.default(false),
  DTMF_INTER_DIGIT_TIMEOUT_MS: ms(500, 20_000).default(3000),
  /** How long to wait for the model's summary before using the transcript-only fallback. */
  SUMMARY_TIMEOUT_MS: ms(1000, 60_000).default(10_000),
  /** Upper bound on waiting for the farewell to play before `disconnect` on a bot-ended call. */
  FAREWELL_TIMEOUT_MS: ms(1000, 60_000).default(15_000),
  /** Optional cap on a call, in seconds: the bot says goodbye and the call ends `completed` with outputs. */
  MAX_CALL_DURATION: z.coerce
    .number({ message: 'must be an integer number of seconds from 1 to 86400' })
    .int({ message: 'must be an integer number of seconds from 1 to 86400' })
    .min(1, { message: 'must be an integer number of seconds from 1 to 86400' })
    .max(86_400, { message: 'must be an integer number of seconds from 1 to 86400' })
    .optional(),
  ...webhookEnvShape,
};

export const bridgeEnvSchema = z.object(bridgeEnvShape);
export type BridgeEnv = z.infer<typeof bridgeEnvSchema>;
