/**
 * When to replace a model session before the server's 60-minute cap (`session_expired`): after
 * `renewAfterMs` of session age, at a quiet moment — no bot audio outstanding, no response running and
 * the caller not mid-utterance — so the switch cuts nobody off. If no quiet moment comes before the cap,
 * the expiry takes the reconnect path instead.
 */
export interface RenewalState {
  sessionAgeMs: number;
  renewAfterMs: number;
  botAudioOutstanding: boolean;
  responseActive: boolean;
  callerSpeaking: boolean;
}

export type RenewalDecision = 'not_due' | 'wait_for_quiet' | 'renew_now';

export function renewalDecision(state: RenewalState): RenewalDecision {
  if (state.sessionAgeMs < state.renewAfterMs) return 'not_due';
  if (state.botAudioOutstanding || state.responseActive || state.callerSpeaking) return 'wait_for_quiet';
  return 'renew_now';
}
