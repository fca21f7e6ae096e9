/** Simulator (strict Genesys) ↔ the real server: every normal call flow ends with zero protocol violations. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ULAW_SILENCE } from '../../src/audio/codec.js';
import { silenceSource, ulawSource } from '../../src/simulator/audio-source.js';
import { ConnectError, createSimulatedCall, GenesysClient } from '../../src/simulator/genesys-client.js';
import { L16_EXTERNAL, L16_STEREO, PCMU_EXTERNAL, PCMU_STEREO } from '../../src/simulator/media.js';
import { audioBytes, concatAudio, eventually, startConformanceServer, type ConformanceServer } from './support.js';

let server: ConformanceServer;
beforeAll(async () => {
  server = await startConformanceServer();
});
afterAll(async () => {
  await server.app.close();
});

/**
 * A recognisable caller signal: a ramp over the μ-law codes. 0x7F (negative zero) is left out because
 * it decodes to the same sample as 0xFF, so it cannot survive an L16 round trip.
 */
function callerSignal(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = i % 255 === 0x7f ? 0x7e : i % 255;
  return out;
}

describe('conformance: call flows', () => {
  it('call: open → opened, audio, pings, dtmf, bot audio with playback_*, close → closed', async () => {
    const client = await createSimulatedCall(
      server.options({ inputVariables: { test_action: 'echo_dtmf' }, participant: { ani: 'tel:+15550001111' } }),
    );
    expect(client.session.negotiatedMedia).toEqual(PCMU_EXTERNAL);
    const call = server.calls.get(client.sessionId)!;
    expect(call.context.inputVariables).toEqual({ test_action: 'echo_dtmf' });
    expect(call.context.language).toBe('en-us');
    expect(call.context.connectorId).toBe('conformance-bot');

    const streamer = client.streamAudio(ulawSource(callerSignal(4800)), { pacing: 'realtime' });
    await expect(streamer.done).resolves.toMatchObject({ framesSent: 3, ended: 'source-exhausted' });
    await eventually(() => audioBytes(call) === 4800, 'the caller audio at the server');
    expect(concatAudio(call)).toEqual(callerSignal(4800));

    client.sendDtmf('12#');
    await eventually(() => call.dtmf.length === 3, 'three digits');
    expect(call.dtmf).toEqual(['1', '2', '#']);
    await client.waitForServerAudio(3 * 1600);
    await eventually(() => call.callbacks.includes('playback_completed'), 'playback_completed at the server');
    await client.waitUntil(() => client.report().pingRttsMs.length >= 2, 'two ping/pong rounds');

    const report = await client.close('end');
    client.assertNoViolations();
    expect(report.state).toBe('closed');
    expect(report.receivedAudio).toEqual(new Uint8Array(4800).fill(0x2a));
    expect(report.playback.length).toBeGreaterThanOrEqual(1);
    expect(call.callbacks.filter((c) => c === 'playback_started').length).toBe(report.playback.length);
    await eventually(() => call.closeCause !== null, 'onClose');
    expect(call.closeCause).toEqual({ kind: 'close', reason: 'end' });
  });

  it('connection probe: opened with the offered media, no call logic, close → closed', async () => {
    const client = await createSimulatedCall(server.options({ probe: true }));
    expect(client.session.negotiatedMedia).toEqual(PCMU_EXTERNAL);
    expect(server.calls.has(client.sessionId)).toBe(false);
    const report = await client.close();
    client.assertNoViolations();
    expect(report.timings.closeToClosedMs).not.toBeNull();
  });

  it('server-initiated pause/resume and client-initiated pause/resume', async () => {
    const client = await createSimulatedCall(server.options());
    const call = server.calls.get(client.sessionId)!;
    client.streamAudio(silenceSource(), { pacing: 'realtime' });

    call.control.pause();
    await eventually(() => call.callbacks.includes('paused'), 'paused at the server');
    expect(client.session.audioState).toBe('paused');
    const bytesWhilePaused = audioBytes(call);
    await new Promise((resolve) => setTimeout(resolve, 450));
    call.control.resume();
    await eventually(() => call.callbacks.includes('resumed'), 'resumed at the server');
    // Nothing was sent while paused (frames already in flight are dropped by the server, not delivered).
    expect(audioBytes(call)).toBe(bytesWhilePaused);
    expect(call.resumed[0]!.discardedMs).toBeGreaterThan(0);

    client.pause();
    await eventually(() => call.callbacks.filter((c) => c === 'paused').length === 2, 'client pause at the server');
    client.resume();
    await eventually(() => call.callbacks.filter((c) => c === 'resumed').length === 2, 'client resume at the server');
    await eventually(() => audioBytes(call) > bytesWhilePaused, 'audio after resume');

    await client.close();
    client.assertNoViolations();
  });

  it('update, discarded and client error (429 with retryAfter) reach the call logic', async () => {
    const client = await createSimulatedCall(server.options());
    const call = server.calls.get(client.sessionId)!;
    client.sendUpdate({ language: 'es-es' });
    client.sendDiscarded(1500);
    client.sendError(429, 'Too many requests', 2500);
    await eventually(() => call.clientErrors.length === 1, 'the client error');
    expect(call.updates).toEqual([{ language: 'es-es' }]);
    expect(call.discarded).toEqual([{ startMs: 0, discardedMs: 1500 }]);
    expect(call.clientErrors[0]).toMatchObject({ code: 429, retryAfterMs: 2500 });
    // The discarded audio advanced the timeline; following messages carry the new position.
    await client.close();
    client.assertNoViolations();
    expect(client.report().positionMs).toBe(1500);
  });

  it('server disconnect → close {reason: disconnect} → closed, with string output variables', async () => {
    const client = await createSimulatedCall(server.options({ inputVariables: { test_action: 'disconnect' } }));
    const report = await client.waitForEnd();
    client.assertNoViolations();
    expect(report.state).toBe('closed');
    expect(report.disconnect).toEqual({
      reason: 'completed',
      info: 'test finished',
      outputVariables: { summary: 'caller was helped', escalate: 'false' },
    });
    const lastClient = report.messages.filter((m) => m.direction === 'client').at(-1)!.message;
    expect(lastClient).toMatchObject({ type: 'close', parameters: { reason: 'disconnect' } });
    const call = server.calls.get(client.sessionId)!;
    await eventually(() => call.closeCause !== null, 'onClose');
    expect(call.closeCause).toEqual({ kind: 'close', reason: 'disconnect' });
  });

  it.each([
    ['PCMU stereo', [PCMU_STEREO], PCMU_STEREO],
    ['L16 mono', [L16_EXTERNAL], L16_EXTERNAL],
    ['L16 stereo', [L16_STEREO], L16_STEREO],
    ['PCMU stereo preferred over L16 when both offered', [L16_EXTERNAL, PCMU_STEREO], PCMU_STEREO],
    ['inverted channel order echoed verbatim', [{ ...PCMU_STEREO, channels: ['internal', 'external'] }], { ...PCMU_STEREO, channels: ['internal', 'external'] }],
  ])('%s: negotiated verbatim; caller external channel and bot audio survive the layout', async (_name, offers, expected) => {
    const client = await createSimulatedCall(server.options({ offers, inputVariables: { test_action: 'echo_dtmf' } }));
    expect(client.session.negotiatedMedia).toEqual(expected);
    const call = server.calls.get(client.sessionId)!;
    const streamer = client.streamAudio(ulawSource(callerSignal(3200)), { pacing: 'fast' });
    await streamer.done;
    await eventually(() => audioBytes(call) === 3200, 'caller audio at the server');
    // L16 round trips μ-law exactly; stereo de-interleaving must pick the external channel.
    expect(concatAudio(call)).toEqual(callerSignal(3200));
    client.sendDtmf('9');
    await client.waitForServerAudio(1600);
    const report = await client.close();
    client.assertNoViolations();
    expect(report.receivedAudio).toEqual(new Uint8Array(1600).fill(0x2a));
    expect(report.receivedFrames.every((f) => f.bytes <= 64_000)).toBe(true);
  });

  it('barge_in while bot audio plays: the playout buffer is flushed and playback_completed reaches the server', async () => {
    const client = await createSimulatedCall(server.options());
    const call = server.calls.get(client.sessionId)!;
    call.control.sendAudio(new Uint8Array(40_000).fill(ULAW_SILENCE)); // 5 s of bot speech
    await client.waitForServerAudio(40_000);
    await eventually(() => call.callbacks.includes('playback_started'), 'playback_started at the server');
    call.control.sendEvent([
      { type: 'barge_in', data: {} },
      { type: 'bot_turn_response', data: { disposition: 'match', text: 'hello', confidence: 0.9 } },
    ]);
    await eventually(() => call.callbacks.includes('playback_completed'), 'playback_completed after barge_in');
    const report = await client.close();
    client.assertNoViolations();
    expect(report.playback[0]).toMatchObject({ reason: 'flushed' });
    expect(report.events.map((e) => e.entity.type)).toEqual(['barge_in', 'bot_turn_response']);
  });

  it('authentication: an unsigned upgrade is refused with 401 when a client secret is configured', async () => {
    const error = await createSimulatedCall(server.options({ clientSecret: undefined })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).status).toBe(401);
  });

  it('authentication: open with an organizationId other than the header → disconnect unauthorized → close → closed', async () => {
    const client = await GenesysClient.connect(server.options({ organizationId: randomUUID() }));
    client.session.open({
      organizationId: randomUUID(),
      conversationId: randomUUID(),
      participant: { id: randomUUID(), ani: '', aniName: '', dnis: '' },
      offers: [PCMU_EXTERNAL],
    });
    const report = await client.waitForEnd();
    expect(report.violations).toEqual([]);
    expect(report.disconnect?.reason).toBe('unauthorized');
    expect(report.state).toBe('closed');
  });

  it('bot audio larger than 64,000 bytes arrives split into frames within the limit', async () => {
    const client = await createSimulatedCall(server.options());
    const call = server.calls.get(client.sessionId)!;
    call.control.sendAudio(new Uint8Array(100_000).fill(ULAW_SILENCE));
    await client.waitForServerAudio(100_000);
    const report = await client.close();
    client.assertNoViolations();
    expect(report.receivedFrames.length).toBeGreaterThanOrEqual(2);
  });
});
