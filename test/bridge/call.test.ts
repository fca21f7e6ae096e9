import { describe, expect, it } from 'vitest';
import { MAX_HELD_KEYPAD_ENTRIES } from '../../src/bridge/dtmf.js';
import { botSpeaks, flush, makeReady, responseDone, startCall, summaryDone } from './harness.js';

describe('bridge start-up', () => {
  it('buffers caller audio until session.updated confirms pcmu, then flushes it in order and greets', async () => {
    const h = startCall();
    h.handler.onAudio!(new Uint8Array(1600).fill(1), 0);
    h.handler.onAudio!(new Uint8Array(1600).fill(2), 200);
    await makeReady(h);
    const update = h.model.ofType('session.update')[0]!;
    expect(update.session.type).toBe('realtime');
    const appends = h.model.ofType('input_audio_buffer.append');
    expect(appends.map((a) => Buffer.from(a.audio, 'base64')[0])).toEqual([1, 2]);
    expect(h.model.sent.findIndex((e) => e.type === 'session.update')).toBeLessThan(
      h.model.sent.findIndex((e) => e.type === 'input_audio_buffer.append'),
    );
    const greetItem = h.model.ofType('conversation.item.create')[0]!;
    expect(greetItem.item).toMatchObject({ type: 'message', role: 'system' });
    expect(h.model.ofType('response.create')).toHaveLength(1);
    // Audio after readiness goes straight through.
    h.handler.onAudio!(new Uint8Array(1600).fill(3), 400);
    expect(h.model.ofType('input_audio_buffer.append')).toHaveLength(3);
  });

  it('does not greet when AI_GREETING=false', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    expect(h.model.ofType('response.create')).toHaveLength(0);
  });

  it('ends with disconnect error naming a bad input variable, without opening the model', async () => {
    const h = startCall({ vars: { AI_VOICE: 'nova' } });
    await flush();
    expect(h.connects).toBe(0);
    expect(h.control.disconnects).toHaveLength(1);
    expect(h.control.disconnects[0]!.reason).toBe('error');
    expect(h.control.disconnects[0]!.info).toMatch(/AI_VOICE.*marin/);
    await h.factory.drain();
    expect(h.records[0]!.record.end_reason).toBe('error');
  });

  it('ends with disconnect error when the model handshake is refused, reporting a fallback summary', async () => {
    const h = startCall({ connectFails: 'model handshake refused: HTTP 401' });
    await flush();
    await h.factory.drain();
    expect(h.control.disconnects[0]).toMatchObject({ reason: 'error', info: expect.stringContaining('HTTP 401') });
    expect(h.records[0]!.record.summary.source).toBe('fallback');
    expect(h.records[0]!.record.summary.summary).not.toBe('');
  });

  it('ends with disconnect error when the session is not pcmu', async () => {
    const h = startCall();
    await flush();
    h.model.open();
    await flush();
    h.model.sessionUpdated('audio/pcmu', 'audio/pcm');
    await flush();
    expect(h.control.disconnects[0]).toMatchObject({ reason: 'error', info: expect.stringContaining('output=audio/pcm') });
  });

  it('ends with disconnect error when the model is not ready in time (no retry budget)', async () => {
    const h = startCall({ env: { MODEL_CONNECT_TIMEOUT_MS: '2000', MODEL_RETRY_BUDGET_MS: '0' } });
    await flush();
    h.model.open();
    await flush();
    h.clock.advance(2000);
    await flush();
    expect(h.control.disconnects[0]).toMatchObject({ reason: 'error', info: expect.stringContaining('2000 ms') });
  });

  it('ends completed with escalation (model_unavailable) when the model closes mid-call with a final code', async () => {
    const h = startCall();
    await makeReady(h);
    h.model.drop(1008);
    expect(h.connects).toBe(1);
    expect(h.control.disconnects[0]).toMatchObject({
      reason: 'completed',
      info: expect.stringContaining('1008'),
      outputs: { ESCALATION_REQUIRED: 'true', ESCALATION_REASON: 'model_unavailable', SUMMARY_SOURCE: 'fallback' },
    });
    await h.factory.drain();
    expect(h.records[0]!.record.end_reason).toBe('escalated');
  });
});

