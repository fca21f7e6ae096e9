/**
 * Architect input variables (open.parameters.inputVariables, strings) resolved over env defaults into the
 * settings of one call. Invalid values give an InputVariableError naming the variable and what is allowed;
 * the bridge sends it as `disconnect` error info so the flow's failure path shows it.
 *
 * AI_GREETING: unset or "true" → the bot speaks first with a short greeting of its own; "false" → the caller
 * speaks first; any other text → the bot opens with exactly that text.
 */
import { z } from 'zod';
import { REALTIME_VOICES, transcriptionModelOf, VAD_EAGERNESS, VAD_TYPES, type RealtimeEnv } from '../realtime/env.js';
import type { CallSettings, VadSettings } from '../realtime/session-config.js';
import { composeInstructions, DEFAULT_PERSONA } from './instructions.js';

export class InputVariableError extends Error {
  constructor(
    readonly variable: string,
    readonly allowed: string,
  ) {
    super(`input variable ${variable} ${allowed}`);
    this.name = 'InputVariableError';
  }
}

export type Greeting = { kind: 'none' } | { kind: 'model' } | { kind: 'text'; text: string };

export interface CallConfig {
  settings: CallSettings;
  greeting: Greeting;
  /** Data Actions the flow adds for this call (DATA_ACTION_IDS / DATA_ACTION_DESCRIPTIONS). */
  dataActions: Array<{ id: string; description?: string }>;
  /** The call's language (variable, profile or session), e.g. for the tool holding phrase. */
  language?: string;
}

/**
 * The bot profile layer (src/bots BotProfile fits): between Architect input variables and env defaults.
 * Values were validated when the bots file was loaded.
 */
export interface ProfileDefaults {
  instructions?: string;
  voice?: string;
  model?: string;
  language?: string;
  greeting?: boolean | string;
}

/** The env part the bridge resolves calls against. */
export type CallDefaults = Pick<
  RealtimeEnv,
  | 'OPENAI_MODEL'
  | 'OPENAI_VOICE'
  | 'OPENAI_INSTRUCTIONS'
  | 'VAD_TYPE'
  | 'VAD_THRESHOLD'
  | 'VAD_PREFIX_PADDING_MS'
  | 'VAD_SILENCE_DURATION_MS'
  | 'VAD_IDLE_TIMEOUT_MS'
  | 'VAD_EAGERNESS'
  | 'NOISE_REDUCTION'
  | 'INPUT_TRANSCRIPTION_MODEL'
  | 'AZURE_OPENAI_ENDPOINT'
>;

const MAX_PROMPT_CHARS = 20_000;
const MAX_CUSTOMER_DATA_CHARS = 4_000;

const rules = {
  prompt: { schema: z.string().trim().min(1).max(MAX_PROMPT_CHARS), allowed: `must be 1–${MAX_PROMPT_CHARS} characters` },
  voice: { schema: z.enum(REALTIME_VOICES), allowed: `must be one of ${REALTIME_VOICES.join(', ')}` },
  model: {
    schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/),
    allowed: 'must be a model name such as gpt-realtime-2.1 or gpt-realtime-2.1-mini',
  },
  language: {
    schema: z.string().trim().regex(/^[\p{L} ()-]{2,40}$/u),
    allowed: 'must be a language code or name such as en-US or German',
  },
  maxTokens: {
    schema: z.union([z.literal('inf'), z.coerce.number().int().min(1).max(4096)]),
    allowed: 'must be an integer from 1 to 4096, or inf',
  },
  vadType: { schema: z.enum(VAD_TYPES), allowed: 'must be server_vad or semantic_vad' },
  threshold: { schema: z.coerce.number().min(0).max(1), allowed: 'must be a number from 0 to 1' },
  silenceMs: { schema: z.coerce.number().int().min(100).max(10_000), allowed: 'must be an integer from 100 to 10000 (ms)' },
  prefixMs: { schema: z.coerce.number().int().min(0).max(5_000), allowed: 'must be an integer from 0 to 5000 (ms)' },
  idleMs: { schema: z.coerce.number().int().min(5_000).max(30_000), allowed: 'must be an integer from 5000 to 30000 (ms)' },
  eagerness: { schema: z.enum(VAD_EAGERNESS), allowed: 'must be low, medium, high or auto' },
  name: { schema: z.string().trim().min(1).max(100), allowed: 'must be 1–100 characters' },
} as const;

