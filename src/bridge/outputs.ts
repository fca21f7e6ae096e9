/**
 * Architect output variables for `disconnect` (all strings). Sizes are capped so the disconnect message
 * stays far below the 64 KiB text-message limit whatever the model writes.
 */
import type { SummaryResult } from './summary.js';
import type { UsageTotals } from './usage.js';

export interface OutputFacts {
  summary: SummaryResult;
  escalation?: { reason: string };
  durationMs: number;
  usage: UsageTotals;
}

const MAX_SUMMARY = 2000;
const MAX_REASON = 500;
const MAX_FOLLOW_UPS = 1000;

const clip = (s: string, max: number) => (s.length <= max ? s : s.slice(0, max));

export function buildOutputVariables(facts: OutputFacts): Record<string, string> {
  const escalationReason = facts.escalation?.reason ?? facts.summary.escalation_reason ?? '';
  return {
    CONVERSATION_SUMMARY: clip(facts.summary.summary, MAX_SUMMARY),
    CONVERSATION_SENTIMENT: facts.summary.sentiment,
    CONVERSATION_RESOLVED: String(facts.summary.resolved),
    CONVERSATION_FOLLOW_UPS: clip(facts.summary.follow_ups.join('; '), MAX_FOLLOW_UPS),
    SUMMARY_SOURCE: facts.summary.source,
    // Only the bot's transfer_to_agent call decides escalation; the summary's reason just fills the text.
    ESCALATION_REQUIRED: String(facts.escalation !== undefined),
    ESCALATION_REASON: facts.escalation ? clip(escalationReason, MAX_REASON) : '',
    CONVERSATION_DURATION: String(Math.max(0, Math.round(facts.durationMs / 1000))),
    TOTAL_TOKENS: String(facts.usage.totalTokens),
    TOTAL_INPUT_TOKENS: String(facts.usage.inputTokens),
    TOTAL_OUTPUT_TOKENS: String(facts.usage.outputTokens),
    TOTAL_INPUT_TEXT_TOKENS: String(facts.usage.inputTextTokens),
    TOTAL_INPUT_AUDIO_TOKENS: String(facts.usage.inputAudioTokens),
    TOTAL_CACHED_TOKENS: String(facts.usage.cachedTokens),
    TOTAL_OUTPUT_TEXT_TOKENS: String(facts.usage.outputTextTokens),
    TOTAL_OUTPUT_AUDIO_TOKENS: String(facts.usage.outputAudioTokens),
  };
}

/** ESCALATION_REASON and END_REASON when a server shutdown ends the call. */
export const SERVER_SHUTDOWN = 'server_shutdown';

/**
 * The output variables that say "the server shut down during the call": added to the bridge's own outputs
 * at shutdown, and — defined here once — given by the composition root to the protocol session
 * (SessionOptions.shutdownOutputVariables), which sends them alone when the call could not disconnect in
 * time. `completed`, not `error`, so the Architect flow takes its success path; ESCALATION_REQUIRED routes
 * the caller to a person, since the conversation was cut short (docs/ARCHITECT.md).
 */
export const SHUTDOWN_OUTPUT_VARIABLES: Readonly<Record<string, string>> = {
  END_REASON: SERVER_SHUTDOWN,
  ESCALATION_REQUIRED: 'true',
  ESCALATION_REASON: SERVER_SHUTDOWN,
};
