import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../../src/cli/env.js';
import { apiKeysFromEnv, ApiKeyRing } from '../../src/server/api-keys.js';

const SECRET = Buffer.from('thirty-two bytes of client secret').toString('base64');

describe('apiKeysFromEnv', () => {
  it('reads one pair, or two for rotation', () => {
    expect(apiKeysFromEnv(parseEnv({ GENESYS_API_KEY: 'a' }))).toEqual([{ apiKey: 'a', secretBase64: undefined }]);
    expect(
      apiKeysFromEnv(
        parseEnv({ GENESYS_API_KEY: 'a', GENESYS_CLIENT_SECRET: SECRET, GENESYS_API_KEY_2: 'b', GENESYS_CLIENT_SECRET_2: SECRET }),
      ),
    ).toEqual([
      { apiKey: 'a', secretBase64: SECRET },
      { apiKey: 'b', secretBase64: SECRET },
    ]);
  });

  it('refuses a second secret without a second key', () => {
    expect(() => apiKeysFromEnv(parseEnv({ GENESYS_API_KEY: 'a', GENESYS_CLIENT_SECRET_2: SECRET }))).toThrow(ConfigError);
  });
});

describe('ApiKeyRing', () => {
  it('matches exact keys only, returning the decoded secret', () => {
    const ring = new ApiKeyRing([{ apiKey: 'key-1', secretBase64: SECRET }, { apiKey: 'key-2' }]);
    expect(ring.match('key-1')).toEqual([{ apiKey: 'key-1', secret: Buffer.from(SECRET, 'base64') }]);
    expect(ring.match('key-2')).toEqual([{ apiKey: 'key-2', secret: undefined }]);
    expect(ring.match('key-')).toEqual([]);
    expect(ring.match('key-1 ')).toEqual([]);
    expect(ring.match('')).toEqual([]);
  });
});
