/**
 * Process configuration: every environment variable the process reads, composed here at the top from
 * each concern's own zod shape (src/config/ holds only the generic reading and checking). A bad value
 * stops start-up with one ConfigError naming every bad variable; unknown look-alike names and settings
 * without effect come back as warnings. The README's configuration table is checked against `envSchema`.
 * A new setting needs only its shape added below: known names and path checks derive from the schema.
 */
import { readFileSync } from 'node:fs';
import dotenv from 'dotenv';
import { z } from 'zod';
import { bridgeEnvShape } from '../bridge/env.js';
import { spoolEnvShape } from '../bridge/spool.js';
import { clusterEnvShape } from '../cluster/env.js';
import { consoleEnvShape } from '../console/env.js';
import { ConfigError, parseEnvironment, serverEnvShape, type EnvCheck, type EnvRules } from '../config/env.js';
import { pathKindByName, type PathKind } from '../config/paths.js';
import { fleetEnvShape } from '../fleet/env.js';
import { connectSettingsFromEnv } from '../realtime/connect-settings.js';
import { realtimeEnvShape } from '../realtime/env.js';
import { apiKeysFromEnv } from '../server/api-keys.js';
import { shutdownEnvShape } from '../server/env-shape.js';
import { metricsEnvShape } from '../server/metrics.js';
import { genesysOAuthFromEnv, toolsEnvShape } from '../tools/env.js';

export { ConfigError } from '../config/env.js';

/** Every variable the process reads: server core, metrics, model connection, call bridge (incl. webhook), tools, fleet (REDIS_URL), console, workers. */
export const envSchema = z.object({ ...serverEnvShape, ...shutdownEnvShape, ...metricsEnvShape, ...realtimeEnvShape, ...bridgeEnvShape, ...spoolEnvShape, ...toolsEnvShape, ...fleetEnvShape, ...consoleEnvShape, ...clusterEnvShape });

export type Env = z.infer<typeof envSchema>;

/** Every name the schema reads, in schema order. */
export const KNOWN_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/**
 * Prefixes of our variables. OTEL_* is not here: those are OpenTelemetry's standard variables, read by
 * its SDK (src/telemetry/), not ours to second-guess.
 */
export const OUR_PREFIXES = [
  'OPENAI_', 'AZURE_OPENAI_', 'GENESYS_', 'AUDIOHOOK_', 'AI_', 'VAD_', 'MODEL_', 'SUMMARY_', 'TOOL_', 'CONSOLE_', 'REDIS_',
  'BOT_', 'BOTS_', 'DTMF_', 'FAREWELL_', 'METRICS_', 'REALTIME_', 'DRAIN_', 'NOISE_', 'MAX_', 'OUTBOX_',
] as const;

/** Variables with our prefixes that the SDKs we use read themselves (openai, node-redis). */
const OTHERS_NAMES = [
  'OPENAI_ADMIN_KEY', 'OPENAI_API_VERSION', 'OPENAI_CUSTOM_HEADERS', 'OPENAI_LOG', 'OPENAI_ORG_ID', 'OPENAI_PROJECT_ID',
  'OPENAI_WEBHOOK_SECRET', 'REDIS_DEBUG_MAINTENANCE', 'REDIS_EMIT_DIAGNOSTICS',
];

/** Path settings among `names`, by name (`…_FILE` read, `…_DIR` written): REALTIME_CA_FILE, SUMMARY_SPOOL_DIR, BOTS_FILE … */
export function pathSettings(names: readonly string[]): Record<string, PathKind> {
  return Object.fromEntries(
    names.flatMap((name) => {
      const kind = pathKindByName(name);
      return kind === undefined ? [] : [[name, kind] as const];
    }),
  );
}

