/**
 * Fault 10, the call side: the server closes (short drain) while a call is live. The bridge's onShutdown
 * ends it politely within the session's 3 s bound: `disconnect completed` with the conversation summary
 * and ESCALATION_REQUIRED=true (the flow hands the caller to an agent), and the webhook gets the record.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import { ulawSource } from '../../src/simulator/audio-source.js';
import { startWholeCallRig, waitFor, type WholeCallRig } from '../bridge/whole-call.js';

const SCRIPT: CallScript = {
  name: 'fault-10',
  greeting: { audio: { toneMs: 600 }, transcript: 'Hello, thanks for calling.' },
  turns: [{ transcript: "Hi, I'd like to check my order.", reply: { audio: { toneMs: 800 }, transcript: 'Sure, what is your order number?' } }],
  textCues: [],
  fallback: { audio: { toneMs: 600 }, transcript: 'Thanks, one moment.' },
};

let rig: WholeCallRig;
const hello = readFileSync('fixtures/caller/hello.ulaw');

beforeAll(async () => {
  rig = await startWholeCallRig({ script: SCRIPT });
});

afterAll(async () => {
  await rig?.close();
});

describe('server shutdown with a live call (bridge)', () => {
  it('drain time up → disconnect completed with a summary and ESCALATION_REQUIRED=true; webhook record end_reason shutdown', async () => {
    const index = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(ulawSource(hello, { thenSilence: true }));
    const session = await rig.nextSession(index);
    await client.waitForServerAudio((600 + 800) * 8, 20_000);
    await waitFor(() => session.conversation.some((e) => e.role === 'assistant' && e.text.includes('order number')), 'the reply transcript');
    expect(client.report().disconnect).toBeNull();

    const closing = rig.app.close({ graceMs: 200 });
    const report = await client.waitForEnd(20_000);
    await closing;
    expect(report.disconnect).toMatchObject({ reason: 'completed' });
    const outputs = report.disconnect!.outputVariables ?? {};
    expect(outputs['CONVERSATION_SUMMARY']).toBeTruthy();
    expect(outputs).toMatchObject({ ESCALATION_REQUIRED: 'true', ESCALATION_REASON: 'server_shutdown', END_REASON: 'server_shutdown' });
    // The bridge's own disconnect with the model's summary (the emulator answers at once), not the
    // session's fallback after 3 s (which carries no summary at all).
    expect(outputs['SUMMARY_SOURCE']).toBe('model');
    expect(report.timings.closedAt).not.toBeNull();
    client.assertNoViolations();

    const record = await rig.recordFor(client);
    expect(record).toMatchObject({ end_reason: 'shutdown', escalation: { required: true, reason: 'server_shutdown' } });
    expect(record.summary.summary).not.toBe('');
    expect(record.transcript.map((t) => t.text)).toEqual(expect.arrayContaining(["Hi, I'd like to check my order."]));
  }, 60_000);
});
