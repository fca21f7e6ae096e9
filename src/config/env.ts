/**
 * Process configuration: every environment variable the server reads, in one zod schema.
 * A bad value stops start-up with a ConfigError naming the variable and what is allowed.
 * The README's configuration table is checked against `ENV_DOCS` by a test.
 */
import { z } from 'zod';
import { boolFromString, intInRange } from './env-fields.js';
import { bridgeEnvShape } from '../bridge/env.js';
import { consoleEnvShape } from '../console/env.js';
import { spoolEnvShape } from '../bridge/spool.js';
import { realtimeEnvShape } from '../realtime/env.js';
import { shutdownEnvShape } from '../server/env-shape.js';
import { metricsEnvShape } from '../server/metrics.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const base64Secret = z
  .string()
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, { message: 'must be base64 (the client secret exactly as Genesys shows it)' })
  .refine((s) => Buffer.from(s, 'base64').length > 0, { message: 'must decode to at least one byte' });

/** Variables of the AudioHook server core. */
export const serverEnvShape = {
  PORT: intInRange(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  AUDIOHOOK_PATH: z
    .string()
    .regex(/^\/[A-Za-z0-9._~\-/]*$/, { message: 'must be a URL path starting with "/"' })
    .transform((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p))
    .default('/audiohook'),
  GENESYS_API_KEY: z.string().min(1, { message: 'is required (the API key of the Audio Connector integration)' }),
  GENESYS_CLIENT_SECRET: base64Secret.optional(),
  /** Key rotation: a second valid key (and its optional secret), accepted alongside the first. */
  GENESYS_API_KEY_2: z.string().min(1).optional(),
  GENESYS_CLIENT_SECRET_2: base64Secret.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Trust X-Forwarded-Host/-Proto from a TLS-terminating proxy when computing @authority. */
  TRUST_PROXY: boolFromString.default(true),
};

/** Every variable the process reads: server core, metrics, model connection, call bridge (incl. webhook). */
export const envSchema = z.object({ ...serverEnvShape, ...shutdownEnvShape, ...metricsEnvShape, ...realtimeEnvShape, ...bridgeEnvShape, ...spoolEnvShape, ...consoleEnvShape });

export type Env = z.infer<typeof envSchema>;

/** Parses an environment map; throws ConfigError listing every bad variable by name. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  // Empty strings count as unset, as in most .env files.
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== '') cleaned[k] = v;
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const message = issue.code === 'invalid_type' && cleaned[name] === undefined ? 'is required' : issue.message;
      return `${name} ${message}`;
    });
    throw new ConfigError(problems);
  }
  return result.data;
}
