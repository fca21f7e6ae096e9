/**
 * Server shutdown (fault 10, the call side): CallHandler.onShutdown ends the call within the session's 3 s
 * bound with `disconnect completed`, the summary and escalation outputs, and a `shutdown` webhook record.
 */
import { describe, expect, it } from 'vitest';
import { botSpeaks, flush, makeReady, startCall, summaryDone, type Harness } from './harness.js';

/** The session's bound on onShutdown (SESSION_DEFAULTS.shutdownHandlerTimeoutMs). */
const SESSION_SHUTDOWN_BOUND_MS = 3000;

/** Advances the manual clock in steps until `done()` or `limitMs`; returns the time it took. */
async function advanceUntil(h: Harness, done: () => boolean, limitMs: number): Promise<number> {
  const start = h.clock.now();
  while (!done() && h.clock.now() - start < limitMs) {
    h.clock.advance(50);
    await flush();
  }
  return h.clock.now() - start;
}

async function callInProgress(): Promise<Harness> {
  const h = startCall({ vars: { AI_GREETING: 'false' } });
  await makeReady(h);
  h.model.emit({ type: 'input_audio_buffer.committed', item_id: 'u1', previous_item_id: null });
  h.model.emit({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', content_index: 0, transcript: 'Where is my order?' });
  return h;
}

describe('onShutdown', () => {
  it('disconnects completed within the bound with the model summary, escalation to an agent and END_REASON', async () => {
    const h = await callInProgress();
    const shutdown = h.handler.onShutdown!();
    await flush();
    const request = h.model.ofType('response.create').find((r) => r.response?.conversation === 'none');
    expect(request?.response?.metadata).toMatchObject({ purpose: 'call_summary', end_reason: 'shutdown' });
    h.clock.advance(400);
    summaryDone(h, JSON.stringify({ summary: 'Caller asked where their order is.', sentiment: 'neutral', resolved: false, follow_ups: [] }));
    await shutdown;
    expect(h.clock.now() - 1000).toBeLessThan(SESSION_SHUTDOWN_BOUND_MS);
    expect(h.control.disconnects).toHaveLength(1);
    expect(h.control.disconnects[0]).toMatchObject({
      reason: 'completed',
      info: 'server shutting down',
      outputs: {
        CONVERSATION_SUMMARY: 'Caller asked where their order is.',
        SUMMARY_SOURCE: 'model',
        ESCALATION_REQUIRED: 'true',
        ESCALATION_REASON: 'server_shutdown',
        END_REASON: 'server_shutdown',
      },
    });
    await h.factory.drain();
    expect(h.records).toHaveLength(1);
    expect(h.records[0]!.record).toMatchObject({
      end_reason: 'shutdown',
      escalation: { required: true, reason: 'server_shutdown' },
      summary: { source: 'model' },
    });
    expect(h.model.closed).toBe(true);
  });

  it('uses the transcript fallback when the model summary does not come within 1.5 s', async () => {
    const h = await callInProgress();
    let finished = false;
    void h.handler.onShutdown!()!.then(() => (finished = true));
    const took = await advanceUntil(h, () => finished, 10_000);
    expect(took).toBeLessThanOrEqual(1500 + 50);
    expect(took).toBeGreaterThanOrEqual(1500);
    const outputs = h.control.disconnects[0]!.outputs!;
    expect(outputs).toMatchObject({ SUMMARY_SOURCE: 'fallback', ESCALATION_REQUIRED: 'true', ESCALATION_REASON: 'server_shutdown' });
    expect(outputs['CONVERSATION_SUMMARY']).toMatch(/1 caller/);
  });

  it('stops caller audio and bot audio at once and cancels the reply in progress before the summary', async () => {
    const h = await callInProgress();
    botSpeaks(h, 'r1', 'i1', 3000);
    h.clock.advance(200);
    await flush();
    const botBytesBefore = h.control.audioBytes;
    expect(botBytesBefore).toBeGreaterThan(0);
    const appendsBefore = h.model.ofType('input_audio_buffer.append').length;
    let finished = false;
    void h.handler.onShutdown!()!.then(() => (finished = true));
    await flush();
    expect(h.model.ofType('response.cancel')).toHaveLength(1);
    h.handler.onAudio!(new Uint8Array(160), 5000);
    botSpeaks(h, 'r1', 'i1', 500);
    h.model.emit({ type: 'response.done', response: { id: 'r1', status: 'cancelled', output: [] } });
    await flush();
    expect(h.model.ofType('response.create').find((r) => r.response?.conversation === 'none')).toBeDefined();
    summaryDone(h, JSON.stringify({ summary: 'Order question.', sentiment: 'neutral', resolved: false, follow_ups: [] }));
    await advanceUntil(h, () => finished, SESSION_SHUTDOWN_BOUND_MS);
    expect(finished).toBe(true);
    expect(h.model.ofType('input_audio_buffer.append')).toHaveLength(appendsBefore);
    expect(h.control.audioBytes).toBe(botBytesBefore);
    expect(h.control.disconnects[0]!.outputs?.CONVERSATION_SUMMARY).toBe('Order question.');
  });

  it('ends a call whose model is not ready yet with the fallback summary, at once', async () => {
    const h = startCall();
    await h.handler.onShutdown!();
    expect(h.control.disconnects[0]).toMatchObject({
      reason: 'completed',
      outputs: { ESCALATION_REQUIRED: 'true', END_REASON: 'server_shutdown', SUMMARY_SOURCE: 'fallback' },
    });
    await h.factory.drain();
    expect(h.records[0]!.record.end_reason).toBe('shutdown');
  });

  it('replaces a bot ending in progress (the farewell would not fit) and does not disconnect twice', async () => {
    const h = await callInProgress();
    h.model.emit({ type: 'response.function_call_arguments.done', response_id: 'r1', item_id: 'f1', output_index: 0, call_id: 'c', name: 'end_call', arguments: '{}' });
    botSpeaks(h, 'r2', 'i2', 2000, { metadata: { purpose: 'farewell' }, done: true });
    let finished = false;
    void h.handler.onShutdown!()!.then(() => (finished = true));
    await advanceUntil(h, () => finished, SESSION_SHUTDOWN_BOUND_MS);
    expect(finished).toBe(true);
    await advanceUntil(h, () => false, 20_000);
    await h.factory.drain();
    expect(h.control.disconnects).toHaveLength(1);
    expect(h.control.disconnects[0]!.outputs).toMatchObject({ ESCALATION_REASON: 'server_shutdown', END_REASON: 'server_shutdown' });
    expect(h.records.map((r) => r.record.end_reason)).toEqual(['shutdown']);
  });

  it('does nothing when the call is already ending for another reason', async () => {
    const h = await callInProgress();
    h.handler.onClose({ kind: 'close', reason: 'end' });
    await h.handler.onShutdown!();
    expect(h.control.disconnects).toHaveLength(0);
  });
});
