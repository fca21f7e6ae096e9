/** Emulator fixes: script objects are parsed like files; a failed response consumes nothing of the script. */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { TEST_CA_PATH } from '../../src/emulator/tls-fixtures.js';
import { createLogger } from '../../src/log/logger.js';
import { createHarness, PCMU_SESSION, utterance } from './harness.js';

const ca = [...rootCertificates, readFileSync(TEST_CA_PATH, 'utf8')];
let emulator: Emulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function waitFor<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      const value = check();
      if (value !== undefined) return resolve(value);
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe('startEmulator with a script object', () => {
  it('applies the schema defaults (textCues may be left out): a user text item gets the scripted reply', async () => {
    emulator = await startEmulator({
      speed: 'instant',
      logger: createLogger('silent'),
      script: { name: 'no-cues', greeting: { audio: { toneMs: 200 }, transcript: 'Hi from the object script.' }, turns: [] },
    });
    const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime-2.1', options: { ca } }, new OpenAI({ apiKey: 'sk-x', baseURL: emulator.baseURL }));
    const events: RealtimeServerEvent[] = [];
    rt.on('event', (e) => events.push(e));
    rt.on('error', () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        rt.socket.once('open', () => resolve());
        rt.socket.once('error', reject);
      });
      rt.send({ type: 'session.update', session: PCMU_SESSION as never });
      // A text item runs the text-cue matcher: with `textCues` missing it used to throw inside the emulator.
      rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] } });
      rt.send({ type: 'response.create' });
      const done = await waitFor(() => events.find((e) => e.type === 'response.done'), 'response.done');
      expect(done.type === 'response.done' && done.response.status).toBe('completed');
      const transcript = events.find((e) => e.type === 'response.output_audio_transcript.done');
      expect(transcript && 'transcript' in transcript && transcript.transcript).toBe('Hi from the object script.');
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
    } finally {
      rt.close();
    }
  });

  it('rejects an invalid script object with a message naming the problem', async () => {
    await expect(
      startEmulator({ logger: createLogger('silent'), script: { name: 'bad', greeting: { audio: { toneMs: -5 }, transcript: '' }, turns: [] } }),
    ).rejects.toThrow(/invalid call script.*toneMs/s);
  });
});

describe('a failed response', () => {
  it('does not mark the greeting as played: the retried response.create plays the greeting', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.session.applyFault({ type: 'fail_next_response', retryAfterSeconds: 1.2 });
    h.send({ type: 'response.create' });
    expect((h.last('response.done')!.response as { status: string }).status).toBe('failed');
    expect(h.ofType('response.output_audio_transcript.done')).toHaveLength(0);
    h.send({ type: 'response.create' });
    expect((h.last('response.done')!.response as { status: string }).status).toBe('completed');
    expect(h.last('response.output_audio_transcript.done')!['transcript']).toBe('Hello there, how can I help?');
  });

  it("does not consume the caller's turn: the retry answers it", () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' }); // the greeting
    h.session.applyFault({ type: 'fail_next_response', retryAfterSeconds: 1 });
    h.appendUlaw(utterance(300, 600, 700));
    expect((h.last('response.done')!.response as { status: string }).status).toBe('failed');
    h.send({ type: 'response.create' });
    expect(h.last('response.output_audio_transcript.done')!['transcript']).toBe('What is the order number?');
  });
});
