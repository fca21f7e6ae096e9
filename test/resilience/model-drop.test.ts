/**
 * Issue 5, fault 4: the model socket drops mid-call (1006, 1011, 1012, 1013, 1001). The bridge opens a new
 * Realtime session at once, re-sends the session configuration and the conversation so far, keeps the
 * caller audio that arrived meanwhile (bounded) and flushes it: the caller does not repeat themselves.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import { silenceSource, ulawSource } from '../../src/simulator/audio-source.js';
import { botSpeaks, flush, makeReady, startCall } from '../bridge/harness.js';
import { clientEventTypes, sleep, startWholeCallRig, waitFor, type WholeCallRig } from '../bridge/whole-call.js';

const SCRIPT: CallScript = {
  name: 'fault-4',
  greeting: { audio: { toneMs: 800 }, transcript: 'Hello, thanks for calling.' },
  turns: [{ transcript: "Hi, I'd like to check my order.", reply: { audio: { toneMs: 1200 }, transcript: 'Sure, what is your order number?' } }],
  textCues: [],
  fallback: { audio: { toneMs: 600 }, transcript: 'Thanks, one moment.' },
};

let rig: WholeCallRig;
const hello = readFileSync('fixtures/caller/hello.ulaw');
const orderNumber = readFileSync('fixtures/caller/order-number.ulaw');

beforeAll(async () => {
  rig = await startWholeCallRig({ script: SCRIPT });
});

afterAll(async () => {
  await rig?.close();
});

describe('the model socket drops mid-call', () => {
  it('model socket 1011 mid-call → reconnects within 2 s and keeps the conversation', async () => {
    const index = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(ulawSource(hello, { thenSilence: true }));
    const first = await rig.nextSession(index);
    // Greeting and the reply to "hello" reach the caller, and both sides are transcribed.
    await client.waitForServerAudio((800 + 1200) * 8, 20_000);
    await waitFor(() => first.conversation.some((e) => e.role === 'assistant' && e.text.includes('order number')), 'the reply transcript');
    await sleep(300);
    const droppedAt = Date.now();
    expect(rig.emulator.faults.inject(first.id, { type: 'close', code: 1011, reason: 'server error' })).toBe(1);
    const second = await rig.nextSession(index + 1, 10_000);
    await waitFor(() => second.conversation.length >= 1, 'the replayed conversation');
    await waitFor(() => second.clientEvents.some((e) => e.type === 'input_audio_buffer.append'), 'caller audio in the new session');
    const updated = second.clientEvents.find((e) => e.type === 'session.update')!;
    expect(updated.at - droppedAt).toBeLessThan(2000);
    // Same configuration, then the conversation so far, then the caller audio.
    expect(second.config.audio.input.format.type).toBe('audio/pcmu');
    expect(second.config.audio.output.format.type).toBe('audio/pcmu');
    expect(second.config.instructions).toBe(first.config.instructions);
    const types = clientEventTypes(second);
    expect(types[0]).toBe('session.update');
    expect(types.indexOf('conversation.item.create')).toBeLessThan(types.indexOf('input_audio_buffer.append'));
    // One system note carries the conversation (assistant text items would make the model answer in text).
    expect(second.conversation.filter((e) => e.role === 'assistant')).toHaveLength(0);
    const note = second.conversation.find((e) => e.role === 'system')!.text;
    expect(note).toMatch(/restored/);
    expect(note).toContain("You: Hello, thanks for calling.\nCaller: Hi, I'd like to check my order.\nYou: Sure, what is your order number?");
    // The caller's last turn was answered, so nothing is owed: no reply is forced on reconnect.
    expect(second.clientEvents.filter((e) => e.type === 'response.create')).toHaveLength(0);
    // The call goes on in the new session: the caller's next words get a reply.
    const audioBefore = client.report().receivedFrames.reduce((n, f) => n + f.bytes, 0);
    client.streamAudio(ulawSource(orderNumber, { thenSilence: true }));
    await client.waitForServerAudio(audioBefore + 600 * 8, 20_000);
    expect(client.report().disconnect).toBeNull();
    await client.close();
    client.assertNoViolations();
    const record = await rig.recordFor(client);
    expect(record.end_reason).toBe('caller_hangup');
    expect(record.transcript.map((t) => t.text)).toEqual(
      expect.arrayContaining(['Hello, thanks for calling.', "Hi, I'd like to check my order.", 'Sure, what is your order number?']),
    );
    expect(await rig.metrics.render()).toMatch(/audiohook_model_reconnects_total [1-9]/);
  });

  it.each([1006, 1001, 1012, 1013])('model socket %i mid-call → a new session with the conversation replayed', async (code) => {
    const index = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(silenceSource());
    const first = await rig.nextSession(index);
    await client.waitForServerAudio(800 * 8, 15_000);
    await waitFor(() => first.conversation.some((e) => e.role === 'assistant' && e.text !== ''), 'the greeting transcript');
    rig.emulator.faults.inject(first.id, { type: 'close', code });
    const second = await rig.nextSession(index + 1, 10_000);
    await waitFor(() => second.conversation.some((e) => e.role === 'system' && e.text.includes('You: Hello, thanks for calling.')), 'the replayed greeting');
    await waitFor(() => second.clientEvents.some((e) => e.type === 'input_audio_buffer.append'), 'caller audio in the new session');
    expect(client.report().disconnect).toBeNull();
    await client.close();
  });

  it('the reconnect handshake is refused once (503) → retried, the call continues', async () => {
    const index = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(silenceSource());
    const first = await rig.nextSession(index);
    await client.waitForServerAudio(800 * 8, 15_000);
    rig.emulator.faults.refuseHandshake(503);
    rig.emulator.faults.inject(first.id, { type: 'close', code: 1011 });
    const second = await rig.nextSession(index + 1, 10_000);
    await waitFor(() => second.clientEvents.some((e) => e.type === 'input_audio_buffer.append'), 'caller audio in the new session');
    expect(rig.logs.some((l) => l['sessionId'] === client.sessionId && l['cause'] === 'model handshake refused: HTTP 503')).toBe(true);
    expect(client.report().disconnect).toBeNull();
    await client.close();
  });
});

describe('the model socket drops (decisions, injected clock)', () => {
  it('caller audio during the reconnect is held and flushed after the replay, in order; bot audio of the dead session is dropped', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    h.model.emit({ type: 'input_audio_buffer.committed', item_id: 'u1', previous_item_id: null });
    h.model.emit({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', content_index: 0, transcript: 'My order is late.' });
    botSpeaks(h, 'r1', 'b1', 2000);
    h.clock.advance(400);
    const sentBeforeDrop = h.control.audioBytes;
    const first = h.model;
    first.drop(1006);
    h.handler.onAudio!(new Uint8Array(160).fill(7), 0);
    h.handler.onAudio!(new Uint8Array(160).fill(8), 20);
    h.clock.advance(3000);
    // Nothing of the dead session's reply goes out while the call is held.
    expect(h.control.audioBytes).toBe(sentBeforeDrop);
    await makeReady(h);
    const second = h.model;
    expect(second).not.toBe(first);
    const types = second.sent.map((e) => e.type);
    expect(types[0]).toBe('session.update');
    const items = second.ofType('conversation.item.create').map((e) => e.item);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: 'message', role: 'system', content: [{ type: 'input_text', text: expect.stringContaining('Caller: My order is late.') }] });
    // The interrupted reply had no transcript, so the caller is owed one: a response is requested.
    expect(second.ofType('response.create')).toHaveLength(1);
    const appends = second.ofType('input_audio_buffer.append').map((a) => Buffer.from(a.audio, 'base64')[0]);
    expect(appends).toEqual([7, 8]);
    expect(types.indexOf('input_audio_buffer.append')).toBeGreaterThan(types.lastIndexOf('conversation.item.create'));
    expect(h.control.disconnects).toHaveLength(0);
  });

  it('reconnects are capped per call → the next drop ends completed with escalation', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' }, env: { MODEL_MAX_RECONNECTS: '2' } });
    await makeReady(h);
    for (let i = 0; i < 2; i++) {
      h.model.drop(1011);
      await makeReady(h);
    }
    expect(h.models).toHaveLength(3);
    h.model.drop(1011);
    await flush();
    expect(h.models).toHaveLength(3);
    expect(h.control.disconnects[0]).toMatchObject({
      reason: 'completed',
      info: expect.stringContaining('no reconnects left'),
      outputs: { ESCALATION_REQUIRED: 'true', ESCALATION_REASON: 'model_unavailable' },
    });
  });

  it('a reconnect that cannot complete within the budget → completed with escalation', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' }, env: { MODEL_CONNECT_TIMEOUT_MS: '1000', MODEL_RETRY_BUDGET_MS: '2500' } });
    await makeReady(h);
    h.model.drop(1006);
    for (let i = 0; i < 20 && h.control.disconnects.length === 0; i++) {
      await flush();
      h.clock.advance(500);
    }
    expect(h.models.length).toBeGreaterThan(2);
    expect(h.control.disconnects[0]).toMatchObject({ reason: 'completed', outputs: { ESCALATION_REASON: 'model_unavailable' } });
    expect(h.control.disconnects[0]!.info).toMatch(/not ready within 1000 ms \(after \d attempts\)/);
  });
});
