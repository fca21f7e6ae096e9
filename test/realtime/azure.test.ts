/**
 * Azure OpenAI through the SDK's own Azure client path (AzureOpenAI + OpenAIRealtimeWS.azure), against the
 * emulator acting as an Azure resource: GA path, `api-key`, deployments. Issue 12: the client used to be
 * built without an API version (the SDK throws) and with `endpoint` while OPENAI_BASE_URL was set (the SDK
 * throws "baseURL and endpoint are mutually exclusive"), so every Azure call failed.
 */
import type { RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { connectRealtime, connectSettingsFromEnv, type ModelConnection, type ModelConnectionError } from '../../src/realtime/connection.js';
import { realtimeEnvSchema } from '../../src/realtime/env.js';

const logger = createLogger('silent');
const KEY = 'azure-key-0123456789';
let emulator: Emulator;
const opened: ModelConnection[] = [];
const savedEnv = { OPENAI_BASE_URL: process.env.OPENAI_BASE_URL, OPENAI_API_VERSION: process.env.OPENAI_API_VERSION };

beforeAll(async () => {
  emulator = await startEmulator({ azure: { deployments: ['rt-prod'], apiKeys: [KEY] }, speed: 'instant', logger });
  // What a .env with both providers' variables leaves in the process environment.
  process.env.OPENAI_BASE_URL = 'https://api.openai.example/v1';
  delete process.env.OPENAI_API_VERSION;
});
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});
afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await emulator?.close();
});

function azureSettings(overrides: Record<string, string> = {}) {
  const env = realtimeEnvSchema.parse({
    AZURE_OPENAI_ENDPOINT: emulator.azureEndpoint,
    AZURE_OPENAI_DEPLOYMENT: 'rt-prod',
    AZURE_OPENAI_API_KEY: KEY,
    REALTIME_CA_FILE: emulator.caPath,
    OPENAI_BASE_URL: 'https://api.openai.example/v1',
    ...overrides,
  });
  return { ...connectSettingsFromEnv(env), model: 'gpt-realtime-2.1-mini' };
}

async function open(overrides: Record<string, string> = {}): Promise<{ conn: ModelConnection; events: RealtimeServerEvent[] }> {
  const conn = await connectRealtime(azureSettings(overrides), logger);
  opened.push(conn);
  const events: RealtimeServerEvent[] = [];
  conn.onEvent((e) => events.push(e));
  return { conn, events };
}

async function refusal(overrides: Record<string, string>): Promise<ModelConnectionError> {
  const { conn } = await open(overrides);
  return conn.ready.then(
    () => {
      throw new Error('expected the handshake to be refused');
    },
    (err: ModelConnectionError) => err,
  );
}

describe('Azure OpenAI through the SDK Azure client', () => {
  it('connects on the GA path with the deployment and an api-key, no api-version, despite OPENAI_BASE_URL in the environment', async () => {
    const before = emulator.sessions.length;
    const { conn, events } = await open();
    await conn.ready;
    const session = await emulator.waitForSession(before);
    expect(session.path).toBe('/openai/v1/realtime');
    // The deployment decides the model; OPENAI_MODEL is not what Azure sees.
    expect(session.model).toBe('rt-prod');
    await new Promise<void>((resolve) => {
      const check = () => (events.some((e) => e.type === 'session.created') ? resolve() : setTimeout(check, 10));
      check();
    });
  });

  it('accepts the endpoint written with /openai or /openai/v1, and an explicit API version (never sent)', async () => {
    for (const endpoint of [`${emulator.azureEndpoint}/openai`, `${emulator.azureEndpoint}/openai/v1/`]) {
      const { conn } = await open({ AZURE_OPENAI_ENDPOINT: endpoint, AZURE_OPENAI_API_VERSION: '2025-04-01-preview' });
      await conn.ready;
    }
  });

  it('a wrong key is refused with 401 (final), an unknown deployment with 404', async () => {
    expect((await refusal({ AZURE_OPENAI_API_KEY: 'wrong-key-000000' })).handshake).toEqual({ httpStatus: 401 });
    expect((await refusal({ AZURE_OPENAI_DEPLOYMENT: 'no-such-deployment' })).handshake).toEqual({ httpStatus: 404 });
  });
});
