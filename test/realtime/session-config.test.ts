import { describe, expect, it } from 'vitest';
import { buildSessionUpdate, CALL_TOOLS, checkSessionUpdated, type CallSettings } from '../../src/realtime/session-config.js';
import { realtimeEnvSchema, transcriptionModelOf } from '../../src/realtime/env.js';

const base: CallSettings = {
  model: 'gpt-realtime-2.1-mini',
  voice: 'marin',
  instructions: 'Be brief.',
  vad: { type: 'server_vad', threshold: 0.6, prefixPaddingMs: 300, silenceDurationMs: 500, idleTimeoutMs: 8000 },
  noiseReduction: 'near_field',
  transcriptionModel: 'gpt-transcribe',
  transcriptionLanguage: 'en',
  maxOutputTokens: 'inf',
};

describe('buildSessionUpdate', () => {
  it('builds a GA realtime session with pcmu both ways and explicit server_vad', () => {
    const { session } = buildSessionUpdate(base);
    expect(session.type).toBe('realtime');
    const s = session as Record<string, any>;
    expect(s.output_modalities).toEqual(['audio']);
    expect(s.audio.input.format).toEqual({ type: 'audio/pcmu' });
    expect(s.audio.output.format).toEqual({ type: 'audio/pcmu' });
    expect(s.audio.output.voice).toBe('marin');
    expect(s.audio.input.turn_detection).toEqual({
      type: 'server_vad',
      threshold: 0.6,
      prefix_padding_ms: 300,
      silence_duration_ms: 500,
      create_response: true,
      interrupt_response: true,
      idle_timeout_ms: 8000,
    });
    expect(s.audio.input.noise_reduction).toEqual({ type: 'near_field' });
    expect(s.audio.input.transcription).toEqual({ model: 'gpt-transcribe', language: 'en' });
    expect(s.tool_choice).toBe('auto');
    expect(s.max_output_tokens).toBe('inf');
    expect(s.instructions).toBe('Be brief.');
    // No beta field names anywhere.
    const json = JSON.stringify(session);
    for (const beta of ['input_audio_format', 'output_audio_format', 'g711_ulaw', '"modalities"', 'temperature']) {
      expect(json).not.toContain(beta);
    }
  });

  it('builds semantic_vad with eagerness and omits noise reduction / transcription when off', () => {
    const s = buildSessionUpdate({
      ...base,
      vad: { type: 'semantic_vad', eagerness: 'low' },
      noiseReduction: 'off',
      transcriptionModel: null,
      maxOutputTokens: 300,
    }).session as Record<string, any>;
    expect(s.audio.input.turn_detection).toEqual({
      type: 'semantic_vad',
      eagerness: 'low',
      create_response: true,
      interrupt_response: true,
    });
    expect(s.audio.input).not.toHaveProperty('noise_reduction');
    expect(s.audio.input).not.toHaveProperty('transcription');
    expect(s.max_output_tokens).toBe(300);
  });

  it('declares end_call and transfer_to_agent with the schema in parameters and no strict inside it', () => {
    expect(CALL_TOOLS.map((t) => t.name)).toEqual(['end_call', 'transfer_to_agent']);
    for (const tool of CALL_TOOLS) {
      expect(tool.type).toBe('function');
      const params = tool.parameters as Record<string, any>;
      expect(params.type).toBe('object');
      expect(params.required).toEqual(['reason']);
      expect(params.properties.reason.type).toBe('string');
      expect(params).not.toHaveProperty('strict');
    }
  });
});

describe('checkSessionUpdated', () => {
  const updated = (input: string, output: string) => ({
    type: 'session.updated',
    event_id: 'e1',
    session: { type: 'realtime', audio: { input: { format: { type: input } }, output: { format: { type: output } } } },
  });
  it('accepts pcmu both ways', () => {
    expect(checkSessionUpdated(updated('audio/pcmu', 'audio/pcmu'))).toBeUndefined();
  });
  it('rejects any other format, naming it', () => {
    expect(checkSessionUpdated(updated('audio/pcmu', 'audio/pcm'))?.message).toContain('output=audio/pcm');
    expect(checkSessionUpdated(updated('audio/pcma', 'audio/pcmu'))?.message).toContain('input=audio/pcma');
  });
  it('rejects a session without audio formats', () => {
    expect(checkSessionUpdated({ type: 'session.updated', session: {} })).toBeInstanceOf(Error);
  });
});

describe('realtimeEnvShape', () => {
  it('has safe defaults and rejects non-Realtime voices', () => {
    const env = realtimeEnvSchema.parse({});
    expect(env.OPENAI_MODEL).toBe('gpt-realtime-2.1-mini');
    expect(env.OPENAI_VOICE).toBe('marin');
    expect(env.VAD_TYPE).toBe('server_vad');
    expect(env.VAD_THRESHOLD).toBe(0.5);
    expect(transcriptionModelOf(env)).toBe('gpt-transcribe');
    // Azure: a deployment name cannot be guessed, so unset means off; "off" is off everywhere.
    expect(transcriptionModelOf({ AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com' })).toBeNull();
    expect(transcriptionModelOf({ AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com', INPUT_TRANSCRIPTION_MODEL: 'my-transcribe' })).toBe('my-transcribe');
    expect(transcriptionModelOf({ INPUT_TRANSCRIPTION_MODEL: 'OFF' })).toBeNull();
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(realtimeEnvSchema.safeParse({ OPENAI_VOICE: 'nova' }).success).toBe(false);
    expect(realtimeEnvSchema.safeParse({ VAD_THRESHOLD: '1.5' }).success).toBe(false);
  });
});
