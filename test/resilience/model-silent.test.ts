/**
 * Issue 5, fault 6: the model goes silent (no response after the caller stopped). No deadlock: if no reply
 * has started MODEL_RESPONSE_TIMEOUT_MS after the caller's turn was committed, the bridge asks once
 * (`response.create`); the call stays usable either way. (VAD_IDLE_TIMEOUT_MS is the other direction: the
 * server prompts a silent *caller* after the bot's audio has played.)
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import { ulawSource } from '../../src/simulator/audio-source.js';
import { makeReady, responseDone, startCall } from '../bridge/harness.js';
import { startWholeCallRig, waitFor, type WholeCallRig } from '../bridge/whole-call.js';

const SCRIPT: CallScript = {
  name: 'fault-6',
  greeting: { audio: { toneMs: 800 }, transcript: 'Hello, thanks for calling.' },
  turns: [{ transcript: "Hi, I'd like to check my order.", reply: { audio: { toneMs: 1000 }, transcript: 'Sure, what is your order number?' } }],
  textCues: [],
  fallback: { audio: { toneMs: 600 }, transcript: 'Thanks, one moment.' },
};

let rig: WholeCallRig;
const hello = readFileSync('fixtures/caller/hello.ulaw');

beforeAll(async () => {
  rig = await startWholeCallRig({ script: SCRIPT, env: { MODEL_RESPONSE_TIMEOUT_MS: '1500' } });
});

afterAll(async () => {
  await rig?.close();
});

describe('the model goes silent', () => {
  it('no reply after the caller spoke → one response.create after the timeout, the reply plays, the call stays usable', async () => {
    rig.emulator.faults.onNextSession({ type: 'silent' });
    const index = rig.emulator.sessions.length;
    const client = await rig.call({ AI_GREETING: 'false' });
    client.streamAudio(ulawSource(hello, { thenSilence: true }));
    const session = await rig.nextSession(index);
    await waitFor(() => session.serverEvents.some((e) => e.type === 'input_audio_buffer.committed'), 'the caller turn committed', 15_000);
    const committedAt = session.serverEvents.find((e) => e.type === 'input_audio_buffer.committed')!.at;
    await client.waitForServerAudio(1000 * 8, 15_000);
    const creates = session.clientEvents.filter((e) => e.type === 'response.create');
    expect(creates).toHaveLength(1);
    expect(creates[0]!.at - committedAt).toBeGreaterThanOrEqual(1500);
    // Usable: the session carries on and ends normally, promptly.
    const report = await client.close('end', 10_000);
    expect(report.disconnect).toBeNull();
    expect(report.timings.closeToClosedMs!).toBeLessThan(3000);
    const record = await rig.recordFor(client);
    expect(record.end_reason).toBe('caller_hangup');
    client.assertNoViolations();
  });

  it('a model that answers in time gets no extra response.create', async () => {
    const index = rig.emulator.sessions.length;
    const client = await rig.call({ AI_GREETING: 'false' });
    client.streamAudio(ulawSource(hello, { thenSilence: true }));
    const session = await rig.nextSession(index);
    await client.waitForServerAudio(1000 * 8, 15_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(session.clientEvents.filter((e) => e.type === 'response.create')).toHaveLength(0);
    await client.close();
  });
});

describe('the model goes silent (decisions, injected clock)', () => {
  it('asks once per caller turn, not again while the model stays silent; a reply in time disarms it', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' }, env: { MODEL_RESPONSE_TIMEOUT_MS: '8000' } });
    await makeReady(h);
    h.model.emit({ type: 'input_audio_buffer.committed', item_id: 'u1', previous_item_id: null });
    h.clock.advance(7999);
    expect(h.model.ofType('response.create')).toHaveLength(0);
    h.clock.advance(1);
    expect(h.model.ofType('response.create')).toHaveLength(1);
    h.clock.advance(60_000);
    expect(h.model.ofType('response.create')).toHaveLength(1);
    expect(h.control.disconnects).toHaveLength(0);
    // Next turn: the model answers within the timeout.
    h.model.emit({ type: 'input_audio_buffer.committed', item_id: 'u2', previous_item_id: 'u1' });
    h.clock.advance(500);
    h.model.emit({ type: 'response.created', response: { id: 'r1', status: 'in_progress' } });
    responseDone(h, 'r1');
    h.clock.advance(60_000);
    expect(h.model.ofType('response.create')).toHaveLength(1);
  });
});
