/** Per call: Architect input variables > bot profile > env defaults (resolveCallConfig's profile layer). */
import { describe, expect, it } from 'vitest';
import { InputVariableError, parseDataActions, resolveCallConfig } from '../../src/bridge/variables.js';
import { realtimeEnvSchema } from '../../src/realtime/env.js';

const env = realtimeEnvSchema.parse({ OPENAI_VOICE: 'alloy', OPENAI_INSTRUCTIONS: 'ENV PERSONA' });
const profile = { instructions: 'PROFILE PERSONA', voice: 'cedar', model: 'gpt-realtime-2.1', language: 'de-DE', greeting: 'Guten Tag, Acme.' };

describe('call configuration precedence', () => {
  it('without a profile uses env', () => {
    const c = resolveCallConfig({}, env);
    expect(c.settings.voice).toBe('alloy');
    expect(c.settings.instructions).toContain('ENV PERSONA');
    expect(c.greeting).toEqual({ kind: 'model' });
  });

  it('a profile overrides env', () => {
    const c = resolveCallConfig({}, env, 'en-US', profile);
    expect(c.settings.voice).toBe('cedar');
    expect(c.settings.model).toBe('gpt-realtime-2.1');
    expect(c.settings.instructions).toContain('PROFILE PERSONA');
    expect(c.settings.instructions).not.toContain('ENV PERSONA');
    expect(c.settings.transcriptionLanguage).toBe('de');
    expect(c.greeting).toEqual({ kind: 'text', text: 'Guten Tag, Acme.' });
    expect(resolveCallConfig({}, env, undefined, { greeting: false }).greeting).toEqual({ kind: 'none' });
    expect(resolveCallConfig({}, env, undefined, { greeting: true }).greeting).toEqual({ kind: 'model' });
  });

  it('Architect input variables override the profile', () => {
    const c = resolveCallConfig(
      { AI_VOICE: 'sage', AI_SYSTEM_PROMPT: 'FLOW PERSONA', AI_LANGUAGE: 'fr-FR', AI_GREETING: 'false', AI_MODEL: 'gpt-realtime-2.1-mini' },
      env,
      'en-US',
      profile,
    );
    expect(c.settings.voice).toBe('sage');
    expect(c.settings.model).toBe('gpt-realtime-2.1-mini');
    expect(c.settings.instructions).toContain('FLOW PERSONA');
    expect(c.settings.instructions).not.toContain('PROFILE PERSONA');
    expect(c.settings.transcriptionLanguage).toBe('fr');
    expect(c.greeting).toEqual({ kind: 'none' });
  });
});

describe('DATA_ACTION_IDS / DATA_ACTION_DESCRIPTIONS', () => {
  it('reads order-aligned, pipe-separated lists', () => {
    expect(parseDataActions({})).toEqual([]);
    expect(parseDataActions({ DATA_ACTION_IDS: 'custom_-_a|custom_-_b', DATA_ACTION_DESCRIPTIONS: 'Find account|Book slot' })).toEqual([
      { id: 'custom_-_a', description: 'Find account' },
      { id: 'custom_-_b', description: 'Book slot' },
    ]);
    expect(parseDataActions({ GENESYS_DATA_ACTION_IDS: 'custom_-_a, custom_-_b' })).toEqual([{ id: 'custom_-_a' }, { id: 'custom_-_b' }]);
    expect(resolveCallConfig({ DATA_ACTION_IDS: 'custom_-_a' }, env).dataActions).toEqual([{ id: 'custom_-_a' }]);
  });

  it('names the variable when the lists do not line up or an ID is malformed', () => {
    expect(() => parseDataActions({ DATA_ACTION_IDS: 'custom_-_a|custom_-_b', DATA_ACTION_DESCRIPTIONS: 'only one' })).toThrow(
      new InputVariableError('DATA_ACTION_DESCRIPTIONS', 'must have one "|"-separated entry per ID in DATA_ACTION_IDS (2)'),
    );
    expect(() => parseDataActions({ DATA_ACTION_IDS: 'custom_-_a|../../etc' })).toThrow(InputVariableError);
  });
});
