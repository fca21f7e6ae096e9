/**
 * Call scripts: what the emulated model "says" in a call. JSON files (fixtures/scripts/*.json) validated by
 * zod: a greeting, ordered caller turns (each consumed by one committed caller utterance) with a reply and/or
 * a tool call plus the follow-up reply played after the tool output, and text/DTMF cues matched by pattern.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ulawTone } from './tone.js';

const replyAudioSchema = z.union([
  z.string().min(1),
  z.strictObject({ toneMs: z.number().int().positive().max(600_000), frequencyHz: z.number().positive().max(3900).optional() }),
]);

export const scriptReplySchema = z.strictObject({ audio: replyAudioSchema, transcript: z.string() });
export type ScriptReply = z.infer<typeof scriptReplySchema>;

export const scriptToolCallSchema = z.strictObject({ name: z.string().min(1), arguments: z.record(z.string(), z.unknown()) });
export type ScriptToolCall = z.infer<typeof scriptToolCallSchema>;

const cueFields = {
  reply: scriptReplySchema.optional(),
  toolCall: scriptToolCallSchema.optional(),
  followUp: scriptReplySchema.optional(),
};
const hasAction = (c: { reply?: unknown; toolCall?: unknown }) => c.reply !== undefined || c.toolCall !== undefined;

export const scriptTurnSchema = z
  .strictObject({ transcript: z.string(), ...cueFields })
  .refine(hasAction, { message: 'a turn needs a reply or a toolCall' });
export type ScriptTurn = z.infer<typeof scriptTurnSchema>;

export const scriptTextCueSchema = z
  .strictObject({
    pattern: z.string().min(1),
    flags: z.string().regex(/^[imsu]*$/).optional(),
    /** Which text items the cue reads: the caller's (user, default) or the bridge's system notes. */
    role: z.enum(['user', 'system']).optional(),
    ...cueFields,
  })
  .refine(hasAction, { message: 'a text cue needs a reply or a toolCall' })
  .refine((c) => isValidRegExp(c.pattern, c.flags), { message: 'pattern is not a valid regular expression' });
export type ScriptTextCue = z.infer<typeof scriptTextCueSchema>;

export const callScriptSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  greeting: scriptReplySchema,
  turns: z.array(scriptTurnSchema),
  textCues: z.array(scriptTextCueSchema).default([]),
  /** Played after input_audio_buffer.timeout_triggered (idle_timeout_ms). */
  idle: scriptReplySchema.optional(),
  /** Played when the script has nothing left for a response. */
  fallback: scriptReplySchema.optional(),
});
export type CallScript = z.infer<typeof callScriptSchema>;
/** A script as written (JSON or an object literal): optional fields with defaults may be left out. */
export type CallScriptInput = z.input<typeof callScriptSchema>;

/** The script used when none is configured: tones only, so it never depends on fixture files. */
export const DEFAULT_SCRIPT: CallScript = {
  name: 'default-tones',
  greeting: { audio: { toneMs: 1200 }, transcript: 'Hello, this is the emulator. How can I help?' },
  turns: [],
  textCues: [],
  fallback: { audio: { toneMs: 800 }, transcript: 'I see. Anything else?' },
};

export const DEFAULT_FALLBACK: ScriptReply = { audio: { toneMs: 800 }, transcript: 'Sorry, could you say that again?' };

function isValidRegExp(pattern: string, flags: string | undefined): boolean {
  try {
    new RegExp(pattern, flags);
    return true;
  } catch {
    return false;
  }
}

/** Repository root (src/emulator → ../..): relative audio paths in scripts are relative to it. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function parseCallScript(json: unknown): CallScript {
  // Strict: unknown keys and bad values are rejected with zod's message naming the path.
  return callScriptSchema.parse(json);
}

export function loadCallScript(path: string): CallScript {
  const text = readFileSync(path, 'utf8');
  try {
    return parseCallScript(JSON.parse(text));
  } catch (err) {
    throw new Error(`invalid call script ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

export interface ReplyAudioResolver {
  (reply: ScriptReply): Uint8Array;
}

/**
 * Resolves reply audio to μ-law bytes. Files are read once and cached. A missing file becomes a tone whose
 * length follows the transcript (~65 ms per character, like speech), so scripts work before the
 * synthesized prompts exist; `onMissing` reports it.
 */
export function createReplyAudioResolver(baseDir: string = REPO_ROOT, onMissing?: (path: string) => void): ReplyAudioResolver {
  const cache = new Map<string, Uint8Array>();
  return (reply) => {
    if (typeof reply.audio !== 'string') return ulawTone(reply.audio.toneMs, reply.audio.frequencyHz);
    const path = isAbsolute(reply.audio) ? reply.audio : resolve(baseDir, reply.audio);
    const cached = cache.get(path);
    if (cached) return cached;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch {
      onMissing?.(path);
      bytes = ulawTone(Math.max(500, reply.transcript.length * 65));
    }
    cache.set(path, bytes);
    return bytes;
  };
}