const DEPENDENCIES = [
  { setting: 'SUMMARY_SPOOL_DIR', needs: 'SUMMARY_WEBHOOK_URL' },
  { setting: 'SUMMARY_SPOOL_MAX_FILES', needs: 'SUMMARY_SPOOL_DIR' },
  { setting: 'SUMMARY_WEBHOOK_SECRET', needs: 'SUMMARY_WEBHOOK_URL' },
  { setting: 'SUMMARY_WEBHOOK_TIMEOUT_MS', needs: 'SUMMARY_WEBHOOK_URL' },
  { setting: 'SUMMARY_WEBHOOK_RETRIES', needs: 'SUMMARY_WEBHOOK_URL' },
  { setting: 'AZURE_OPENAI_API_VERSION', needs: 'AZURE_OPENAI_ENDPOINT' },
  ...['REDIS_CA_FILE', 'REDIS_CA_CERT', 'REDIS_KEY_PREFIX', 'INSTANCE_ID', 'MAX_FLEET_SESSIONS', 'OUTBOX_CLAIM_IDLE_MS', 'OUTBOX_MAX_ATTEMPTS', 'OUTBOX_MAX_LEN', 'OUTBOX_PROVISIONAL_GRACE_MS'].map(
    (setting) => ({ setting, needs: 'REDIS_URL' }),
  ),
  { setting: 'CONSOLE_TRANSCRIPTS', needs: 'CONSOLE_TOKEN' },
  { setting: 'CONSOLE_MAX_ENDED_CALLS', needs: 'CONSOLE_TOKEN' },
  { setting: 'CONSOLE_INSTANCE_TIMEOUT_MS', needs: 'CONSOLE_TOKEN' },
  { setting: 'CONSOLE_INSTANCE_TIMEOUT_MS', needs: 'REDIS_URL' },
].filter((d) => KNOWN_VARIABLES.includes(d.setting) && KNOWN_VARIABLES.includes(d.needs));

/** The pairs the server needs together (a second secret without its key is an error, not a warning). */
function apiKeyProblems(env: Env): string[] {
  try {
    apiKeysFromEnv(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

/** `serve` needs a model: OPENAI_API_KEY or the three AZURE_OPENAI_* (the CA file is checked as a path). */
function modelProblems(env: Env): string[] {
  try {
    connectSettingsFromEnv({ ...env, REALTIME_CA_FILE: undefined });
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** Genesys Data Actions need the OAuth client id, secret and a region (or both base URLs) together. */
function genesysProblems(env: Env): string[] {
  try {
    genesysOAuthFromEnv(env);
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** A CA file Node would silently ignore (no PEM certificate in it) fails every model call later: say so now. */
function caFileProblems(env: Env): string[] {
  if (env.REALTIME_CA_FILE === undefined) return [];
  let text: string;
  try {
    text = readFileSync(env.REALTIME_CA_FILE, 'utf8');
  } catch {
    return []; // unreadable: already reported as a path problem
  }
  return text.includes('-----BEGIN CERTIFICATE-----') ? [] : [`REALTIME_CA_FILE: ${env.REALTIME_CA_FILE} holds no PEM certificate`];
}

function rules(forServe: boolean): EnvRules<Env> {
  return {
    prefixes: OUR_PREFIXES,
    othersNames: OTHERS_NAMES,
    paths: pathSettings(KNOWN_VARIABLES),
    dependencies: DEPENDENCIES,
    checks: forServe ? [apiKeyProblems, caFileProblems, genesysProblems, modelProblems] : [apiKeyProblems, caFileProblems, genesysProblems],
  };
}

export interface CheckEnvOptions {
  /** Also require what `serve` needs (a model configured). */
  serve?: boolean;
}

/** Parses and checks the environment: throws one ConfigError with every problem, else values + warnings. */
export function checkEnv(source: Record<string, string | undefined>, options: CheckEnvOptions = {}): EnvCheck<Env> {
  // No VAD_* "no effect" warnings: a call's AI_VAD_TYPE input variable may switch the VAD type, and
  // then the other type's environment defaults apply.
  return parseEnvironment(envSchema, source, rules(options.serve === true));
}

/** Parses an environment map; throws ConfigError listing every bad variable by name. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  return checkEnv(source).env;
}

/**
 * `serve`'s start-up: loads .env (if present; real environment variables win), checks everything `serve`
 * needs, and on a bad configuration prints every problem (and the warnings), without a stack trace, and
 * exits 1. Returns the warnings for the logger.
 */
export function loadEnvOrExit(source: NodeJS.ProcessEnv = process.env): EnvCheck<Env> {
  dotenv.config({ quiet: true });
  try {
    return checkEnv(source, { serve: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
