/**
 * Caller audio reaches the model as JSON text messages carrying every byte in order, and the emulator is
 * strict about it (a binary frame is refused), so a change to how appends are sent cannot pass silently;
 * and the SDK client a dial uses is shared per configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../../src/log/logger.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { connectRealtime, connectSettingsFromEnv } from '../../src/realtime/connection.js';
import { realtimeEnvSchema } from '../../src/realtime/env.js';
import { PCMU_SESSION } from '../emulator/harness.js';

const logger = createLogger('silent');
const KEY = 'sk-append-frame-key';
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ apiKeys: [KEY], speed: 'instant', logger });
});
afterAll(async () => {
  await emulator?.close();
});

describe('input_audio_buffer.append encoding', () => {
  it('reaches the model as text messages carrying every byte, in order', async () => {
    const env = realtimeEnvSchema.parse({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: emulator.baseURL, REALTIME_CA_FILE: emulator.caPath });
    const conn = await connectRealtime({ ...connectSettingsFromEnv(env), model: 'gpt-realtime-2.1' }, logger);
    const errors: string[] = [];
    conn.onError((e) => errors.push(e.message));
    try {
      await conn.ready;
      conn.send({ type: 'session.update', session: PCMU_SESSION as never });
      const sent = Buffer.from(Array.from({ length: 8000 }, (_, i) => 0x7f - (i % 3)));
      for (let i = 0; i < sent.length; i += 1600) conn.send({ type: 'input_audio_buffer.append', audio: sent.subarray(i, i + 1600).toString('base64') });
      const record = await emulator.waitForSession(0);
      const deadline = Date.now() + 5_000;
      while (record.inputAudioBytes().length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(record.inputAudioBytes()).toEqual(sent);
      expect(errors).toEqual([]);
    } finally {
      conn.close();
    }
  });
});

describe('the emulator, strict about frame types', () => {
  it('refuses a binary frame with an error event and ignores its content', async () => {
    const socket = new WebSocket(`${emulator.baseURL.replace('https', 'wss')}/realtime?model=gpt-realtime-2.1`, {
      headers: { Authorization: `Bearer ${KEY}` },
      ca: (await import('node:fs')).readFileSync(emulator.caPath),
    });
    const messages: { type: string; error?: { code?: string } }[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    try {
      socket.send(Buffer.from(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(800, 0x7f).toString('base64') })), { binary: true });
      const deadline = Date.now() + 5_000;
      while (!messages.some((m) => m.type === 'error') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(messages.find((m) => m.type === 'error')?.error?.code).toBe('invalid_message_type');
      const sessions = emulator.sessions;
      expect(sessions[sessions.length - 1]!.inputAudioBytes().length).toBe(0);
    } finally {
      socket.close();
    }
  });
});

describe('the SDK client behind each dial', () => {
  it('is built once per configuration and reused by later dials; a different key gets its own', async () => {
    const { sharedClient } = await import('../../src/realtime/connection.js');
    const OpenAI = (await import('openai')).default;
    let built = 0;
    const make = (apiKey: string) => () => (built++, new OpenAI({ apiKey, baseURL: 'https://127.0.0.1:9/v1' }));
    const first = sharedClient(['openai', 'sk-shared-a', 'https://127.0.0.1:9/v1'], make('sk-shared-a'));
    const again = sharedClient(['openai', 'sk-shared-a', 'https://127.0.0.1:9/v1'], make('sk-shared-a'));
    const other = sharedClient(['openai', 'sk-shared-b', 'https://127.0.0.1:9/v1'], make('sk-shared-b'));
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(built).toBe(2);
  });

  it('keeps at most 16 configurations', async () => {
    const { sharedClient } = await import('../../src/realtime/connection.js');
    const OpenAI = (await import('openai')).default;
    const make = () => new OpenAI({ apiKey: 'sk-x', baseURL: 'https://127.0.0.1:9/v1' });
    const oldest = sharedClient(['openai', 'sk-bound-0', ''], make);
    for (let i = 1; i <= 16; i++) sharedClient(['openai', `sk-bound-${i}`, ''], make);
    expect(sharedClient(['openai', 'sk-bound-0', ''], make)).not.toBe(oldest); // evicted, built anew
  });
});
