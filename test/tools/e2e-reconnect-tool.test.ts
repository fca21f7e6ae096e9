/**
 * A whole call through the production composition (serve + BOTS_FILE ↔ Realtime emulator, the strict
 * Genesys simulator): the caller SPEAKS, the model answers with a slow tool call (no words), the model
 * socket drops while the tool runs. The new session must be asked for exactly one reply, the one that
 * carries the result: the caller's turn looks unanswered in the transcript, which once made the reconnect
 * ask for a reply of its own as well (two bot replies). The holding phrase is set far off (10 s) so it cannot
 * hide the unanswered turn.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import { ulawSource } from '../../src/simulator/audio-source.js';
import { startHeldToolWorld, type HeldToolWorld } from './held-tool-world.js';
import { waitFor } from './support.js';

const API_KEY = 'e2e-reconnect-tool-key-0123456789';
const hello = readFileSync('fixtures/caller/hello.ulaw');

const SCRIPT: CallScript = {
  name: 'reconnect-during-tool',
  greeting: { audio: { toneMs: 400 }, transcript: 'Hello, Acme refunds.' },
  turns: [{ transcript: 'Where is my refund?', toolCall: { name: 'held_refund', arguments: { order_id: '5121' } } }],
  textCues: [
    {
      pattern: '"held_refund".*approved',
      role: 'system',
      reply: { audio: { toneMs: 800 }, transcript: 'Your refund is approved, sorry for the wait.' },
    },
  ],
  fallback: { audio: { toneMs: 600 }, transcript: 'Sorry, could you repeat that?' },
};

let world: HeldToolWorld;

beforeAll(async () => {
  world = await startHeldToolWorld({ apiKey: API_KEY, script: SCRIPT, tool: { name: 'held_refund', description: 'Status of a refund (slow)' }, fillerAfterMs: 10_000 });
}, 30_000);

afterAll(async () => {
  await world?.close();
});

describe('a model reconnect while a tool runs, end to end', () => {
  it('the caller asked by voice; after the drop the new session is asked for one reply, the one with the result', async () => {
    const client = await world.call();
    const { emulator } = world;
    const first = await emulator.waitForSession(0);
    await client.waitForServerAudio(400 * 8, 10_000);
    client.streamAudio(ulawSource(hello, { thenSilence: true }));
    await waitFor(() => world.held.length === 1, 15_000, 'the slow tool running');
    // The model answered the caller with the tool call only: no words.
    expect(first.conversation.filter((e) => e.role === 'assistant' && (e.text ?? '') !== '' && !(e.text ?? '').startsWith('Hello'))).toEqual([]);
    emulator.faults.inject(first.id, { type: 'close', code: 1011 });
    const second = await emulator.waitForSession(1);
    await waitFor(() => second.conversation.some((e) => e.role === 'system'), 10_000, 'the replay into the new session');
    await waitFor(() => second.clientEvents.some((e) => e.type === 'input_audio_buffer.append'), 10_000, 'caller audio in the new session');
    const requestsBeforeResult = second.clientEvents.filter((e) => e.type === 'response.create').length;
    const audioBefore = client.session.receivedAudioBytes;
    world.held.shift()!.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"approved"}');
    await waitFor(() => second.conversation.some((e) => e.role === 'assistant' && e.text === 'Your refund is approved, sorry for the wait.'), 10_000, 'the reply');
    await client.waitForServerAudio(audioBefore + 800 * 8, 10_000);
    // Let a second reply, if one were queued, be asked for and spoken.
    await new Promise((r) => setTimeout(r, 500));
    const replies = second.conversation.filter((e) => e.role === 'assistant' && (e.text ?? '') !== '').map((e) => e.text);
    expect({ requestsBeforeResult, requests: second.clientEvents.filter((e) => e.type === 'response.create').length, replies }).toEqual({
      requestsBeforeResult: 0,
      requests: 1,
      replies: ['Your refund is approved, sorry for the wait.'],
    });
    expect(second.errors).toEqual([]);
    await client.close();
    client.assertNoViolations();
  }, 40_000);
});
