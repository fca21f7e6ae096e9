/**
 * Issue 12, visibility of a broken model configuration: a revoked key makes every call fail fast. The
 * production entry (`serve`) counts each refused handshake by status in audiohook_model_errors_total,
 * logs the first one of a streak at error with the fix, reports the model as failing in /readyz (still
 * 200: see src/realtime/model-health.ts) and states model, voice, provider and signatures at start-up.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type Service } from '../../src/cli/serve.js';
import { parseEnv } from '../../src/cli/env.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { modelStartupInfo } from '../../src/realtime/connection.js';
import { realtimeEnvSchema } from '../../src/realtime/env.js';
import { ModelHealth } from '../../src/realtime/model-health.js';
import { createSimulatedCall } from '../../src/simulator/index.js';

const API_KEY = 'model-health-key';
let emulator: Emulator;
let service: Service;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ apiKeys: ['sk-the-valid-key'], speed: 'instant', logger: createLogger('silent') });
  const env = parseEnv({
    PORT: '0',
    HOST: '127.0.0.1',
    GENESYS_API_KEY: API_KEY,
    OPENAI_API_KEY: 'sk-revoked-key-000',
    OPENAI_BASE_URL: emulator.baseURL,
    REALTIME_CA_FILE: emulator.caPath,
    OPENAI_VOICE: 'cedar',
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  service = await serve(env, { logger: pino({ level: 'info' }, sink), handleSignals: false });
});

afterAll(async () => {
  await service?.server.stop(0);
  await emulator?.close();
});

async function failingCall(): Promise<string | undefined> {
  const client = await createSimulatedCall({ url: `ws://127.0.0.1:${service.server.port}/audiohook/bot`, apiKey: API_KEY });
  try {
    const disconnect = await client.nextMessage('disconnect', 15_000);
    return disconnect.parameters.reason;
  } finally {
    client.terminate();
  }
}

describe('a refused model handshake is visible', () => {
  it('states provider, model, voice and signatures on the start-up line', () => {
    const line = logs.find((l) => String(l.msg).startsWith('listening on'))!;
    expect(line).toMatchObject({ provider: 'openai', model: 'gpt-realtime-2.1-mini', voice: 'cedar', transcription: 'gpt-transcribe', signaturesRequired: false });
    expect(line.msg).toContain('OpenAI model gpt-realtime-2.1-mini, voice cedar, signatures not required');
  });

  it('counts refusals by status, logs the first at error with the fix, and /readyz says the model is failing', async () => {
    const readyBefore = (await (await fetch(`http://127.0.0.1:${service.server.port}/readyz`)).json()) as { model: { status: string } };
    expect(readyBefore.model.status).toBe('unknown');
    expect(await failingCall()).toBe('error');
    expect(await failingCall()).toBe('error');
    const metrics = await (await fetch(`http://127.0.0.1:${service.server.port}/metrics`)).text();
    expect(metrics).toMatch(/^audiohook_model_errors_total\{code="handshake_401"\} 2$/m);
    const errors = logs.filter((l) => l.level === 50 && String(l.msg).includes('model handshake refused'));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toContain('check OPENAI_API_KEY');
    expect(JSON.stringify(logs)).not.toContain('sk-revoked-key-000');
    const ready = await fetch(`http://127.0.0.1:${service.server.port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', model: { status: 'failing', consecutiveRefusals: 2, reason: expect.stringContaining('HTTP 401') } });
  }, 40_000);
});

describe('ModelHealth', () => {
  it('one flaky handshake is cleared by the next success; only the first refusal of a streak is an error', () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, d) => (lines.push(JSON.parse(c.toString()) as { level: number; msg: string }), d()) }));
    const counted: number[] = [];
    const health = new ModelHealth({ provider: 'azure', logger, onRefusal: (s) => counted.push(s) });
    expect(health.status().status).toBe('unknown');
    health.handshakeRefused(503);
    expect(health.status()).toMatchObject({ status: 'failing', lastStatus: 503 });
    health.handshakeSucceeded();
    expect(health.status()).toEqual({ status: 'ok' });
    health.handshakeRefused(401);
    health.handshakeRefused(401);
    expect(counted).toEqual([503, 401, 401]);
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([
      expect.stringContaining('HTTP 503'),
      expect.stringContaining('check AZURE_OPENAI_API_KEY'),
    ]);
  });

  it('on Azure, the start-up info names the deployment and says what is ignored and off', () => {
    const info = modelStartupInfo(
      realtimeEnvSchema.parse({ AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com', AZURE_OPENAI_DEPLOYMENT: 'rt-prod', AZURE_OPENAI_API_KEY: 'k', OPENAI_MODEL: 'gpt-realtime-2' }),
    );
    expect(info).toMatchObject({ provider: 'azure', model: 'rt-prod', transcription: 'off' });
    expect(info.notes.join('\n')).toMatch(/OPENAI_MODEL and AI_MODEL are ignored/);
    expect(info.notes.join('\n')).toMatch(/INPUT_TRANSCRIPTION_MODEL/);
  });
});
