/**
 * What the model's errors mean for a call's session: pure decisions, the session acts on them
 * (model-session.ts). Codes per OPENAI_REALTIME.md §9.
 */
import { isFinalErrorCode, parseRetryAfterMs } from './backoff.js';

/** Errors that are expected races, not failures. */
const BENIGN_MODEL_ERRORS = new Set(['response_cancel_not_active', 'conversation_already_has_active_response']);

/** Wait before retrying a failed response whose message names no wait. */
export const FAILED_RESPONSE_RETRY_MS = 1000;

/**
 * An `error` event that is not about a request still waiting for its answer:
 * - `last-words-too-short`: our only commit (the caller's last words at hang-up) had under 100 ms of audio;
 * - `benign`: an expected race; `renew`: the 60-minute session cap; `give-up`: nothing will work on this
 *   session or any other with the same settings; `log`: anything else, logged and otherwise ignored.
 */
export type ModelErrorVerdict = 'last-words-too-short' | 'benign' | 'renew' | 'give-up' | 'log';

export function modelErrorVerdict(code: string | undefined): ModelErrorVerdict {
  if (code === 'input_audio_buffer_commit_empty') return 'last-words-too-short';
  if (code !== undefined && BENIGN_MODEL_ERRORS.has(code)) return 'benign';
  if (code === 'session_expired') return 'renew';
  if (isFinalErrorCode(code)) return 'give-up';
  return 'log';
}

/**
 * A reply failed (typically rate_limit_exceeded, "Please try again in 6.2s"): retry it once after the wait
 * it names; a second failure, or a wait beyond `maxWaitMs`, gives up with the reason.
 */
export function failedReplyPlan(message: string | undefined, alreadyRetried: boolean, maxWaitMs: number): { retryAfterMs: number } | { giveUp: string } {
  const waitMs = parseRetryAfterMs(message) ?? FAILED_RESPONSE_RETRY_MS;
  if (alreadyRetried) return { giveUp: 'failed again after a retry' };
  if (waitMs > maxWaitMs) return { giveUp: `asks for a ${waitMs} ms wait (limit ${maxWaitMs} ms)` };
  return { retryAfterMs: waitMs };
}