describe('bot audio and barge-in', () => {
  it('paces model audio to Genesys in frames of at most 1600 bytes with bounded lead', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    botSpeaks(h, 'r1', 'i1', 2000, { done: true });
    // Nothing near the whole 2 s goes out at once.
    expect(h.control.audioBytes).toBeLessThanOrEqual(8 * 600);
    for (let t = 0; t < 40; t++) h.clock.advance(100);
    expect(h.control.audioBytes).toBe(16000);
    expect(Math.max(...h.control.audio.map((a) => a.length))).toBeLessThanOrEqual(1600);
    const first = h.control.audioAt[0]!.at;
    for (const { at, bytes } of h.control.audioAt) {
      // Sent audio never runs more than the lead (400 ms) + one frame ahead of real time.
      void bytes;
      const sentBefore = h.control.audioAt.filter((x) => x.at <= at).reduce((n, x) => n + x.bytes, 0) / 8;
      expect(sentBefore - (at - first)).toBeLessThanOrEqual(600);
    }
  });

  it('barges in while bot audio plays: barge_in, truncate within what was sent, no more bytes of that response', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    botSpeaks(h, 'r1', 'i1', 3000);
    h.clock.advance(500);
    const sentBefore = h.control.audioBytes;
    h.model.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 100, item_id: 'u2' });
    expect(h.control.entityTypes()).toEqual(['barge_in']);
    const truncate = h.model.ofType('conversation.item.truncate');
    expect(truncate).toHaveLength(1);
    expect(truncate[0]).toMatchObject({ item_id: 'i1', content_index: 0 });
    expect(truncate[0]!.audio_end_ms).toBeLessThanOrEqual(sentBefore / 8);
    expect(Number.isInteger(truncate[0]!.audio_end_ms)).toBe(true);
    // Late deltas of the interrupted response, then time passing: nothing more reaches Genesys.
    h.model.emit({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'i1', output_index: 0, content_index: 0, delta: Buffer.alloc(800).toString('base64') });
    responseDone(h, 'r1', { status: 'cancelled' });
    h.clock.advance(5000);
    expect(h.control.audioBytes).toBe(sentBefore);
    // The next response plays normally.
    botSpeaks(h, 'r2', 'i2', 200, { done: true });
    h.clock.advance(1000);
    expect(h.control.audioBytes).toBe(sentBefore + 1600);
  });

  it('sends no barge_in when nothing is playing', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    h.model.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u1' });
    botSpeaks(h, 'r1', 'i1', 200, { done: true });
    h.clock.advance(3000);
    h.model.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u2' });
    expect(h.control.entityTypes()).toEqual([]);
    expect(h.model.ofType('conversation.item.truncate')).toHaveLength(0);
  });

  // The protocol session owns the 429 hold (it refuses sendAudio meanwhile: test/audiohook/rate-limit.test.ts);
  // the bridge keeps the refused audio and sends it, in full, once the hold ends.
  it('holds outbound audio for a Genesys 429 retryAfter', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    h.control.refuseAudioUntil = h.clock.now() + 2000;
    h.handler.onClientError!({ code: 429, message: 'Too many requests', retryAfterMs: 2000 });
    botSpeaks(h, 'r1', 'i1', 400, { done: true });
    h.clock.advance(1900);
    expect(h.control.audioBytes).toBe(0);
    h.clock.advance(1000);
    expect(h.control.audioBytes).toBe(3200);
  });

  it('sends bot_turn_response events only when enabled', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' }, env: { BOT_TURN_EVENTS: 'true' } });
    await makeReady(h);
    h.model.emit({ type: 'response.output_audio_transcript.done', response_id: 'r1', item_id: 'i1', output_index: 0, content_index: 0, transcript: 'Hello there.' });
    expect(h.control.events).toEqual([[{ type: 'bot_turn_response', data: { disposition: 'match', text: 'Hello there.' } }]]);
    const off = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(off);
    off.model.emit({ type: 'response.output_audio_transcript.done', response_id: 'r1', item_id: 'i1', output_index: 0, content_index: 0, transcript: 'Hi' });
    expect(off.control.events).toEqual([]);
  });
});

