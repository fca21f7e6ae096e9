/** Settings of the live operations console (src/console), merged into the process schema (src/config/env.ts). */
import { z } from 'zod';
import { boolFromString, intInRange, msInRange } from '../config/env-fields.js';

export const consoleEnvShape = {
  /** Turns the console on at /console; the shared sign-in token (at least 16 characters). */
  CONSOLE_TOKEN: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  /** Show caller and bot transcript text in the console (personal data: off by default). */
  CONSOLE_TRANSCRIPTS: boolFromString.default(false),
  /** Ended calls the console keeps in memory (the webhook stays the system of record). */
  CONSOLE_MAX_ENDED_CALLS: intInRange(1, 1000).default(50),
  /**
   * Fleet mode (REDIS_URL): how long the console keeps showing the live calls of another instance it no
   * longer hears from (each instance announces its calls every third of this); then they are marked lost.
   */
  CONSOLE_INSTANCE_TIMEOUT_MS: msInRange(1500, 600_000).default(15_000),
};

export type ConsoleEnv = z.infer<z.ZodObject<typeof consoleEnvShape>>;
