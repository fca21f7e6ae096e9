import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectSettingsFromEnv, ModelConnectionError } from '../../src/realtime/connection.js';
import { realtimeEnvSchema } from '../../src/realtime/env.js';

describe('connectSettingsFromEnv', () => {
  it('fails clearly when no model is configured', () => {
    expect(() => connectSettingsFromEnv(realtimeEnvSchema.parse({}))).toThrow(ModelConnectionError);
    expect(() => connectSettingsFromEnv(realtimeEnvSchema.parse({}))).toThrow(/OPENAI_API_KEY/);
  });
  it('rejects a partial Azure configuration', () => {
    const env = realtimeEnvSchema.parse({ AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com' });
    expect(() => connectSettingsFromEnv(env)).toThrow(/AZURE_OPENAI_DEPLOYMENT/);
  });
  it('reads the extra CA once and keeps the base URL', () => {
    const read: string[] = [];
    const s = connectSettingsFromEnv(
      realtimeEnvSchema.parse({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: 'https://127.0.0.1:1/v1', REALTIME_CA_FILE: '/ca.pem' }),
      (p) => {
        read.push(p);
        return readFileSync('fixtures/tls/ca.pem', 'utf8');
      },
    );
    expect(read).toEqual(['/ca.pem']);
    expect(s).toMatchObject({ apiKey: 'sk-test', baseURL: 'https://127.0.0.1:1/v1', connectTimeoutMs: 10_000 });
    // One trust store (roots + the extra CA) for every call, built here once.
    expect(s.secureContext).toBeDefined();
    expect(s.azure).toBeUndefined();
  });
  it('selects Azure when all three variables are set', () => {
    const s = connectSettingsFromEnv(
      realtimeEnvSchema.parse({
        AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com',
        AZURE_OPENAI_DEPLOYMENT: 'rt',
        AZURE_OPENAI_API_KEY: 'k',
      }),
    );
    expect(s.azure).toEqual({ endpoint: 'https://x.openai.azure.com', deployment: 'rt', apiKey: 'k' });
  });
});
