import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../../src/cli/env.js';

const minimal = { GENESYS_API_KEY: 'key-1' };

describe('parseEnv', () => {
  it('applies defaults', () => {
    const env = parseEnv(minimal);
    expect(env.PORT).toBe(8080);
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.AUDIOHOOK_PATH).toBe('/audiohook');
    expect(env.LOG_LEVEL).toBe('info');
    expect(env.GENESYS_CLIENT_SECRET).toBeUndefined();
  });

  it('names a missing required variable', () => {
    expect(() => parseEnv({})).toThrowError(/GENESYS_API_KEY is required/);
  });

  it('treats empty strings as unset', () => {
    expect(() => parseEnv({ GENESYS_API_KEY: '' })).toThrowError(ConfigError);
    expect(parseEnv({ ...minimal, GENESYS_CLIENT_SECRET: '' }).GENESYS_CLIENT_SECRET).toBeUndefined();
  });

  it('names every bad variable and what is allowed', () => {
    try {
      parseEnv({ ...minimal, PORT: 'eighty', LOG_LEVEL: 'loud', GENESYS_CLIENT_SECRET: 'not base64!' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as Error).message;
      expect(msg).toMatch(/PORT must be an integer from 0 to 65535/);
      expect(msg).toMatch(/LOG_LEVEL/);
      expect(msg).toMatch(/GENESYS_CLIENT_SECRET must be base64/);
      expect((e as ConfigError).problems).toHaveLength(3);
    }
  });

  it('normalises the AudioHook path and rejects a relative one', () => {
    expect(parseEnv({ ...minimal, AUDIOHOOK_PATH: '/api/v1/audiohook/' }).AUDIOHOOK_PATH).toBe('/api/v1/audiohook');
    expect(() => parseEnv({ ...minimal, AUDIOHOOK_PATH: 'audiohook' })).toThrowError(/AUDIOHOOK_PATH must be a URL path/);
  });

  it('parses booleans strictly', () => {
    expect(parseEnv({ ...minimal, TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(() => parseEnv({ ...minimal, TRUST_PROXY: 'maybe' })).toThrowError(/TRUST_PROXY must be true or false/);
  });
});
