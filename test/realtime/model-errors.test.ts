import { describe, expect, it } from 'vitest';
import { FAILED_RESPONSE_RETRY_MS, failedReplyPlan, modelErrorVerdict } from '../../src/realtime/model-errors.js';

describe('what a model error means for the session', () => {
  it('sorts the codes', () => {
    expect(modelErrorVerdict('input_audio_buffer_commit_empty')).toBe('last-words-too-short');
    expect(modelErrorVerdict('response_cancel_not_active')).toBe('benign');
    expect(modelErrorVerdict('conversation_already_has_active_response')).toBe('benign');
    expect(modelErrorVerdict('session_expired')).toBe('renew');
    expect(modelErrorVerdict('invalid_api_key')).toBe('give-up');
    expect(modelErrorVerdict('something_new')).toBe('log');
    expect(modelErrorVerdict(undefined)).toBe('log');
  });

  it('retries a failed reply once, after the wait its message names (else a default), within the limit', () => {
    expect(failedReplyPlan('Rate limit reached. Please try again in 6.2s.', false, 10_000)).toEqual({ retryAfterMs: 6200 });
    expect(failedReplyPlan(undefined, false, 10_000)).toEqual({ retryAfterMs: FAILED_RESPONSE_RETRY_MS });
    expect(failedReplyPlan('Please try again in 20s.', false, 10_000)).toEqual({ giveUp: 'asks for a 20000 ms wait (limit 10000 ms)' });
    expect(failedReplyPlan(undefined, true, 10_000)).toEqual({ giveUp: 'failed again after a retry' });
  });
});
