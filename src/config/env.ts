/**
 * Reading the environment: the core server variables, and `parseEnvironment`, which checks a composed
 * schema (src/cli/env.ts puts every concern's shape together) and reports every mistake at once: bad or
 * missing values in our wording, unusable paths, cross-setting problems, and — as warnings — variables
 * that look like ours but are unknown, or that have no effect without another.
 * This folder imports nothing above it: the shapes come in as arguments.
 */
import { z } from 'zod';
import { boolFromString, intInRange } from './env-fields.js';
import { unknownNameWarnings } from './names.js';
import { pathProblem, type PathKind } from './paths.js';
import { ourWording } from './wording.js';

export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    /** Warnings found alongside (a misspelt name often explains a "required" problem). */
    readonly warnings: string[] = [],
  ) {
    const lines = [`invalid configuration:\n  - ${problems.join('\n  - ')}`];
    if (warnings.length > 0) lines.push(`warnings:\n  - ${warnings.join('\n  - ')}`);
    super(lines.join('\n'));
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

export type ServerCoreEnv = z.infer<z.ZodObject<typeof serverEnvShape>>;

/** `setting` does nothing unless `needs` is set too (warned, not fatal: the rest still works). */
export interface SettingDependency {
  setting: string;
  needs: string;
}

export interface EnvRules<T> {
  /** Prefixes that mark a variable as ours: an unknown name with one of them is warned about. */
  prefixes: readonly string[];
  /** Names with one of our prefixes that another component reads (the OpenAI SDK's own variables). */
  othersNames?: readonly string[];
  /** Settings naming a path, checked when set. */
  paths?: Readonly<Record<string, PathKind>>;
  dependencies?: readonly SettingDependency[];
  /**
   * Checks across settings; each returns problems (fatal). They run even when some value is bad, on the
   * values that did parse (a bad one is absent), so every problem is reported in one round.
   */
  checks?: readonly ((env: T) => string[])[];
}

export interface EnvCheck<T> {
  env: T;
  warnings: string[];
}

/** Empty strings count as unset, as in most .env files. */
function setVariables(source: Record<string, string | undefined>): Record<string, string> {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== '') cleaned[k] = v;
  return cleaned;
}

/**
 * Parses an environment map with `schema` and `rules`. Throws one ConfigError listing every problem
 * (with the warnings); otherwise returns the values and the warnings for the caller to log.
 */
export function parseEnvironment<S extends z.ZodObject>(
  schema: S,
  source: Record<string, string | undefined>,
  rules: EnvRules<z.infer<S>>,
): EnvCheck<z.infer<S>> {
  const set = setVariables(source);
  const known = Object.keys(schema.shape);
  const warnings = unknownNameWarnings(Object.keys(set), { known, prefixes: rules.prefixes, othersNames: rules.othersNames ?? [] });
  const problems: string[] = [];
  const result = schema.safeParse(set, { error: ourWording });
  const shape = schema.shape as Record<string, z.ZodType>;
  for (const { setting, needs } of rules.dependencies ?? []) {
    if (set[setting] === undefined || set[needs] !== undefined) continue;
    // Set to its default (a copied .env.example): nothing is lost, nothing to say.
    const value = shape[setting]?.safeParse(set[setting]);
    if (value?.success && value.data === shape[setting]?.safeParse(undefined).data) continue;
    warnings.push(`${setting} has no effect without ${needs}`);
  }

  if (!result.success) {
    for (const issue of result.error.issues) problems.push(`${issue.path.join('.') || '(environment)'} ${issue.message}`);
  }
  for (const [name, kind] of Object.entries(rules.paths ?? {})) {
    const value = set[name];
    const problem = value === undefined ? undefined : pathProblem(name, value, kind);
    if (problem !== undefined) problems.push(problem);
  }
  const values = result.success ? result.data : valuesThatParse(schema, set);
  for (const check of rules.checks ?? []) problems.push(...check(values));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems, warnings);
  return { env: result.data, warnings };
}

/** Field by field, the values that parse on their own; the others are left out. */
function valuesThatParse<S extends z.ZodObject>(schema: S, set: Record<string, string>): z.infer<S> {
  const values: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const parsed = field.safeParse(set[name]);
    if (parsed.success && parsed.data !== undefined) values[name] = parsed.data;
  }
  return values as z.infer<S>;
}
