/**
 * Token usage summed over every response.done of a call (cached tokens are a subset of input tokens), plus
 * the caller transcription's own usage (a separate model, billed separately: its own fields, not mixed into
 * the realtime model's totals).
 */
import type { ConversationItemInputAudioTranscriptionCompletedEvent, RealtimeResponseUsage } from 'openai/resources/realtime/realtime';

export interface UsageTotals {
  responses: number;
  totalTokens: number;
  inputTokens: number;
  outputTokens: number;
  inputTextTokens: number;
  inputAudioTokens: number;
  /** Part of inputTokens (billed at a discount), never added on top. */
  cachedTokens: number;
  outputTextTokens: number;
  outputAudioTokens: number;
  /** Caller transcriptions that reported usage. */
  transcriptions: number;
  transcriptionInputTokens: number;
  transcriptionOutputTokens: number;
  /** Transcription models billed by duration report seconds instead of tokens. */
  transcriptionSeconds: number;
}

export const emptyUsage = (): UsageTotals => ({
  responses: 0,
  totalTokens: 0,
  inputTokens: 0,
  outputTokens: 0,
  inputTextTokens: 0,
  inputAudioTokens: 0,
  cachedTokens: 0,
  outputTextTokens: 0,
  outputAudioTokens: 0,
  transcriptions: 0,
  transcriptionInputTokens: 0,
  transcriptionOutputTokens: 0,
  transcriptionSeconds: 0,
});

const n = (v: number | undefined | null): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

export function addUsage(totals: UsageTotals, usage: RealtimeResponseUsage | undefined | null): UsageTotals {
  if (!usage) return { ...totals, responses: totals.responses + 1 };
  return {
    ...totals,
    responses: totals.responses + 1,
    totalTokens: totals.totalTokens + n(usage.total_tokens),
    inputTokens: totals.inputTokens + n(usage.input_tokens),
    outputTokens: totals.outputTokens + n(usage.output_tokens),
    inputTextTokens: totals.inputTextTokens + n(usage.input_token_details?.text_tokens),
    inputAudioTokens: totals.inputAudioTokens + n(usage.input_token_details?.audio_tokens),
    cachedTokens: totals.cachedTokens + n(usage.input_token_details?.cached_tokens),
    outputTextTokens: totals.outputTextTokens + n(usage.output_token_details?.text_tokens),
    outputAudioTokens: totals.outputAudioTokens + n(usage.output_token_details?.audio_tokens),
  };
}

/** Adds one caller transcription's usage (`…input_audio_transcription.completed`.usage: tokens or duration). */
export function addTranscriptionUsage(totals: UsageTotals, usage: ConversationItemInputAudioTranscriptionCompletedEvent['usage'] | undefined | null): UsageTotals {
  if (!usage) return totals;
  if (usage.type === 'duration') return { ...totals, transcriptions: totals.transcriptions + 1, transcriptionSeconds: totals.transcriptionSeconds + n(usage.seconds) };
  return {
    ...totals,
    transcriptions: totals.transcriptions + 1,
    transcriptionInputTokens: totals.transcriptionInputTokens + n(usage.input_tokens),
    transcriptionOutputTokens: totals.transcriptionOutputTokens + n(usage.output_tokens),
  };
}
