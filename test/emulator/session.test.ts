import { describe, expect, it } from 'vitest';
import { createHarness, PCMU_SESSION, utterance } from './harness.js';

const RESPONSE_SEQUENCE = [
  'response.created',
  'rate_limits.updated',
  'response.output_item.added',
  'conversation.item.added',
  'response.content_part.added',
];

describe('EmulatorSession protocol', () => {
  it('announces itself with a full default session and ids on every event', () => {
    const h = createHarness();
    const created = h.events[0]!;
    expect(created.type).toBe('session.created');
    expect(created.event_id).toMatch(/^event_/);
    const session = created.session as Record<string, any>;
    expect(session.id).toMatch(/^sess_/);
    expect(session).toMatchObject({ type: 'realtime', object: 'realtime.session', model: 'gpt-realtime-2.1', output_modalities: ['audio'] });
    expect(session.instructions).toContain('emulator');
    expect(session.audio.input.format).toEqual({ type: 'audio/pcm', rate: 24000 });
    expect(session.audio.input.turn_detection).toMatchObject({ type: 'server_vad', threshold: 0.5, silence_duration_ms: 500 });
  });

  it('echoes the merged effective configuration in session.updated', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.', audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 700 } } } } });
    const updated = h.ofType('session.updated');
    expect(updated).toHaveLength(2);
    const session = updated[1]!.session as Record<string, any>;
    expect(session.instructions).toBe('Be brief.');
    expect(session.audio.input.format).toEqual({ type: 'audio/pcmu' });
    expect(session.audio.output).toMatchObject({ format: { type: 'audio/pcmu' }, voice: 'marin' });
    expect(session.audio.input.transcription).toEqual({ model: 'gpt-transcribe' });
    // turn_detection is replaced as a whole, with defaults for what was left out.
    expect(session.audio.input.turn_detection).toEqual({
      type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 700, create_response: true, interrupt_response: true, idle_timeout_ms: null,
    });
  });

  it('answers a beta-shaped session.update with an error and keeps the session', () => {
    const h = createHarness();
    h.send({ type: 'session.update', event_id: 'c1', session: { modalities: ['audio'], input_audio_format: 'g711_ulaw', voice: 'alloy' } });
    const error = h.last('error')!;
    expect(error.error).toMatchObject({ type: 'invalid_request_error', code: 'unknown_parameter', event_id: 'c1' });
    expect(h.ofType('session.updated')).toHaveLength(0);
    expect(h.closes).toEqual([]);
    h.send({ type: 'session.update', session: PCMU_SESSION });
    expect(h.ofType('session.updated')).toHaveLength(1);
  });

  it('streams PCM, not μ-law, when the bridge forgot audio/pcmu', () => {
    const h = createHarness();
    h.send({ type: 'response.create' });
    const deltaBytes = h.ofType('response.output_audio.delta').reduce((n, e) => n + Buffer.from(String(e.delta), 'base64').length, 0);
    // The 1000 ms greeting tone at 24 kHz 16-bit.
    expect(deltaBytes).toBe(1000 * 48);
  });

  it('detects a caller turn at the right audio times and answers with the scripted reply', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.clear();
    h.appendUlaw(utterance(1000, 800, 700));
    const types = h.events.map((e) => e.type);
    const started = h.last('input_audio_buffer.speech_started')!;
    const stopped = h.last('input_audio_buffer.speech_stopped')!;
    expect(started.audio_start_ms).toBe(700);
    expect(stopped.audio_end_ms).toBe(2300);
    expect(stopped.item_id).toBe(started.item_id);
    expect(types.slice(0, 7)).toEqual([
      'input_audio_buffer.speech_started',
      'input_audio_buffer.speech_stopped',
      'input_audio_buffer.committed',
      'conversation.item.added',
      'conversation.item.done',
      'conversation.item.input_audio_transcription.delta',
      'conversation.item.input_audio_transcription.completed',
    ]);
    expect(types.slice(7, 9)).toEqual(['response.created', 'rate_limits.updated']);
    expect(h.last('conversation.item.input_audio_transcription.completed')!.transcript).toBe('Where is my order?');
    const done = h.last('response.done')!.response as Record<string, any>;
    expect(done.status).toBe('completed');
    expect(done.output[0].content[0]).toEqual({ type: 'output_audio', transcript: 'What is the order number?' });
  });

  it('streams a reply as the real API does, with 100 ms μ-law deltas and full usage', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.clear();
    h.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Greet the caller.' }] } });
    h.clear();
    h.send({ type: 'response.create' });
    const types = h.events.map((e) => e.type);
    expect(types.slice(0, 5)).toEqual(RESPONSE_SEQUENCE);
    const deltas = h.ofType('response.output_audio.delta');
    expect(deltas).toHaveLength(10);
    for (const d of deltas) expect(Buffer.from(String(d.delta), 'base64')).toHaveLength(800);
    // The real order: audio done before its transcript.
    expect(types.slice(-6)).toEqual([
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    const transcript = h.ofType('response.output_audio_transcript.delta').map((e) => e.delta).join('');
    expect(transcript).toBe('Hello there, how can I help?');
    const response = h.last('response.done')!.response as Record<string, any>;
    expect(response.id).toMatch(/^resp_/);
    expect(response.usage).toMatchObject({
      input_token_details: { text_tokens: expect.any(Number), audio_tokens: 0, image_tokens: 0, cached_tokens: 0, cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 } },
      output_token_details: { text_tokens: expect.any(Number), audio_tokens: 20 },
    });
    expect(response.usage.total_tokens).toBe(response.usage.input_tokens + response.usage.output_tokens);
  });

  it('paces deltas at 1× in realtime mode', () => {
    const h = createHarness({ speed: 'realtime' });
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' });
    expect(h.ofType('response.output_audio.delta')).toHaveLength(1);
    h.clock.advance(450);
    expect(h.ofType('response.output_audio.delta')).toHaveLength(5);
    h.clock.advance(600);
    expect(h.ofType('response.output_audio.delta')).toHaveLength(10);
    expect(h.ofType('response.done')).toHaveLength(1);
  });

  it('cancels the active response when the caller barges in', () => {
    const h = createHarness({ speed: 'realtime' });
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' });
    h.clock.advance(250);
    h.appendUlaw(utterance(0, 200, 0));
    const done = h.last('response.done')!.response as Record<string, any>;
    expect(done.status).toBe('cancelled');
    expect(done.status_details).toEqual({ type: 'cancelled', reason: 'turn_detected' });
    expect(done.output[0].status).toBe('incomplete');
    expect(h.ofType('response.output_audio.done')).toHaveLength(1);
    const deltasBefore = h.ofType('response.output_audio.delta').length;
    h.clock.advance(2000);
    expect(h.ofType('response.output_audio.delta')).toHaveLength(deltasBefore);
  });

  it('does not cancel when interrupt_response is false', () => {
    const h = createHarness({ speed: 'realtime' });
    h.send({ type: 'session.update', session: { ...PCMU_SESSION, audio: { ...PCMU_SESSION.audio, input: { ...PCMU_SESSION.audio.input, turn_detection: { type: 'server_vad', interrupt_response: false } } } } });
    h.send({ type: 'response.create' });
    h.clock.advance(250);
    h.appendUlaw(utterance(0, 200, 0));
    expect(h.ofType('input_audio_buffer.speech_started')).toHaveLength(1);
    expect(h.ofType('response.done')).toHaveLength(0);
  });

  it('truncates delivered assistant audio and rejects truncation past its end', () => {
    const h = createHarness({ speed: 'realtime' });
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' });
    h.clock.advance(250); // 3 deltas = 300 ms delivered
    const itemId = String((h.last('response.output_item.added')!.item as Record<string, unknown>).id);
    h.send({ type: 'response.cancel' });
    h.send({ type: 'conversation.item.truncate', event_id: 't1', item_id: itemId, content_index: 0, audio_end_ms: 500 });
    expect(h.last('error')!.error).toMatchObject({ message: 'Audio content of 300ms is already shorter than 500ms', event_id: 't1' });
    h.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 200 });
    expect(h.last('conversation.item.truncated')).toMatchObject({ item_id: itemId, content_index: 0, audio_end_ms: 200 });
    h.send({ type: 'conversation.item.truncate', item_id: 'item_unknown', content_index: 0, audio_end_ms: 0 });
    expect(h.last('error')!.error).toMatchObject({ code: 'item_not_found', param: 'item_id' });
  });

  it('rejects a second response.create while one is active, and a cancel with none active', () => {
    const h = createHarness({ speed: 'realtime' });
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' });
    h.send({ type: 'response.create', event_id: 'second' });
    expect(h.last('error')!.error).toMatchObject({ code: 'conversation_already_has_active_response', event_id: 'second' });
    h.send({ type: 'response.cancel' });
    expect(h.last('response.done')!.response).toMatchObject({ status: 'cancelled', status_details: { reason: 'client_cancelled' } });
    h.send({ type: 'response.cancel' });
    expect(h.last('error')!.error).toMatchObject({ code: 'response_cancel_not_active' });
  });

  it('makes the scripted tool call on cue and plays the follow-up after the tool output', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' }); // greeting
    h.appendUlaw(utterance(300, 600, 600)); // turn 1 → reply
    h.clear();
    h.appendUlaw(utterance(300, 600, 600)); // turn 2 → end_call
    const argsDone = h.last('response.function_call_arguments.done')!;
    expect(argsDone).toMatchObject({ name: 'end_call', arguments: JSON.stringify({ reason: 'done' }) });
    expect(argsDone.call_id).toMatch(/^call_/);
    const added = h.ofType('response.output_item.added').at(-1)!.item as Record<string, unknown>;
    expect(added).toMatchObject({ type: 'function_call', name: 'end_call' });
    expect((h.last('response.done')!.response as any).output[0]).toMatchObject({ type: 'function_call', call_id: argsDone.call_id });
    expect(h.ofType('response.output_audio.delta')).toHaveLength(0);
    h.clear();
    h.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: argsDone.call_id, output: '{"ok":true}' } });
    h.send({ type: 'response.create' });
    expect(h.last('response.output_audio_transcript.done')!.transcript).toBe('Thanks for calling, goodbye!');
    expect(h.session.toolCalls.map((t) => t.name)).toEqual(['end_call']);
  });

  it('fires a text cue (DTMF or typed) tool call', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'I want a MANAGER' }] } });
    h.send({ type: 'response.create' });
    expect(h.last('response.function_call_arguments.done')).toMatchObject({ name: 'transfer_to_agent' });
  });

  it('answers an out-of-band summary request with JSON built from the conversation', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' });
    h.appendUlaw(utterance(300, 600, 600));
    h.appendUlaw(utterance(300, 600, 600));
    const callId = String(h.last('response.function_call_arguments.done')!.call_id);
    h.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: '{}' } });
    h.send({ type: 'response.create' });
    const conversationBefore = h.session.conversation.length;
    h.clear();
    h.send({
      type: 'response.create',
      response: { conversation: 'none', output_modalities: ['text'], metadata: { purpose: 'call_summary' }, instructions: 'Summarize this call as JSON.' },
    });
    expect(h.ofType('conversation.item.added')).toHaveLength(0);
    expect(h.session.conversation).toHaveLength(conversationBefore);
    const streamed = h.ofType('response.output_text.delta').map((e) => e.delta).join('');
    const response = h.last('response.done')!.response as Record<string, any>;
    expect(response.metadata).toEqual({ purpose: 'call_summary' });
    expect(response.conversation_id).toBeNull();
    const content = response.output[0].content[0];
    expect(content.type).toBe('output_text');
    expect(content.text).toBe(streamed);
    const summary = JSON.parse(content.text);
    expect(summary).toMatchObject({
      caller_requests: ['Where is my order?', 'Goodbye.'],
      sentiment: 'neutral',
      resolved: true,
      escalated: false,
      tools_called: ['end_call'],
      turns: { caller: 2 },
    });
  });

  it('rejects a manual commit of less than 100 ms', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcmu' }, turn_detection: null } } } });
    h.appendUlaw(utterance(50, 0, 0));
    h.send({ type: 'input_audio_buffer.commit' });
    expect(h.last('error')!.error).toMatchObject({ code: 'input_audio_buffer_commit_empty' });
    h.appendUlaw(utterance(100, 0, 0));
    h.send({ type: 'input_audio_buffer.commit' });
    expect(h.ofType('input_audio_buffer.committed')).toHaveLength(1);
    expect(h.ofType('response.created')).toHaveLength(0);
  });

  it('fires idle_timeout_ms in audio time after the reply has played', () => {
    const h = createHarness();
    const td = { type: 'server_vad', idle_timeout_ms: 6000 };
    h.send({ type: 'session.update', session: { ...PCMU_SESSION, audio: { ...PCMU_SESSION.audio, input: { ...PCMU_SESSION.audio.input, turn_detection: td } } } });
    h.send({ type: 'response.create' }); // 1000 ms greeting, done at audio time 0
    h.appendUlaw(utterance(6900, 0, 0));
    expect(h.ofType('input_audio_buffer.timeout_triggered')).toHaveLength(0);
    h.appendUlaw(utterance(200, 0, 0));
    const timeout = h.last('input_audio_buffer.timeout_triggered')!;
    expect(timeout).toMatchObject({ audio_start_ms: 1000, audio_end_ms: 7000 });
    expect(h.ofType('response.done')).toHaveLength(2);
  });

  it('applies injected faults: failed response, silence, error event, session_expired, close', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.session.applyFault({ type: 'fail_next_response', retryAfterSeconds: 1.2 });
    h.send({ type: 'response.create' });
    const failed = h.last('response.done')!.response as Record<string, any>;
    expect(failed.status).toBe('failed');
    expect(failed.status_details.error.code).toBe('rate_limit_exceeded');
    expect(failed.status_details.error.message).toContain('Please try again in 1.2s.');
    h.send({ type: 'response.create' });
    expect((h.last('response.done')!.response as any).status).toBe('completed');

    h.session.applyFault({ type: 'silent' });
    h.clear();
    h.appendUlaw(utterance(300, 500, 600));
    expect(h.ofType('input_audio_buffer.speech_stopped')).toHaveLength(1);
    expect(h.ofType('response.created')).toHaveLength(0);

    h.session.applyFault({ type: 'error', error: { type: 'server_error', message: 'boom' } });
    expect(h.last('error')!.error).toMatchObject({ type: 'server_error', message: 'boom' });

    h.session.applyFault({ type: 'session_expired' });
    expect(h.last('error')!.error).toMatchObject({ code: 'session_expired' });
    expect(h.closes).toEqual([{ code: 1001, reason: 'Your session hit the maximum duration of 60 minutes.' }]);
    h.send({ type: 'response.create' });
    expect(h.last('error')!.error).toMatchObject({ code: 'session_expired' });
  });
});