type Rule = { schema: z.ZodType; allowed: string };

function pick(vars: Record<string, string>, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = vars[name];
    if (value !== undefined && value.trim() !== '') return { name, value: value.trim() };
  }
  return undefined;
}

function read<T>(vars: Record<string, string>, names: string[], rule: Rule): T | undefined {
  const found = pick(vars, names);
  if (!found) return undefined;
  const parsed = rule.schema.safeParse(found.value);
  if (!parsed.success) throw new InputVariableError(found.name, rule.allowed);
  return parsed.data as T;
}

/** Parses CUSTOMER_DATA `key:value;key:value` (values may contain ':'). */
export function parseCustomerData(raw: string): Array<[string, string]> {
  if (raw.length > MAX_CUSTOMER_DATA_CHARS) {
    throw new InputVariableError('CUSTOMER_DATA', `must be at most ${MAX_CUSTOMER_DATA_CHARS} characters`);
  }
  const pairs: Array<[string, string]> = [];
  for (const segment of raw.split(';')) {
    if (segment.trim() === '') continue;
    const colon = segment.indexOf(':');
    const key = colon < 0 ? '' : segment.slice(0, colon).trim();
    if (key === '') throw new InputVariableError('CUSTOMER_DATA', 'must be key:value pairs separated by ";"');
    pairs.push([key, segment.slice(colon + 1).trim()]);
  }
  return pairs;
}

function parseGreeting(vars: Record<string, string>, profile: ProfileDefaults | undefined): Greeting {
  const found = pick(vars, ['AI_GREETING']);
  if (!found) {
    if (profile?.greeting === false) return { kind: 'none' };
    if (typeof profile?.greeting === 'string') return { kind: 'text', text: profile.greeting };
    return { kind: 'model' };
  }
  const lowered = found.value.toLowerCase();
  if (lowered === 'true') return { kind: 'model' };
  if (lowered === 'false') return { kind: 'none' };
  if (found.value.length > 500) throw new InputVariableError('AI_GREETING', 'must be true, false or a greeting of at most 500 characters');
  return { kind: 'text', text: found.value };
}

const MAX_DATA_ACTIONS = 10;
const DATA_ACTION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * DATA_ACTION_IDS (also GENESYS_DATA_ACTION_IDS; separated by | , ; or newlines, as flows built for the
 * connector we replace send them) and DATA_ACTION_DESCRIPTIONS (pipe-separated, in the same order). A
 * count mismatch is an error naming the variable, not a silent drop of every description.
 */
export function parseDataActions(vars: Record<string, string>): Array<{ id: string; description?: string }> {
  const ids = pick(vars, ['DATA_ACTION_IDS', 'GENESYS_DATA_ACTION_IDS']);
  if (!ids) return [];
  const list = ids.value.split(/[|,;\n]/).map((s) => s.trim()).filter((s) => s !== '');
  if (list.length > MAX_DATA_ACTIONS || list.some((id) => !DATA_ACTION_ID.test(id))) {
    throw new InputVariableError(ids.name, `must be up to ${MAX_DATA_ACTIONS} Data Action IDs (such as custom_-_0a1b…) separated by "|"`);
  }
  const descriptionsRaw = pick(vars, ['DATA_ACTION_DESCRIPTIONS']);
  const descriptions = descriptionsRaw ? descriptionsRaw.value.split('|').map((s) => s.trim()) : [];
  if (descriptionsRaw && descriptions.length !== list.length) {
    throw new InputVariableError('DATA_ACTION_DESCRIPTIONS', `must have one "|"-separated entry per ID in ${ids.name} (${list.length})`);
  }
  if (descriptions.some((d) => d.length > 1024)) throw new InputVariableError('DATA_ACTION_DESCRIPTIONS', 'entries must be at most 1024 characters');
  return list.map((id, i) => (descriptions[i] ? { id, description: descriptions[i] } : { id }));
}

