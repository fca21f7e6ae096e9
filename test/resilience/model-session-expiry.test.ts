/**
 * Issue 5, fault 5: the 60-minute model session cap (`session_expired`). The session is renewed before the
 * cap (MODEL_SESSION_RENEW_AFTER_MS, shortened here) at a moment when no bot audio is outstanding, with the
 * context carried over; an expiry that comes first is renewed at once. MAX_CALL_DURATION ends the call
 * politely (a goodbye, then `completed` with outputs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import { silenceSource } from '../../src/simulator/audio-source.js';
import { botSpeaks, flush, makeReady, responseDone, startCall } from '../bridge/harness.js';
import { startWholeCallRig, waitFor, type WholeCallRig } from '../bridge/whole-call.js';

const SCRIPT: CallScript = {
  name: 'fault-5',
  greeting: { audio: { toneMs: 1200 }, transcript: 'Hello, thanks for calling.' },
  turns: [],
  textCues: [],
  fallback: { audio: { toneMs: 600 }, transcript: 'I am sorry, we have to end the call now. Goodbye!' },
};

const audioBytes = (frames: readonly { bytes: number }[]) => frames.reduce((n, f) => n + f.bytes, 0);

describe('model session renewal before the 60-minute cap', () => {
  let rig: WholeCallRig;
  beforeAll(async () => {
    rig = await startWholeCallRig({ script: SCRIPT, env: { MODEL_SESSION_RENEW_AFTER_MS: '1000' } });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('renewed once the session is old enough, only after the greeting has fully played, context carried over', async () => {
    const index = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(silenceSource());
    const first = await rig.nextSession(index);
    const second = await rig.nextSession(index + 1, 15_000);
    await waitFor(() => first.closed !== null, 'the old session closed');
    // We closed it normally: a renewal, not a failure.
    expect(first.closed?.code).toBe(1000);
    await waitFor(() => second.conversation.some((e) => e.role === 'system' && e.text.includes('You: Hello, thanks for calling.')), 'the carried-over greeting');
    expect(second.conversation.find((e) => e.role === 'system')!.text).not.toContain('[interrupted');
    // The whole greeting reached the caller, and the switch came after its last frame.
    expect(audioBytes(client.report().receivedFrames)).toBe(1200 * 8);
    const renewal = rig.logs.find((l) => l['sessionId'] === client.sessionId && l.msg === 'replacing the model session')!;
    expect(renewal['purpose']).toBe('renewal');
    // The session was due at 1000 ms, but the 1200 ms greeting was still playing: the switch waited for it.
    const firstAudioAt = first.serverEvents.find((e) => e.type === 'response.output_audio.delta')!.at;
    expect(second.connectedAt - firstAudioAt).toBeGreaterThanOrEqual(1100);
    expect(client.report().disconnect).toBeNull();
    await client.close();
    client.assertNoViolations();
  });

  it('session_expired before a quiet moment → renewed at once, the call goes on', async () => {
    const index = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(silenceSource());
    const first = await rig.nextSession(index);
    // Mid-greeting: bot audio is outstanding, so no renewal has happened yet.
    await client.waitForServerAudio(400 * 8, 10_000);
    expect(first.closed).toBeNull();
    rig.emulator.faults.inject(first.id, { type: 'session_expired' });
    const second = await rig.nextSession(index + 1, 10_000);
    await waitFor(() => second.clientEvents.some((e) => e.type === 'input_audio_buffer.append'), 'caller audio in the new session');
    expect(second.clientEvents[0]!.type).toBe('session.update');
    expect(client.report().disconnect).toBeNull();
    await client.close();
  });
});

describe('MAX_CALL_DURATION', () => {
  let rig: WholeCallRig;
  beforeAll(async () => {
    rig = await startWholeCallRig({ script: SCRIPT, env: { MAX_CALL_DURATION: '3' } });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('MAX_CALL_DURATION reached → a goodbye plays, then disconnect completed (max_call_duration) with outputs', async () => {
    const index = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(silenceSource());
    const disconnect = await client.nextMessage('disconnect', 15_000);
    expect(disconnect.parameters.reason).toBe('completed');
    expect(disconnect.parameters.info).toBe('max_call_duration');
    const outputs = disconnect.parameters.outputVariables!;
    expect(outputs.CONVERSATION_SUMMARY!.length).toBeGreaterThan(0);
    expect(outputs.ESCALATION_REQUIRED).toBe('false');
    expect(Number(outputs.CONVERSATION_DURATION)).toBeGreaterThanOrEqual(3);
    const session = await rig.nextSession(index);
    const farewell = session.clientEvents.filter((e) => e.type === 'response.create');
    // Greeting, farewell, and the out-of-band summary.
    expect(farewell.length).toBe(3);
    const report = client.report();
    expect(audioBytes(report.receivedFrames.filter((f) => f.at <= report.timings.disconnectAt!))).toBe((1200 + 600) * 8);
    await client.waitForEnd(10_000);
    const record = await rig.recordFor(client);
    expect(record).toMatchObject({ end_reason: 'bot_ended', end_detail: 'max_call_duration' });
    client.assertNoViolations();
  });
});

describe('session renewal and MAX_CALL_DURATION (decisions, injected clock)', () => {
  it('a due renewal waits while bot audio plays or the caller speaks', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' }, env: { MODEL_SESSION_RENEW_AFTER_MS: '60000' } });
    await makeReady(h);
    h.clock.advance(59_000);
    botSpeaks(h, 'r1', 'b1', 3000);
    h.clock.advance(1500);
    await flush();
    expect(h.connects).toBe(1);
    responseDone(h, 'r1');
    h.model.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u1' });
    h.clock.advance(5000);
    await flush();
    // Bot audio done, but the caller is mid-utterance (the barge-in cut the rest): still no renewal.
    expect(h.connects).toBe(1);
    h.model.emit({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: 900, item_id: 'u1' });
    h.model.emit({ type: 'input_audio_buffer.committed', item_id: 'u1', previous_item_id: null });
    h.model.emit({ type: 'response.created', response: { id: 'r2', status: 'in_progress' } });
    h.clock.advance(1000);
    await flush();
    expect(h.connects).toBe(1);
    responseDone(h, 'r2');
    h.clock.advance(300);
    await flush();
    expect(h.connects).toBe(2);
    expect(h.models[0]!.closed).toBe(true);
  });

  it('MAX_CALL_DURATION while the model is reconnecting → disconnect completed with outputs at once', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' }, env: { MAX_CALL_DURATION: '60', MODEL_CONNECT_TIMEOUT_MS: '30000' } });
    await makeReady(h);
    h.clock.advance(59_000);
    h.model.drop(1006);
    await flush();
    h.clock.advance(1000);
    await flush();
    await flush();
    expect(h.control.disconnects[0]).toMatchObject({
      reason: 'completed',
      info: 'max_call_duration',
      outputs: { ESCALATION_REQUIRED: 'false', SUMMARY_SOURCE: 'fallback' },
    });
  });
});
