/**
 * Token usage for response.done in the full GA shape. Numbers are a deterministic approximation (text ≈ 4
 * characters per token, audio ≈ 10 tokens per second input / 20 per second output); cached tokens are a
 * subset of input tokens, as the real API reports them.
 */
export interface UsageInputs {
  inputTextChars: number;
  inputAudioMs: number;
  outputTextChars: number;
  outputAudioMs: number;
  /** Input tokens already seen by an earlier response of this session (prompt-cache hit). */
  previouslySeenInputTokens: number;
}

export interface RealtimeUsage {
  total_tokens: number;
  input_tokens: number;
  output_tokens: number;
  input_token_details: {
    text_tokens: number;
    audio_tokens: number;
    image_tokens: number;
    cached_tokens: number;
    cached_tokens_details: { text_tokens: number; audio_tokens: number; image_tokens: number };
  };
  output_token_details: { text_tokens: number; audio_tokens: number };
}

export function computeUsage(u: UsageInputs): RealtimeUsage {
  const inText = Math.ceil(u.inputTextChars / 4);
  const inAudio = Math.ceil(u.inputAudioMs / 100);
  const outText = Math.ceil(u.outputTextChars / 4);
  const outAudio = Math.ceil(u.outputAudioMs / 50);
  const input = inText + inAudio;
  // Caching works in 64-token blocks of a previously seen prefix.
  const cached = Math.min(input, Math.floor(u.previouslySeenInputTokens / 64) * 64);
  const cachedText = Math.min(inText, cached);
  const output = outText + outAudio;
  return {
    total_tokens: input + output,
    input_tokens: input,
    output_tokens: output,
    input_token_details: {
      text_tokens: inText,
      audio_tokens: inAudio,
      image_tokens: 0,
      cached_tokens: cached,
      cached_tokens_details: { text_tokens: cachedText, audio_tokens: cached - cachedText, image_tokens: 0 },
    },
    output_token_details: { text_tokens: outText, audio_tokens: outAudio },
  };
}
