/**
 * Reading BOTS_FILE: YAML (or JSON, which is YAML) → `${NAME}` environment references → zod → cross
 * references (a bot's tools exist, `default` names a bot). Every problem names the file and the path
 * inside it (`bots.sales.tools[1]: unknown tool "crm"`); all problems are reported at once.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { ToolSpec } from '../tools/spec.js';
import { botsFileSchema } from './schema.js';

export class BotsFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid bots file ${file}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'BotsFileError';
  }
}

export interface BotProfile {
  /** The Connector ID (the key in `bots:`). */
  name: string;
  instructions?: string;
  voice?: string;
  model?: string;
  language?: string;
  greeting?: boolean | string;
  holdingPhrase?: string;
  /** Keys of the file's `tools:` section. */
  tools: readonly string[];
}

export interface BotsConfig {
  file: string;
  defaultBot?: string;
  bots: ReadonlyMap<string, BotProfile>;
  tools: Readonly<Record<string, ToolSpec>>;
}

/** `a.b[2].c` from a zod/yaml path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${NAME}` in every string value; unset names are reported with where they were used. */
function substituteEnv(value: unknown, env: Record<string, string | undefined>, path: PropertyKey[], problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (whole, name: string) => {
      const found = env[name];
      if (found === undefined || found === '') {
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return whole;
      }
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i], problems));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, [...path, k], problems);
    return out;
  }
  return value;
}

/** Parses the text of a bots file. Throws BotsFileError naming every problem. */
export function parseBotsFile(text: string, file: string, env: Record<string, string | undefined>): BotsConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new BotsFileError(
      file,
      doc.errors.slice(0, 10).map((e) => `line ${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new BotsFileError(file, [(err as Error).message.split('\n')[0]!]);
  }
  const problems: string[] = [];
  const substituted = substituteEnv(raw, env, [], problems);
  if (problems.length > 0) throw new BotsFileError(file, problems);
  const parsed = botsFileSchema.safeParse(substituted);
  if (!parsed.success) {
    throw new BotsFileError(
      file,
      parsed.error.issues.map((issue) => {
        const where = formatPath(issue.path);
        if (issue.code === 'unrecognized_keys') return `${where}: unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
        if (issue.code === 'invalid_type' && issue.input === undefined) return `${where}: is required`;
        return `${where}: ${issue.message}`;
      }),
    );
  }
  const data = parsed.data;
  for (const [botName, bot] of Object.entries(data.bots)) {
    bot.tools.forEach((tool, i) => {
      if (!(tool in data.tools)) problems.push(`bots.${botName}.tools[${i}]: unknown tool "${tool}"`);
    });
  }
  if (data.default !== undefined && !(data.default in data.bots)) problems.push(`default: unknown bot "${data.default}"`);
  if (problems.length > 0) throw new BotsFileError(file, problems);

  const bots = new Map<string, BotProfile>();
  for (const [name, bot] of Object.entries(data.bots)) {
    bots.set(name, {
      name,
      tools: bot.tools,
      ...(bot.instructions !== undefined ? { instructions: bot.instructions } : {}),
      ...(bot.voice !== undefined ? { voice: bot.voice } : {}),
      ...(bot.model !== undefined ? { model: bot.model } : {}),
      ...(bot.language !== undefined ? { language: bot.language } : {}),
      ...(bot.greeting !== undefined ? { greeting: bot.greeting } : {}),
      ...(bot.holding_phrase !== undefined ? { holdingPhrase: bot.holding_phrase } : {}),
    });
  }
  return { file, ...(data.default !== undefined ? { defaultBot: data.default } : {}), bots, tools: data.tools };
}

/** Reads and parses BOTS_FILE. Throws BotsFileError (also for an unreadable file). */
export function loadBotsFile(file: string, env: Record<string, string | undefined>): BotsConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BotsFileError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseBotsFile(text, file, env);
}
