import { describe, expect, it } from 'vitest';
import { parseClientEvent } from '../../src/emulator/parse-client-event.js';

function errorOf(event: unknown) {
  const parsed = parseClientEvent(JSON.stringify(event));
  if (parsed.ok) throw new Error('expected a rejection');
  return parsed.error;
}

describe('GA client event validation', () => {
  it('accepts the GA telephony session.update', () => {
    const parsed = parseClientEvent(
      JSON.stringify({
        type: 'session.update',
        session: {
          type: 'realtime',
          instructions: 'Be brief.',
          output_modalities: ['audio'],
          audio: {
            input: {
              format: { type: 'audio/pcmu' },
              noise_reduction: { type: 'near_field' },
              transcription: { model: 'gpt-transcribe', language: 'en' },
              turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, create_response: true, interrupt_response: true, idle_timeout_ms: 8000 },
            },
            output: { format: { type: 'audio/pcmu' }, voice: 'marin', speed: 1.0 },
          },
          tools: [{ type: 'function', name: 'end_call', description: 'Hang up', parameters: { type: 'object', properties: {} } }],
          tool_choice: 'auto',
          max_output_tokens: 'inf',
          truncation: 'auto',
          tracing: { workflow_name: 'phone', group_id: 'c1' },
        },
      }),
    );
    expect(parsed.ok).toBe(true);
  });

  it('rejects the retired beta session shape with unknown_parameter', () => {
    const error = errorOf({
      type: 'session.update',
      event_id: 'evt_client_1',
      session: { type: 'realtime', modalities: ['text', 'audio'], input_audio_format: 'g711_ulaw' },
    });
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'unknown_parameter', event_id: 'evt_client_1' });
    expect(['session.modalities', 'session.input_audio_format']).toContain(error.param);
    expect(error.message).toBe(`Unknown parameter: '${error.param}'.`);
  });

  it('rejects top-level turn_detection', () => {
    const error = errorOf({ type: 'session.update', session: { type: 'realtime', turn_detection: { type: 'server_vad' } } });
    expect(error).toMatchObject({ code: 'unknown_parameter', param: 'session.turn_detection' });
  });

  it('requires session.type', () => {
    const error = errorOf({ type: 'session.update', session: { instructions: 'hi' } });
    expect(error).toMatchObject({ code: 'missing_required_parameter', param: 'session.type' });
  });

  it("rejects the 'g711-ulaw' style format typo with invalid_value", () => {
    const error = errorOf({ type: 'session.update', session: { type: 'realtime', audio: { output: { format: { type: 'g711-ulaw' } } } } });
    expect(error.code).toBe('invalid_value');
    expect(error.param).toBe('session.audio.output.format.type');
    expect(error.message).toContain("'g711-ulaw'");
  });

  it('rejects out-of-range values', () => {
    const error = errorOf({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', threshold: 2 } } } } });
    expect(error.param).toBe('session.audio.input.turn_detection.threshold');
    expect(error.code).toBe('decimal_above_max_value');
  });

  it('rejects unknown event types and beta-only events', () => {
    expect(errorOf({ type: 'transcription_session.update', session: {} })).toMatchObject({ code: 'invalid_value', param: 'type' });
    expect(errorOf({ type: 'response.audio.delta' })).toMatchObject({ code: 'invalid_value', param: 'type' });
  });

  it('rejects bad JSON and non-base64 audio', () => {
    const bad = parseClientEvent('{nope');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('invalid_json');
    expect(errorOf({ type: 'input_audio_buffer.append', audio: 'not base64 !!' }).param).toBe('audio');
  });

  it('validates truncate fields and conversation items', () => {
    expect(errorOf({ type: 'conversation.item.truncate', item_id: 'item_1', content_index: 0, audio_end_ms: -5 }).param).toBe('audio_end_ms');
    expect(errorOf({ type: 'conversation.item.truncate', item_id: 'item_1', audio_end_ms: 5 })).toMatchObject({ code: 'missing_required_parameter', param: 'content_index' });
    expect(
      parseClientEvent(JSON.stringify({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_1', output: '{}' } })).ok,
    ).toBe(true);
    expect(
      parseClientEvent(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] } })).ok,
    ).toBe(true);
    // Beta assistant content type `text` is gone in GA.
    expect(parseClientEvent(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'hi' }] } })).ok).toBe(false);
  });
});
