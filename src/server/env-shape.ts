/**
 * Environment variables of the server process beyond the core ones in src/config/env.ts (draining and
 * capacity), as a zod shape merged into `envSchema` (src/cli/env.ts).
 */
import { z } from 'zod';
import { intInRange } from '../config/env-fields.js';
import type { ServerCoreEnv } from '../config/env.js';

export const DEFAULT_DRAIN_TIMEOUT = 110;
export const DEFAULT_MAX_SESSIONS = 500;

export const shutdownEnvShape = {
  /**
   * After SIGTERM, how long live calls may continue before their sockets are closed. Keep it below the
   * platform's kill deadline (App Platform `termination.grace_period_seconds`, default 120).
   */
  DRAIN_TIMEOUT: intInRange(0, 3600).default(DEFAULT_DRAIN_TIMEOUT),
  /**
   * Concurrent AudioHook sessions this process accepts; beyond it upgrades get 503 (Genesys retries
   * elsewhere or later) and /readyz answers 503 so a load balancer stops sending more.
   */
  MAX_SESSIONS: intInRange(1, 100_000).default(DEFAULT_MAX_SESSIONS),
};

export type ShutdownEnv = z.infer<z.ZodObject<typeof shutdownEnvShape>>;

/**
 * What the HTTP server reads: the core variables, plus draining and capacity (absent in hand-built
 * environments: defaults apply) and the metrics token. The process composes the full set (src/cli/env.ts).
 */
export type ServerEnv = ServerCoreEnv & Partial<ShutdownEnv> & { METRICS_TOKEN?: string | undefined };
