/** The call phase table and the ending plans, as data: no sockets, no clock. */
import { describe, expect, it } from 'vitest';
import { planEnding } from '../../src/bridge/ending.js';
import { SHUTDOWN_OUTPUT_VARIABLES } from '../../src/bridge/outputs.js';
import { CALL_PHASES, CallPhaseState, canMove, PHASE_RULES } from '../../src/bridge/phase.js';

describe('call phase table', () => {
  it('only moves forward: conversing → farewell → ending → ended, any ending may cut a farewell', () => {
    expect(canMove('conversing', 'farewell')).toBe(true);
    expect(canMove('conversing', 'ending')).toBe(true);
    expect(canMove('farewell', 'ending')).toBe(true);
    expect(canMove('ending', 'ended')).toBe(true);
    for (const from of CALL_PHASES) {
      expect(canMove(from, 'conversing')).toBe(false);
      expect(canMove(from, from)).toBe(false);
    }
    expect(canMove('ending', 'farewell')).toBe(false);
    expect(canMove('ended', 'ending')).toBe(false);
  });

  it('a second ending is refused while one runs', () => {
    const phase = new CallPhaseState();
    expect(phase.moveTo('ending')).toBe(true);
    expect(phase.moveTo('ending')).toBe(false);
    expect(phase.moveTo('farewell')).toBe(false);
    expect(phase.phase).toBe('ending');
  });

  it('the farewell keeps bot audio and barge-in but stops caller audio, keys and new endings', () => {
    expect(PHASE_RULES.farewell).toMatchObject({ callerAudio: false, dtmf: false, botAudio: true, botMayEnd: false, bargeIn: true });
    expect(Object.values(PHASE_RULES.conversing).every(Boolean)).toBe(true);
    for (const phase of ['ending', 'ended'] as const) expect(Object.values(PHASE_RULES[phase]).some(Boolean)).toBe(false);
  });
});

describe('ending plans', () => {
  const facts = { summaryTimeoutMs: 8000 };

  it('bot ended and escalated: model summary, then completed with outputs', () => {
    expect(planEnding({ kind: 'escalated', reason: 'wants a human' }, facts)).toEqual({
      endReason: 'escalated',
      summary: 'model',
      summaryTimeoutMs: 8000,
      disconnect: { reason: 'completed', outputs: true },
      escalationReason: 'wants a human',
    });
    expect(planEnding({ kind: 'bot_ended', reason: 'max_call_duration', detail: 'max_call_duration' }, facts)).toMatchObject({
      endReason: 'bot_ended',
      disconnect: { reason: 'completed', info: 'max_call_duration', outputs: true },
      detail: 'max_call_duration',
    });
  });

  it('model unavailable: fallback summary at once, completed with the model_unavailable escalation', () => {
    expect(planEnding({ kind: 'model_unavailable', cause: 'gone' }, facts)).toMatchObject({
      endReason: 'escalated',
      summary: 'fallback',
      disconnect: { reason: 'completed', info: 'model unavailable: gone', outputs: true },
      escalationReason: 'model_unavailable',
      detail: 'gone',
    });
  });

  it('caller hang-up: no disconnect (Genesys closed), keeps a transfer in progress', () => {
    const plan = planEnding({ kind: 'closed', cause: { kind: 'close', reason: 'end' } }, { ...facts, pendingEscalation: 'billing' });
    expect(plan).toEqual({ endReason: 'caller_hangup', summary: 'model', summaryTimeoutMs: 8000, escalationReason: 'billing', detail: 'close end' });
    expect(planEnding({ kind: 'closed', cause: { kind: 'socket', code: 1006 } }, facts)).toMatchObject({ endReason: 'error', detail: 'socket closed (code 1006)' });
    expect(planEnding({ kind: 'closed', cause: { kind: 'close', reason: 'error' } }, facts).endReason).toBe('error');
  });

  it('shutdown: a shorter summary bound and the shared shutdown outputs', () => {
    expect(planEnding({ kind: 'shutdown' }, facts)).toMatchObject({
      endReason: 'shutdown',
      summaryTimeoutMs: 1500,
      disconnect: { reason: 'completed', outputs: true },
      escalationReason: 'server_shutdown',
      extraOutputs: SHUTDOWN_OUTPUT_VARIABLES,
    });
    expect(planEnding({ kind: 'shutdown' }, { summaryTimeoutMs: 500 }).summaryTimeoutMs).toBe(500);
  });

  it('failure: disconnect error without outputs, fallback summary', () => {
    expect(planEnding({ kind: 'failure', info: 'bad variable' }, facts)).toEqual({
      endReason: 'error',
      summary: 'fallback',
      summaryTimeoutMs: 0,
      disconnect: { reason: 'error', info: 'bad variable', outputs: false },
      detail: 'bad variable',
    });
  });
});
