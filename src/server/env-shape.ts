/**
 * Environment variables of the server process beyond the core ones in src/config/env.ts, as a zod shape
 * to merge into `envSchema`. Until merged, startServer falls back to the same defaults.
 */
import { z } from 'zod';

export const DEFAULT_DRAIN_TIMEOUT = 110;

export const shutdownEnvShape = {
  /**
   * After SIGTERM, how long live calls may continue before their sockets are closed. Keep it below the
   * platform's kill deadline (App Platform `termination.grace_period_seconds`, default 120).
   */
  DRAIN_TIMEOUT: z.coerce
    .number({ message: 'must be an integer from 0 to 3600' })
    .int({ message: 'must be an integer from 0 to 3600' })
    .min(0, { message: 'must be an integer from 0 to 3600' })
    .max(3600, { message: 'must be an integer from 0 to 3600' })
    .default(DEFAULT_DRAIN_TIMEOUT),
};

export type ShutdownEnv = z.infer<z.ZodObject<typeof shutdownEnvShape>>;