/** "en-US" → "en" for the transcription hint; names such as "German" give no hint. */
export function transcriptionLanguageOf(language: string | undefined): string | undefined {
  const match = language ? /^([a-z]{2})(?:-[A-Za-z]{2,4})?$/i.exec(language) : null;
  return match?.[1]?.toLowerCase();
}

/**
 * Resolves one call. Precedence: new AI_* name, then the legacy name, then the bot profile (BOTS_FILE),
 * then env, then code default. `sessionLanguage` is open.parameters.language, used when neither a
 * language variable nor the profile sets one (a profile's language is deliberate; a flow's session
 * language is often just the org default).
 */
export function resolveCallConfig(
  vars: Record<string, string>,
  defaults: CallDefaults,
  sessionLanguage?: string,
  profile?: ProfileDefaults,
): CallConfig {
  const persona =
    read<string>(vars, ['AI_SYSTEM_PROMPT', 'OPENAI_SYSTEM_PROMPT'], rules.prompt) ??
    profile?.instructions ??
    defaults.OPENAI_INSTRUCTIONS ??
    DEFAULT_PERSONA;
  const voice =
    read<CallSettings['voice']>(vars, ['AI_VOICE', 'OPENAI_VOICE'], rules.voice) ??
    (profile?.voice as CallSettings['voice'] | undefined) ??
    defaults.OPENAI_VOICE;
  const model = read<string>(vars, ['AI_MODEL', 'OPENAI_MODEL'], rules.model) ?? profile?.model ?? defaults.OPENAI_MODEL;
  const languageVar = read<string>(vars, ['AI_LANGUAGE', 'LANGUAGE'], rules.language) ?? profile?.language;
  const language = languageVar ?? (sessionLanguage && rules.language.schema.safeParse(sessionLanguage).success ? sessionLanguage : undefined);
  const maxOutputTokens =
    read<number | 'inf'>(vars, ['AI_MAX_OUTPUT_TOKENS', 'OPENAI_MAX_OUTPUT_TOKENS'], rules.maxTokens) ?? 'inf';
  const agentName = read<string>(vars, ['AGENT_NAME'], rules.name);
  const companyName = read<string>(vars, ['COMPANY_NAME'], rules.name);
  const customerRaw = pick(vars, ['CUSTOMER_DATA']);
  const customerData = customerRaw ? parseCustomerData(customerRaw.value) : [];

  const vadType = read<VadSettings['type']>(vars, ['AI_VAD_TYPE'], rules.vadType) ?? defaults.VAD_TYPE;
  let vad: VadSettings;
  if (vadType === 'server_vad') {
    const idleTimeoutMs = read<number>(vars, ['AI_VAD_IDLE_TIMEOUT_MS'], rules.idleMs) ?? defaults.VAD_IDLE_TIMEOUT_MS;
    vad = {
      type: 'server_vad',
      threshold: read<number>(vars, ['AI_VAD_THRESHOLD'], rules.threshold) ?? defaults.VAD_THRESHOLD,
      prefixPaddingMs: read<number>(vars, ['AI_VAD_PREFIX_MS'], rules.prefixMs) ?? defaults.VAD_PREFIX_PADDING_MS,
      silenceDurationMs: read<number>(vars, ['AI_VAD_SILENCE_MS'], rules.silenceMs) ?? defaults.VAD_SILENCE_DURATION_MS,
      ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
    };
  } else {
    vad = { type: 'semantic_vad', eagerness: read(vars, ['AI_VAD_EAGERNESS'], rules.eagerness) ?? defaults.VAD_EAGERNESS };
  }

  const transcriptionModel = transcriptionModelOf(defaults);
  const transcriptionLanguage = transcriptionLanguageOf(language);
  const settings: CallSettings = {
    model,
    voice,
    instructions: composeInstructions({
      persona,
      ...(agentName ? { agentName } : {}),
      ...(companyName ? { companyName } : {}),
      ...(language ? { language } : {}),
      customerData,
    }),
    vad,
    noiseReduction: defaults.NOISE_REDUCTION,
    transcriptionModel,
    ...(transcriptionLanguage ? { transcriptionLanguage } : {}),
    maxOutputTokens,
  };
  return { settings, greeting: parseGreeting(vars, profile), dataActions: parseDataActions(vars), ...(language ? { language } : {}) };
}
