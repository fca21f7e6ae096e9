/** Token usage summed over every response.done of a call (cached tokens are a subset of input tokens). */
import type { RealtimeResponseUsage } from 'openai/resources/realtime/realtime';

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
});

const n = (v: number | undefined | null): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

export function addUsage(totals: UsageTotals, usage: RealtimeResponseUsage | undefined | null): UsageTotals {
  if (!usage) return { ...totals, responses: totals.responses + 1 };
  return {
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
