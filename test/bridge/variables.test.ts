import { describe, expect, it } from 'vitest';
import { realtimeEnvSchema } from '../../src/realtime/env.js';
import { InputVariableError, parseCustomerData, resolveCallConfig, transcriptionLanguageOf } from '../../src/bridge/variables.js';
import { CALL_CONTROL_GUIDANCE } from '../../src/bridge/instructions.js';

const defaults = realtimeEnvSchema.parse({});

function errorOf(vars: Record<string, string>): InputVariableError {
  try {
    resolveCallConfig(vars, defaults);
  } catch (err) {
    if (err instanceof InputVariableError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('resolveCallConfig', () => {
  it('uses env defaults when no variables are given', () => {
    const { settings, greeting } = resolveCallConfig({}, defaults);
    expect(settings.model).toBe('gpt-realtime-2.1-mini');
    expect(settings.voice).toBe('marin');
    expect(settings.maxOutputTokens).toBe('inf');
    expect(settings.vad).toEqual({ type: 'server_vad', threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 });
    expect(settings.transcriptionModel).toBe('gpt-transcribe');
    expect(settings.instructions).toContain(CALL_CONTROL_GUIDANCE);
    expect(settings.instructions).not.toContain('[AGENT_NAME]');
    expect(greeting).toEqual({ kind: 'model' });
  });

  it('lets AI_* variables override env, and legacy names act as fallbacks', () => {
    const { settings } = resolveCallConfig(
      { AI_VOICE: 'cedar', OPENAI_VOICE: 'sage', OPENAI_MODEL: 'gpt-realtime-2.1', OPENAI_MAX_OUTPUT_TOKENS: '512', LANGUAGE: 'de-DE' },
      defaults,
    );
    expect(settings.voice).toBe('cedar');
    expect(settings.model).toBe('gpt-realtime-2.1');
    expect(settings.maxOutputTokens).toBe(512);
    expect(settings.instructions).toContain('Speak de-DE');
    expect(settings.transcriptionLanguage).toBe('de');
  });

  it('fills placeholders and adds customer data to the prompt', () => {
    const { settings } = resolveCallConfig(
      {
        AI_SYSTEM_PROMPT: 'You are [AGENT_NAME] of [COMPANY_NAME].',
        AGENT_NAME: 'Ava',
        COMPANY_NAME: 'ACME',
        CUSTOMER_DATA: 'tier:gold; lastOrder: 12:30 delivery ;',
      },
      defaults,
    );
    expect(settings.instructions.startsWith('You are Ava of ACME.')).toBe(true);
    expect(settings.instructions).toContain('- tier: gold');
    expect(settings.instructions).toContain('- lastOrder: 12:30 delivery');
  });

  it('applies VAD overrides, including a switch to semantic_vad', () => {
    const server = resolveCallConfig({ AI_VAD_THRESHOLD: '0.7', AI_VAD_SILENCE_MS: '800', AI_VAD_PREFIX_MS: '200' }, defaults);
    expect(server.settings.vad).toEqual({ type: 'server_vad', threshold: 0.7, prefixPaddingMs: 200, silenceDurationMs: 800 });
    const semantic = resolveCallConfig({ AI_VAD_TYPE: 'semantic_vad', AI_VAD_EAGERNESS: 'low' }, defaults);
    expect(semantic.settings.vad).toEqual({ type: 'semantic_vad', eagerness: 'low' });
  });

  it('reads AI_GREETING as true / false / literal text', () => {
    expect(resolveCallConfig({ AI_GREETING: 'false' }, defaults).greeting).toEqual({ kind: 'none' });
    expect(resolveCallConfig({ AI_GREETING: 'TRUE' }, defaults).greeting).toEqual({ kind: 'model' });
    expect(resolveCallConfig({ AI_GREETING: 'Hello, ACME here.' }, defaults).greeting).toEqual({ kind: 'text', text: 'Hello, ACME here.' });
  });

  it('uses the session language when no variable sets one', () => {
    expect(resolveCallConfig({}, defaults, 'fr-FR').settings.instructions).toContain('Speak fr-FR');
  });

  it('names the variable and what is allowed for bad values', () => {
    expect(errorOf({ AI_VOICE: 'nova' })).toMatchObject({ variable: 'AI_VOICE' });
    expect(errorOf({ AI_VOICE: 'nova' }).message).toContain('marin');
    expect(errorOf({ OPENAI_MAX_OUTPUT_TOKENS: '5000' })).toMatchObject({ variable: 'OPENAI_MAX_OUTPUT_TOKENS', allowed: 'must be an integer from 1 to 4096, or inf' });
    expect(errorOf({ AI_VAD_THRESHOLD: 'high' }).variable).toBe('AI_VAD_THRESHOLD');
    expect(errorOf({ AI_VAD_TYPE: 'none' }).variable).toBe('AI_VAD_TYPE');
    expect(errorOf({ AI_MODEL: 'gpt realtime' }).variable).toBe('AI_MODEL');
    expect(errorOf({ CUSTOMER_DATA: 'no colon here' }).variable).toBe('CUSTOMER_DATA');
  });
});

describe('helpers', () => {
  it('parseCustomerData keeps values containing colons and skips empty segments', () => {
    expect(parseCustomerData('a:1;;b: x:y ')).toEqual([
      ['a', '1'],
      ['b', 'x:y'],
    ]);
  });
  it('transcriptionLanguageOf gives ISO-639-1 for codes only', () => {
    expect(transcriptionLanguageOf('en-US')).toBe('en');
    expect(transcriptionLanguageOf('es')).toBe('es');
    expect(transcriptionLanguageOf('German')).toBeUndefined();
    expect(transcriptionLanguageOf(undefined)).toBeUndefined();
  });
});
