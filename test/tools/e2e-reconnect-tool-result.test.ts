/**
 * A whole call through the production composition (serve + BOTS_FILE ↔ Realtime emulator, the strict
 * Genesys simulator): the caller asks by voice, the model calls a refund tool, the tool's result goes back
 * to the model and its spoken reply starts — then the model socket drops (1011) after the reply's first
 * audio, before its response.done. The result must reach the new session (it was lost before: the replay
 * carried no tool results, so the new session answered without it and could run the refund again), the
 * refund must run once, and the new session must be asked for exactly one reply, the one with the result.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import { ulawSource } from '../../src/simulator/audio-source.js';
import { startHeldToolWorld, type HeldToolWorld } from './held-tool-world.js';
import { waitFor } from './support.js';

const API_KEY = 'e2e-reconnect-tool-result-key-0123456789';
const hello = readFileSync('fixtures/caller/hello.ulaw');
const ANSWER = 'Your refund R-77 is issued, sorry for the wait.';

const SCRIPT: CallScript = {
  name: 'reconnect-after-tool-result',
  greeting: { audio: { toneMs: 400 }, transcript: 'Hello, Acme refunds.' },
  turns: [
    {
      transcript: 'Please refund order 5121.',
      toolCall: { name: 'issue_refund', arguments: { order_id: '5121' } },
      followUp: { audio: { toneMs: 2000 }, transcript: 'Refund {{output.result.refund_id}} is issued.' },
    },
  ],
  textCues: [
    // What a real model does with the replay note: answer with the result it carries.
    { pattern: '"issue_refund".*R-77.*not answered yet', role: 'system', reply: { audio: { toneMs: 800 }, transcript: ANSWER } },
  ],
  fallback: { audio: { toneMs: 600 }, transcript: 'Sorry, could you repeat that?' },
};

let world: HeldToolWorld;

beforeAll(async () => {
  world = await startHeldToolWorld({ apiKey: API_KEY, script: SCRIPT, tool: { name: 'issue_refund', description: 'Issue a refund', redact: ['card_number'] }, fillerAfterMs: 10_000 });
}, 30_000);

afterAll(async () => {
  await world?.close();
});

describe('a model drop after a tool result was given, before its reply finished, end to end', () => {
  it('the new session learns the result from the replay and gives one reply with it; the refund runs once', async () => {
    const client = await world.call();
    const { emulator } = world;
    const first = await emulator.waitForSession(0);
    await client.waitForServerAudio(400 * 8, 10_000);
    client.streamAudio(ulawSource(hello, { thenSilence: true }));
    await waitFor(() => world.held.length === 1, 15_000, 'the refund tool running');
    // The reply to the result starts (its first audio), then the socket drops before its response.done.
    emulator.faults.inject(first.id, { type: 'close', code: 1011, afterServerEvent: 'response.output_audio.delta' });
    world.held.shift()!.writeHead(200, { 'content-type': 'application/json' }).end('{"refund_id":"R-77","status":"issued","card_number":"4111111111111111"}');
    const second = await emulator.waitForSession(1, 15_000);
    // The old session had the result, and its reply had begun (not finished) when it dropped.
    expect(first.conversation.filter((e) => e.type === 'function_call_output').map((e) => e.text)).toEqual([expect.stringContaining('R-77')]);
    expect(first.conversation.filter((e) => e.role === 'assistant' && (e.audioMs ?? 0) > 0).map((e) => e.text)).toContain('Refund R-77 is issued.');
    expect(first.serverEvents.at(-1)?.type).toBe('response.output_audio.delta');
    await waitFor(() => second.conversation.some((e) => e.role === 'assistant' && e.text === ANSWER), 10_000, 'the reply with the result');
    // Let a second reply, if one were queued, be asked for and spoken.
    await new Promise((r) => setTimeout(r, 500));
    const notes = second.conversation.filter((e) => e.role === 'system').map((e) => e.text ?? '');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/"issue_refund".*R-77/);
    expect(notes[0]).toMatch(/do not call these tools again/i);
    expect(notes[0]).not.toContain('4111111111111111');
    const replies = second.conversation.filter((e) => e.role === 'assistant' && (e.text ?? '') !== '').map((e) => e.text);
    expect({ requests: second.clientEvents.filter((e) => e.type === 'response.create').length, replies, refundRuns: world.runs }).toEqual({
      requests: 1,
      replies: [ANSWER],
      refundRuns: 1,
    });
    expect(second.errors).toEqual([]);
    await client.close();
    client.assertNoViolations();
  }, 40_000);
});
