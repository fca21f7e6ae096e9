import { describe, expect, it } from 'vitest';
import { boolFromString, intInRange, msInRange, number01, secondsInRange } from '../../src/config/env-fields.js';
import { parseEnv } from '../../src/cli/env.js';

const messageOf = (result: { success: boolean; error?: { issues: Array<{ message: string }> } }) => result.error?.issues[0]?.message;

describe('shared env field types', () => {
  it('parse strings and word every failure the same way', () => {
    expect(intInRange(1, 5).parse('3')).toBe(3);
    for (const bad of ['0', '6', '2.5', 'x']) expect(messageOf(intInRange(1, 5).safeParse(bad))).toBe('must be an integer from 1 to 5');
    expect(msInRange(0, 100).parse('100')).toBe(100);
    expect(messageOf(msInRange(0, 100).safeParse('101'))).toBe('must be an integer number of ms from 0 to 100');
    expect(messageOf(secondsInRange(1, 60).safeParse('0'))).toBe('must be an integer number of seconds from 1 to 60');
    expect(number01.parse('0.25')).toBe(0.25);
    expect(messageOf(number01.safeParse('1.5'))).toBe('must be a number from 0 to 1');
    expect(boolFromString.parse('yes')).toBe(true);
    expect(boolFromString.parse('0')).toBe(false);
    expect(messageOf(boolFromString.safeParse('maybe'))).toBe('must be true or false');
  });

  it('name the variable in the configuration error, whichever shape it belongs to', () => {
    const base = { GENESYS_API_KEY: 'k' };
    expect(() => parseEnv({ ...base, SUMMARY_WEBHOOK_RETRIES: '9' })).toThrow('SUMMARY_WEBHOOK_RETRIES must be an integer from 0 to 5');
    expect(() => parseEnv({ ...base, SUMMARY_WEBHOOK_TIMEOUT_MS: '1' })).toThrow('SUMMARY_WEBHOOK_TIMEOUT_MS must be an integer number of ms from 500 to 60000');
    expect(() => parseEnv({ ...base, DRAIN_TIMEOUT: '-1' })).toThrow('DRAIN_TIMEOUT must be an integer from 0 to 3600');
    expect(() => parseEnv({ ...base, MAX_CALL_DURATION: '0' })).toThrow('MAX_CALL_DURATION must be an integer number of seconds from 1 to 86400');
    expect(() => parseEnv({ ...base, VAD_THRESHOLD: '2' })).toThrow('VAD_THRESHOLD must be a number from 0 to 1');
  });
});
