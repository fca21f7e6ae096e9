/**
 * Issue 5, fault 7: the Genesys socket drops without `close`. The bridge closes the model socket, produces
 * the summary and delivers it to the webhook, and leaves nothing behind: no active session, no timers, no
 * sockets (process handles return to their baseline).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import { silenceSource } from '../../src/simulator/audio-source.js';
import { sleep, startWholeCallRig, waitFor, type WholeCallRig } from '../bridge/whole-call.js';

const SCRIPT: CallScript = {
  name: 'fault-7',
  greeting: { audio: { toneMs: 3000 }, transcript: 'Hello, thanks for calling. How can I help you today?' },
  turns: [],
  textCues: [],
  fallback: { audio: { toneMs: 400 }, transcript: 'Sorry?' },
};

let rig: WholeCallRig;

beforeAll(async () => {
  rig = await startWholeCallRig({ script: SCRIPT });
});

afterAll(async () => {
  await rig?.close();
});

/** Counts of the ref'd handle kinds a leaked call would leave (the bridge's own timers are unref'd: see rig.clock). */
function handleCounts(): { timers: number; sockets: number } {
  const info = process.getActiveResourcesInfo();
  return { timers: info.filter((r) => r === 'Timeout').length, sockets: info.filter((r) => r === 'TCPSocketWrap').length };
}

/** A call that is dropped mid-greeting; resolves with its webhook record once everything has settled. */
async function droppedCall() {
  const index = rig.emulator.sessions.length;
  const client = await rig.call();
  const streamer = client.streamAudio(silenceSource());
  const session = await rig.nextSession(index);
  await client.waitForServerAudio(800 * 8, 10_000);
  client.terminate();
  streamer.stop();
  await waitFor(() => session.closed !== null, 'the model socket closed', 15_000);
  const record = await rig.recordFor(client);
  await waitFor(() => rig.app.activeSessions() === 0, 'no active sessions');
  await rig.factory.drain();
  return { session, record };
}

describe('the Genesys socket drops without close', () => {
  it('Genesys socket dropped → model socket closed, summary delivered, sessions and handles back to baseline', async () => {
    // A first dropped call warms up what is pooled for the process (webhook keep-alive, TLS session cache).
    await droppedCall();
    await sleep(300);
    const baseline = handleCounts();

    const { session, record } = await droppedCall();
    expect(session.closed?.code).toBe(1000);
    expect(record.end_reason).toBe('error');
    expect(record.end_detail).toMatch(/^socket closed \(code \d+\)$/);
    expect(record.summary.summary.length).toBeGreaterThan(0);
    expect(record.summary.source).toBe('model');
    // The model's summary came out of band on the same session, after the drop.
    expect(session.clientEvents.filter((e) => e.type === 'response.create').length).toBeGreaterThanOrEqual(2);
    expect(rig.app.activeSessions()).toBe(0);
    // Every timer of the call (pacer, DTMF, renewal, reply nudge, retries, summary waits) is gone.
    expect(rig.clock.pending).toBe(0);
    await sleep(300);
    const after = handleCounts();
    expect(after.timers).toBeLessThanOrEqual(baseline.timers);
    expect(after.sockets).toBeLessThanOrEqual(baseline.sockets);
  });
});