describe('DTMF', () => {
  it('gives the collected digits to the model as a user item plus response.create', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    for (const d of '1234#') h.handler.onDtmf!(d, 0);
    const item = h.model.ofType('conversation.item.create').at(-1)!;
    expect(item.item).toMatchObject({ role: 'user', content: [{ type: 'input_text', text: 'The caller pressed the keypad digits: 1234' }] });
    expect(h.model.ofType('response.create')).toHaveLength(1);
  });

  it('keys pressed before the model session is ready are answered once it is, after the greeting (nothing ignored)', async () => {
    const h = startCall();
    for (const d of '12#') h.handler.onDtmf!(d, 0);
    for (const d of '3#') h.handler.onDtmf!(d, 0);
    expect(h.model.sent).toEqual([]);
    await makeReady(h);
    const keypad = h.model.ofType('conversation.item.create').filter((e) => e.item.type === 'message' && e.item.role === 'user');
    expect(keypad.map((e) => (e.item as { content: Array<{ text: string }> }).content[0]!.text)).toEqual([
      'The caller pressed the keypad digits: 12',
      'The caller pressed the keypad digits: 3',
    ]);
    // The greeting's request went first; the keypad's replies wait their turn.
    expect(h.model.ofType('response.create')).toHaveLength(1);
    const at = (pred: (e: (typeof h.model.sent)[number]) => boolean) => h.model.sent.findIndex(pred);
    expect(at((e) => e.type === 'response.create')).toBeLessThan(at((e) => e.type === 'conversation.item.create' && e.item.type === 'message' && e.item.role === 'user'));
    botSpeaks(h, 'r1', 'i1', 200);
    responseDone(h, 'r1');
    expect(h.model.ofType('response.create')).toHaveLength(2);
  });

  it('keys pressed while the model reconnects reach the new session', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    h.model.drop(1006);
    for (const d of '77#') h.handler.onDtmf!(d, 0);
    await makeReady(h);
    expect(h.models).toHaveLength(2);
    const item = h.model.ofType('conversation.item.create').at(-1)!;
    expect(item.item).toMatchObject({ role: 'user', content: [{ type: 'input_text', text: 'The caller pressed the keypad digits: 77' }] });
    expect(h.model.ofType('response.create').length).toBeGreaterThanOrEqual(1);
  });

  it('holds at most MAX_HELD_KEYPAD_ENTRIES entries while waiting, dropping the oldest', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    for (let i = 0; i < MAX_HELD_KEYPAD_ENTRIES + 3; i++) for (const d of `${i}#`) h.handler.onDtmf!(d, 0);
    await makeReady(h);
    const texts = h.model.ofType('conversation.item.create').map((e) => (e.item as { content: Array<{ text: string }> }).content[0]!.text);
    expect(texts).toHaveLength(MAX_HELD_KEYPAD_ENTRIES);
    expect(texts[0]).toBe('The caller pressed the keypad digits: 3');
  });

  it('queues the response.create while a response is active', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    botSpeaks(h, 'r1', 'i1', 200);
    h.handler.onDtmf!('5', 0);
    h.clock.advance(3000);
    expect(h.model.ofType('response.create')).toHaveLength(0);
    responseDone(h, 'r1');
    expect(h.model.ofType('response.create')).toHaveLength(1);
  });

  // The duplicate-reply race: the greeting's response.create is on the wire, its response.created not back
  // yet, and a keypad entry asks for a reply. Only one request may be in flight; the second waits for the
  // first response to be created and done.
  it('sends one response.create at a time when two replies are requested within one round trip', async () => {
    const h = startCall();
    await makeReady(h);
    expect(h.model.ofType('response.create')).toHaveLength(1);
    h.handler.onDtmf!('5', 0);
    h.handler.onDtmf!('#', 0);
    expect(h.model.ofType('response.create')).toHaveLength(1);
    botSpeaks(h, 'r1', 'i1', 200);
    expect(h.model.ofType('response.create')).toHaveLength(1);
    responseDone(h, 'r1');
    expect(h.model.ofType('response.create')).toHaveLength(2);
    const ids = h.model.ofType('response.create').map((e) => e.event_id);
    expect(new Set(ids).size).toBe(2);
  });

  it('sends a request the server refused as busy again once the running response is done', async () => {
    const h = startCall();
    await makeReady(h);
    const greeting = h.model.ofType('response.create')[0]!;
    // A VAD response won the race; the server refuses our greeting request.
    botSpeaks(h, 'r_vad', 'i1', 200);
    h.model.error('conversation_already_has_active_response', 'busy', greeting.event_id);
    expect(h.model.ofType('response.create')).toHaveLength(1);
    responseDone(h, 'r_vad');
    expect(h.model.ofType('response.create')).toHaveLength(2);
  });
});

