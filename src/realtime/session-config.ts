/**
 * The `session.update` we send for a phone call, and the check of the `session.updated` reply.
 * Pure: the bridge resolves per-call settings (env defaults + Architect input variables) into CallSettings.
 */
import { z } from 'zod';
import type { SessionUpdateEvent, RealtimeFunctionTool } from 'openai/resources/realtime/realtime';
import type { RealtimeVoice } from './env.js';

export type VadSettings =
  | { type: 'server_vad'; threshold: number; prefixPaddingMs: number; silenceDurationMs: number; idleTimeoutMs?: number }
  | { type: 'semantic_vad'; eagerness: 'low' | 'medium' | 'high' | 'auto' };

export interface CallSettings {
  model: string;
  voice: RealtimeVoice;
  instructions: string;
  vad: VadSettings;
  noiseReduction: 'near_field' | 'far_field' | 'off';
  /** null: no input transcription (the summary then has only the bot's side). */
  transcriptionModel: string | null;
  /** ISO-639-1 hint for transcription, e.g. "en" (from "en-US"). */
  transcriptionLanguage?: string;
  maxOutputTokens: number | 'inf';
  /** The call's configured tools (bot profile, per-call Data Actions), after the call-control tools. */
  tools?: readonly RealtimeFunctionTool[];
}

export const END_CALL_TOOL = 'end_call';
export const TRANSFER_TOOL = 'transfer_to_agent';

const reasonParameters = (description: string) => ({
  type: 'object',
  properties: { reason: { type: 'string', description } },
  required: ['reason'],
  additionalProperties: false,
});

/** The call-control tools. JSON schema lives in `parameters`; no `strict` inside it (LESSONS §1.6). */
export const CALL_TOOLS: RealtimeFunctionTool[] = [
  {
    type: 'function',
    name: END_CALL_TOOL,
    description:
      'End the call when the caller says goodbye, has nothing more to ask, or the request is fully handled. ' +
      'Say a short farewell after calling it.',
    parameters: reasonParameters('Why the call is ending, in a few words.'),
  },
  {
    type: 'function',
    name: TRANSFER_TOOL,
    description:
      'Transfer the caller to a human agent: they ask for a person, manager or supervisor, are clearly upset, ' +
      'or need something you cannot do. Tell them you are transferring them after calling it.',
    parameters: reasonParameters('Why a human is needed, in a few words (no personal data).'),
  },
];

export type SessionConfig = SessionUpdateEvent['session'];

function turnDetection(vad: VadSettings) {
  // Every parameter explicit: the server defaults of create_response / interrupt_response are undocumented.
  if (vad.type === 'server_vad') {
    return {
      type: 'server_vad' as const,
      threshold: vad.threshold,
      prefix_padding_ms: vad.prefixPaddingMs,
      silence_duration_ms: vad.silenceDurationMs,
      create_response: true,
      interrupt_response: true,
      idle_timeout_ms: vad.idleTimeoutMs ?? null,
    };
  }
  return { type: 'semantic_vad' as const, eagerness: vad.eagerness, create_response: true, interrupt_response: true };
}

export function buildSessionUpdate(settings: CallSettings): SessionUpdateEvent {
  return {
    type: 'session.update',
    session: {
      type: 'realtime',
      output_modalities: ['audio'],
      instructions: settings.instructions,
      audio: {
        input: {
          format: { type: 'audio/pcmu' },
          // "Off" is expressed by omission: both default to off on a fresh session (and the SDK types reject null).
          ...(settings.noiseReduction === 'off' ? {} : { noise_reduction: { type: settings.noiseReduction } }),
          ...(settings.transcriptionModel === null
            ? {}
            : {
                transcription: {
                  model: settings.transcriptionModel,
                  ...(settings.transcriptionLanguage ? { language: settings.transcriptionLanguage } : {}),
                },
              }),
          turn_detection: turnDetection(settings.vad),
        },
        output: { format: { type: 'audio/pcmu' }, voice: settings.voice },
      },
      tools: [...CALL_TOOLS, ...(settings.tools ?? [])],
      tool_choice: 'auto',
      max_output_tokens: settings.maxOutputTokens,
    },
  };
}

/** Does the interrupt_response setting in force leave cancelling to us? (never with our session.update) */
export function serverInterruptsResponses(settings: CallSettings): boolean {
  return turnDetection(settings.vad).interrupt_response;
}

const formatOf = z.looseObject({ type: z.string() });
const sessionUpdatedShape = z.looseObject({
  type: z.literal('session.updated'),
  session: z.looseObject({
    audio: z.looseObject({
      input: z.looseObject({ format: formatOf }),
      output: z.looseObject({ format: formatOf }),
    }),
  }),
});

/**
 * Verifies the effective configuration really is G.711 μ-law both ways: a session that silently kept
 * 24 kHz PCM would play as static to the caller (OPENAI_REALTIME.md §13 #2). Returns an Error or undefined.
 */
export function checkSessionUpdated(event: unknown): Error | undefined {
  const parsed = sessionUpdatedShape.safeParse(event);
  if (!parsed.success) return new Error('session.updated has no audio input/output format');
  const input = parsed.data.session.audio.input.format.type;
  const output = parsed.data.session.audio.output.format.type;
  if (input !== 'audio/pcmu' || output !== 'audio/pcmu') {
    return new Error(`model session audio is input=${input} output=${output}, expected audio/pcmu both ways`);
  }
  return undefined;
}
