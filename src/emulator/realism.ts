/**
 * How messy the emulated API is. The defaults keep the old, tidy timing (tests written against it keep
 * passing); `REALISTIC` is what the real API does and what end-to-end bridge tests should use:
 * replies stream over seconds (faster than real time), their transcript runs ahead of the audio, caller
 * transcription arrives asynchronously (often after the reply has started), and a conversation holding
 * client-created assistant text makes the model answer in text (a known trigger of text-only replies).
 */
import type { Speed } from './pacing.js';

export interface Realism {
  /** Transcript deltas go out this many audio chunks ahead of their audio. */
  transcriptLeadChunks: number;
  /** Caller transcription completes this long after the commit (0: right after the item). */
  transcriptionDelayMs: number;
  /**
   * Once the conversation holds an assistant message created by the client with `output_text` content,
   * default-conversation responses come back as text only (no audio), as reported for the real model.
   */
  assistantTextTriggersTextReplies: boolean;
}

export const TIDY: Realism = { transcriptLeadChunks: 0, transcriptionDelayMs: 0, assistantTextTriggersTextReplies: false };

/** The real API's behaviour; replies at 2× real time in 100 ms chunks (a 3 s reply streams over 1.5 s). */
export const REALISTIC: Realism & { speed: Speed; chunkMs: number } = {
  speed: 2,
  chunkMs: 100,
  transcriptLeadChunks: 3,
  transcriptionDelayMs: 600,
  assistantTextTriggersTextReplies: true,
};

/** A wait as OpenAI's rate-limit messages write it (Go durations): "850ms", "6.2s", "1m26.4s". */
export function formatRetryAfter(ms: number): string {
  const rounded = Math.max(0, Math.round(ms));
  if (rounded < 1000) return `${rounded}ms`;
  const minutes = Math.floor(rounded / 60_000);
  const seconds = Number(((rounded - minutes * 60_000) / 1000).toFixed(3));
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}