async function endCallByTool(tool: 'end_call' | 'transfer_to_agent', reason: string) {
  const h = startCall({ vars: { AI_GREETING: 'false' } });
  await makeReady(h);
  h.model.emit({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', content_index: 0, transcript: 'I want to talk to a manager.' });
  botSpeaks(h, 'r1', 'i1', 200);
  h.model.emit({ type: 'response.function_call_arguments.done', response_id: 'r1', item_id: 'f1', output_index: 1, call_id: 'call_1', name: tool, arguments: JSON.stringify({ reason }) });
  responseDone(h, 'r1');
  const output = h.model.ofType('conversation.item.create').at(-1)!;
  expect(output.item).toMatchObject({ type: 'function_call_output', call_id: 'call_1' });
  const farewellRequest = h.model.ofType('response.create').at(-1)!;
  expect(farewellRequest.response?.metadata).toEqual({ purpose: 'farewell' });
  // The farewell: 1 s of audio.
  botSpeaks(h, 'r2', 'i2', 1000, { metadata: { purpose: 'farewell' } });
  h.model.emit({ type: 'response.output_audio_transcript.done', response_id: 'r2', item_id: 'i2', output_index: 0, content_index: 0, transcript: 'Goodbye!' });
  responseDone(h, 'r2');
  await flush();
  expect(h.control.disconnects).toHaveLength(0);
  expect(h.model.ofType('response.create').filter((r) => r.response?.conversation === 'none')).toHaveLength(0);
  for (let t = 0; t < 20; t++) {
    h.clock.advance(100);
    await flush();
  }
  // Farewell fully sent, then the summary was requested out of band.
  expect(h.control.audioBytes).toBe(9600);
  const summaryRequest = h.model.ofType('response.create').find((r) => r.response?.conversation === 'none');
  expect(summaryRequest?.response).toMatchObject({ output_modalities: ['text'], metadata: { purpose: 'call_summary' } });
  expect(h.control.disconnects).toHaveLength(0);
  summaryDone(h, JSON.stringify({ summary: 'Caller asked for a manager.', sentiment: 'negative', resolved: false, follow_ups: [] }));
  await flush();
  await h.factory.drain();
  return h;
}

describe('bot-ended calls', () => {
  it('end_call: farewell fully played, then disconnect completed with a non-empty summary', async () => {
    const h = await endCallByTool('end_call', 'caller is done');
    expect(h.control.disconnects).toHaveLength(1);
    const d = h.control.disconnects[0]!;
    expect(d.reason).toBe('completed');
    expect(d.outputs?.CONVERSATION_SUMMARY).toBe('Caller asked for a manager.');
    expect(d.outputs?.ESCALATION_REQUIRED).toBe('false');
    expect(d.outputs?.TOTAL_INPUT_TOKENS).toBe('40');
    expect(d.outputs?.TOTAL_CACHED_TOKENS).toBe('10');
    expect(h.records[0]!.record).toMatchObject({ end_reason: 'bot_ended', summary: { source: 'model' } });
    expect(h.records[0]!.record.transcript.map((t) => t.role)).toEqual(['caller', 'bot']);
    expect(h.model.closed).toBe(true);
  });

  it('transfer_to_agent sets ESCALATION_REQUIRED and the reason', async () => {
    const h = await endCallByTool('transfer_to_agent', 'asked for a manager');
    const d = h.control.disconnects[0]!;
    expect(d.outputs).toMatchObject({ ESCALATION_REQUIRED: 'true', ESCALATION_REASON: 'asked for a manager' });
    expect(h.records[0]!.record.escalation).toEqual({ required: true, reason: 'asked for a manager' });
  });

  it('falls back to the transcript summary when the model does not answer in time', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' }, env: { SUMMARY_TIMEOUT_MS: '3000' } });
    await makeReady(h);
    h.model.emit({ type: 'response.function_call_arguments.done', response_id: 'r1', item_id: 'f1', output_index: 0, call_id: 'c', name: 'end_call', arguments: '{}' });
    botSpeaks(h, 'r2', 'i2', 200, { metadata: { purpose: 'farewell' }, done: true });
    for (let t = 0; t < 50; t++) {
      h.clock.advance(100);
      await flush();
    }
    await h.factory.drain();
    const d = h.control.disconnects[0]!;
    expect(d.reason).toBe('completed');
    expect(d.outputs?.SUMMARY_SOURCE).toBe('fallback');
    expect(d.outputs?.CONVERSATION_SUMMARY).not.toBe('');
  });
});

describe('caller hang-up', () => {
  it('returns from onClose at once, then summarizes and reports in the background', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    h.model.emit({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', content_index: 0, transcript: 'Just checking hours.' });
    const result = h.handler.onClose({ kind: 'close', reason: 'end' });
    expect(result).toBeUndefined();
    await flush();
    expect(h.model.ofType('response.create').find((r) => r.response?.conversation === 'none')).toBeDefined();
    summaryDone(h, '{"summary":"Asked about hours.","sentiment":"neutral","resolved":true,"follow_ups":[]}');
    await h.factory.drain();
    expect(h.control.disconnects).toHaveLength(0);
    expect(h.records).toHaveLength(1);
    expect(h.records[0]!.record).toMatchObject({ end_reason: 'caller_hangup', summary: { summary: 'Asked about hours.', source: 'model' } });
    expect(h.records[0]!.delivery?.delivered).toBe(true);
    expect(h.model.closed).toBe(true);
  });

  it('mid-utterance with under 100 ms since the last turn: the refused commit (commit_empty) does not hold up the summary', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    h.model.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u1' });
    h.handler.onClose({ kind: 'close', reason: 'end' });
    await flush();
    expect(h.model.ofType('input_audio_buffer.commit')).toHaveLength(1);
    const summaryRequest = () => h.model.ofType('response.create').find((r) => r.response?.conversation === 'none');
    expect(summaryRequest()).toBeUndefined();
    h.model.error('input_audio_buffer_commit_empty', 'Error committing input audio buffer: buffer too small.');
    await flush();
    await flush();
    // At once, not after the 1.5 s wait for a transcript that will never come.
    expect(summaryRequest()).toBeDefined();
  });

  it('cancels a running reply before asking for the summary', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    botSpeaks(h, 'r1', 'i1', 1000);
    h.handler.onClose({ kind: 'close', reason: 'end' });
    await flush();
    expect(h.model.ofType('response.cancel')).toHaveLength(1);
    expect(h.model.ofType('response.create').find((r) => r.response?.conversation === 'none')).toBeUndefined();
    responseDone(h, 'r1', { status: 'cancelled' });
    await flush();
    expect(h.model.ofType('response.create').find((r) => r.response?.conversation === 'none')).toBeDefined();
  });

  it('reports a fallback summary when the caller hangs up before the model is ready', async () => {
    const h = startCall();
    h.handler.onClose({ kind: 'close', reason: 'end' });
    await flush();
    await h.factory.drain();
    expect(h.records[0]!.record.summary.source).toBe('fallback');
    h.model.open();
    await flush();
    expect(h.model.ofType('session.update')).toHaveLength(0);
    expect(h.model.closed).toBe(true);
  });
});
