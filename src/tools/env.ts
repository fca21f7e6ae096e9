/** Environment variables of tools (merged into src/config/env.ts) and the Genesys Cloud OAuth settings. */
import { z } from 'zod';
import { boolFromString, intInRange, msInRange } from '../config/env-fields.js';

/**
 * Genesys Cloud region domains (api.<domain>, login.<domain>), from the official JS SDK's region list
 * (purecloud-platform-client-v2 262.0.0 PureCloudRegionHosts.js). Hosts are never built by string rules.
 */
export const GENESYS_REGIONS = [
  'mypurecloud.com',
  'mypurecloud.ie',
  'mypurecloud.com.au',
  'mypurecloud.jp',
  'mypurecloud.de',
  'usw2.pure.cloud',
  'cac1.pure.cloud',
  'apne2.pure.cloud',
  'euw2.pure.cloud',
  'aps1.pure.cloud',
  'use2.us-gov-pure.cloud',
  'sae1.pure.cloud',
  'mec1.pure.cloud',
  'apne3.pure.cloud',
  'euc2.pure.cloud',
  'mxc1.pure.cloud',
  'apse1.pure.cloud',
  'edee1.eusc-pure.cloud',
] as const;

const baseUrl = z
  .string()
  .url({ message: 'must be an http(s) URL' })
  .refine((u) => /^https?:\/\//.test(u), { message: 'must be an http(s) URL' })
  .transform((u) => u.replace(/\/+$/, ''));

export const toolsEnvShape = {
  /** Bot profiles (YAML or JSON): bots by Connector ID and their tools. Unset: one bot from env. */
  BOTS_FILE: z.string().min(1).optional(),
  TOOL_TIMEOUT_MS: msInRange(500, 60_000).default(8000),
  TOOL_MAX_CALLS_PER_CALL: intInRange(1, 1000).default(20),
  /** After this long without a tool result the bot says a short holding phrase. */
  TOOL_FILLER_AFTER_MS: msInRange(200, 10_000).default(1200),
  /** Tool output longer than this (characters of JSON) is cut before it reaches the model. */
  TOOL_MAX_OUTPUT_CHARS: intInRange(256, 100_000).default(4000),
  /** Put tool arguments and results into the call record (never into logs at info). */
  TOOL_LOG_ARGUMENTS: boolFromString.default(false),
  GENESYS_REGION: z.enum(GENESYS_REGIONS, { message: `must be a Genesys Cloud region domain such as mypurecloud.com or euw2.pure.cloud` }).optional(),
  GENESYS_OAUTH_CLIENT_ID: z.string().min(1).optional(),
  GENESYS_OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
  /** Override https://api.<region> (tests, proxies). */
  GENESYS_API_BASE_URL: baseUrl.optional(),
  /** Override https://login.<region> (tests, proxies). */
  GENESYS_LOGIN_BASE_URL: baseUrl.optional(),
};

export type ToolsEnv = z.infer<z.ZodObject<typeof toolsEnvShape>>;

export interface GenesysOAuthSettings {
  apiBaseUrl: string;
  loginBaseUrl: string;
  clientId: string;
  clientSecret: string;
}

/** Thrown for an incomplete Genesys OAuth configuration; names the variables. */
export class ToolsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolsConfigError';
  }
}

type GenesysEnv = Pick<
  ToolsEnv,
  'GENESYS_REGION' | 'GENESYS_OAUTH_CLIENT_ID' | 'GENESYS_OAUTH_CLIENT_SECRET' | 'GENESYS_API_BASE_URL' | 'GENESYS_LOGIN_BASE_URL'
>;

/**
 * The OAuth client for Data Actions, or undefined when none of its variables is set. A partial set is an
 * error naming what is missing (a Data Action that can never run must stop start-up, not fail per call).
 */
export function genesysOAuthFromEnv(env: Partial<GenesysEnv>): GenesysOAuthSettings | undefined {
  const any =
    env.GENESYS_REGION ?? env.GENESYS_OAUTH_CLIENT_ID ?? env.GENESYS_OAUTH_CLIENT_SECRET ?? env.GENESYS_API_BASE_URL ?? env.GENESYS_LOGIN_BASE_URL;
  if (any === undefined) return undefined;
  const missing: string[] = [];
  if (!env.GENESYS_OAUTH_CLIENT_ID) missing.push('GENESYS_OAUTH_CLIENT_ID');
  if (!env.GENESYS_OAUTH_CLIENT_SECRET) missing.push('GENESYS_OAUTH_CLIENT_SECRET');
  if (!env.GENESYS_REGION && !(env.GENESYS_API_BASE_URL && env.GENESYS_LOGIN_BASE_URL)) {
    missing.push('GENESYS_REGION (or both GENESYS_API_BASE_URL and GENESYS_LOGIN_BASE_URL)');
  }
  if (missing.length > 0) throw new ToolsConfigError(`Genesys Data Actions need ${missing.join(', ')}`);
  return {
    apiBaseUrl: env.GENESYS_API_BASE_URL ?? `https://api.${env.GENESYS_REGION}`,
    loginBaseUrl: env.GENESYS_LOGIN_BASE_URL ?? `https://login.${env.GENESYS_REGION}`,
    clientId: env.GENESYS_OAUTH_CLIENT_ID!,
    clientSecret: env.GENESYS_OAUTH_CLIENT_SECRET!,
  };
}
