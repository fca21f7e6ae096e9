/**
 * The effective session configuration: the server defaults shown in `session.created`, and the merge a
 * `session.update` applies (only fields present change; nested objects merge; turn_detection,
 * transcription, noise_reduction and formats are replaced as a whole, with defaults filled in).
 */
import type { RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime';
import type { AudioFormat, SessionUpdateBody, TurnDetectionInput } from './client-events.js';

/**
 * The effective session as session.created/updated carry it. The real API sends `null` for what is off
 * (noise_reduction, transcription, turn_detection) where the SDK types say "absent": kept, so a bridge
 * reading these fields must cope with null.
 */
export function sdkSession(config: EffectiveSession): RealtimeSessionCreateRequest {
  return config as unknown as RealtimeSessionCreateRequest;
}

export interface ServerVadConfig {
  type: 'server_vad';
  threshold: number;
  prefix_padding_ms: number;
  silence_duration_ms: number;
  create_response: boolean;
  interrupt_response: boolean;
  idle_timeout_ms: number | null;
}
export interface SemanticVadConfig {
  type: 'semantic_vad';
  eagerness: 'low' | 'medium' | 'high' | 'auto';
  create_response: boolean;
  interrupt_response: boolean;
}
export type TurnDetectionConfig = ServerVadConfig | SemanticVadConfig;

export interface EffectiveSession {
  type: 'realtime';
  object: 'realtime.session';
  id: string;
  model: string;
  expires_at: number;
  output_modalities: ['audio'] | ['text'];
  instructions: string;
  tools: unknown[];
  tool_choice: unknown;
  max_output_tokens: number | 'inf';
  tracing: unknown;
  truncation: unknown;
  prompt: unknown;
  include: string[] | null;
  parallel_tool_calls?: boolean;
  reasoning?: unknown;
  audio: {
    input: {
      format: AudioFormat;
      transcription: Record<string, unknown> | null;
      noise_reduction: Record<string, unknown> | null;
      turn_detection: TurnDetectionConfig | null;
    };
    output: { format: AudioFormat; voice: unknown; speed: number };
  };
}

/** The instructions advertise what this is, so nobody mistakes an emulator transcript for the model. */
export const EMULATOR_INSTRUCTIONS =
  'You are the offline Realtime emulator of audiohook-realtime (not OpenAI). Replies come from a call script.';

const SESSION_LIFETIME_SECONDS = 60 * 60;

export function defaultSession(id: string, model: string, nowEpochSeconds: number): EffectiveSession {
  return {
    type: 'realtime',
    object: 'realtime.session',
    id,
    model,
    expires_at: nowEpochSeconds + SESSION_LIFETIME_SECONDS,
    output_modalities: ['audio'],
    instructions: EMULATOR_INSTRUCTIONS,
    tools: [],
    tool_choice: 'auto',
    max_output_tokens: 'inf',
    tracing: null,
    truncation: 'auto',
    prompt: null,
    include: null,
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        transcription: null,
        noise_reduction: null,
        turn_detection: withTurnDetectionDefaults({ type: 'server_vad' }),
      },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin', speed: 1 },
    },
  };
}

export function withTurnDetectionDefaults(input: TurnDetectionInput): TurnDetectionConfig {
  // [U] create_response / interrupt_response defaults are undocumented in OpenAI's API reference; true is the
  // common belief and what most GA code sets explicitly.
  if (input.type === 'server_vad') {
    return {
      type: 'server_vad',
      threshold: input.threshold ?? 0.5,
      prefix_padding_ms: input.prefix_padding_ms ?? 300,
      silence_duration_ms: input.silence_duration_ms ?? 500,
      create_response: input.create_response ?? true,
      interrupt_response: input.interrupt_response ?? true,
      idle_timeout_ms: input.idle_timeout_ms ?? null,
    };
  }
  return {
    type: 'semantic_vad',
    eagerness: input.eagerness ?? 'auto',
    create_response: input.create_response ?? true,
    interrupt_response: input.interrupt_response ?? true,
  };
}

function normalizeFormat(format: AudioFormat): AudioFormat {
  return format.type === 'audio/pcm' ? { type: 'audio/pcm', rate: 24000 } : format;
}

/** Returns a new effective session; `update` has been validated by the strict schema. */
export function mergeSession(current: EffectiveSession, update: SessionUpdateBody): EffectiveSession {
  const next: EffectiveSession = structuredClone(current);
  if (update.instructions !== undefined) next.instructions = update.instructions;
  if (update.output_modalities !== undefined) next.output_modalities = update.output_modalities;
  if (update.tools !== undefined) next.tools = update.tools;
  if (update.tool_choice !== undefined) next.tool_choice = update.tool_choice;
  if (update.max_output_tokens !== undefined) next.max_output_tokens = update.max_output_tokens;
  if (update.tracing !== undefined) next.tracing = update.tracing;
  if (update.truncation !== undefined) next.truncation = update.truncation;
  if (update.prompt !== undefined) next.prompt = update.prompt;
  if (update.include !== undefined) next.include = update.include;
  if (update.parallel_tool_calls !== undefined) next.parallel_tool_calls = update.parallel_tool_calls;
  if (update.reasoning !== undefined) next.reasoning = update.reasoning;
  const input = update.audio?.input;
  if (input) {
    if (input.format !== undefined) next.audio.input.format = normalizeFormat(input.format);
    if (input.transcription !== undefined) next.audio.input.transcription = input.transcription;
    if (input.noise_reduction !== undefined) {
      next.audio.input.noise_reduction =
        input.noise_reduction === null ? null : { type: input.noise_reduction.type ?? 'near_field', strength: input.noise_reduction.strength ?? 1 };
    }
    if (input.turn_detection !== undefined) {
      next.audio.input.turn_detection = input.turn_detection === null ? null : withTurnDetectionDefaults(input.turn_detection);
    }
  }
  const output = update.audio?.output;
  if (output) {
    if (output.format !== undefined) next.audio.output.format = normalizeFormat(output.format);
    if (output.voice !== undefined) next.audio.output.voice = output.voice;
    if (output.speed !== undefined) next.audio.output.speed = output.speed;
  }
  return next;
}
