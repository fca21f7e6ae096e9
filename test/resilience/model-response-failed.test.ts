/**
 * Issue 5, fault 3: `response.done` with status "failed" / rate_limit_exceeded ("Please try again in 1.2s").
 * The bridge waits as the message says (bounded by MODEL_RATE_LIMIT_MAX_WAIT_MS) and retries the response
 * once; otherwise it ends the call `completed` with ESCALATION_REQUIRED=true / model_unavailable (the
 * bridge has no voice of its own to tell the caller; the flow's escalation branch transfers them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import { silenceSource } from '../../src/simulator/audio-source.js';
import { flush, makeReady, responseDone, startCall } from '../bridge/harness.js';
import { startWholeCallRig, waitFor, type WholeCallRig } from '../bridge/whole-call.js';

const SCRIPT: CallScript = {
  name: 'fault-3',
  greeting: { audio: { toneMs: 800 }, transcript: 'Hello, thanks for calling.' },
  turns: [],
  textCues: [],
  fallback: { audio: { toneMs: 400 }, transcript: 'Sorry?' },
};

let rig: WholeCallRig;

beforeAll(async () => {
  rig = await startWholeCallRig({ script: SCRIPT, env: { MODEL_RATE_LIMIT_MAX_WAIT_MS: '5000' } });
});

afterAll(async () => {
  await rig?.close();
});

describe('a response fails with rate_limit_exceeded', () => {
  it('rate-limited greeting → waits the 1.2 s the message names, retries once, the caller hears the reply', async () => {
    rig.emulator.faults.onNextSession({ type: 'fail_next_response', retryAfterSeconds: 1.2 });
    const index = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(silenceSource());
    const session = await rig.nextSession(index);
    // The emulator's script counts the failed run as the greeting, so the retry plays its fallback (400 ms).
    await client.waitForServerAudio(400 * 8, 15_000);
    const creates = session.clientEvents.filter((e) => e.type === 'response.create');
    expect(creates).toHaveLength(2);
    // The retry went out no sooner than the wait the server asked for.
    expect(creates[1]!.at - creates[0]!.at).toBeGreaterThanOrEqual(1200);
    expect(session.serverEvents.filter((e) => e.type === 'response.done')).toHaveLength(2);
    expect(client.report().disconnect).toBeNull();
    await client.close();
    client.assertNoViolations();
  });

  it('a wait beyond the limit → completed with ESCALATION_REQUIRED=true, reason model_unavailable', async () => {
    rig.emulator.faults.onNextSession({ type: 'fail_next_response', retryAfterSeconds: 30 });
    const index = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(silenceSource());
    const report = await client.waitForEnd(15_000);
    expect(report.disconnect?.reason).toBe('completed');
    expect(report.disconnect?.info).toContain('rate_limit_exceeded');
    expect(report.disconnect?.outputVariables).toMatchObject({ ESCALATION_REQUIRED: 'true', ESCALATION_REASON: 'model_unavailable' });
    const session = await rig.nextSession(index);
    expect(session.clientEvents.filter((e) => e.type === 'response.create')).toHaveLength(1);
    await waitFor(() => session.closed !== null, 'the model socket closed');
    const record = await rig.recordFor(client);
    expect(record.end_reason).toBe('escalated');
    client.assertNoViolations();
  });
});

describe('a failed response (decision, injected clock)', () => {
  const failed = (id: string, seconds: number) => ({
    status: 'failed',
    status_details: {
      type: 'failed',
      error: { type: 'tokens', code: 'rate_limit_exceeded', message: `Rate limit reached … Please try again in ${seconds}s.` },
    },
    id,
  });

  it('the retried response fails again → escalation, no second retry', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    h.model.emit({ type: 'response.created', response: { id: 'r1', status: 'in_progress' } });
    responseDone(h, 'r1', failed('r1', 2));
    h.clock.advance(1999);
    expect(h.model.ofType('response.create')).toHaveLength(0);
    h.clock.advance(1);
    expect(h.model.ofType('response.create')).toHaveLength(1);
    h.model.emit({ type: 'response.created', response: { id: 'r2', status: 'in_progress' } });
    responseDone(h, 'r2', failed('r2', 2));
    await flush();
    expect(h.control.disconnects[0]).toMatchObject({
      reason: 'completed',
      outputs: { ESCALATION_REQUIRED: 'true', ESCALATION_REASON: 'model_unavailable' },
    });
    h.clock.advance(10_000);
    expect(h.model.ofType('response.create')).toHaveLength(1);
  });

  it('a success in between re-arms the single retry', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    h.model.emit({ type: 'response.created', response: { id: 'r1', status: 'in_progress' } });
    responseDone(h, 'r1', failed('r1', 1));
    h.clock.advance(1000);
    h.model.emit({ type: 'response.created', response: { id: 'r2', status: 'in_progress' } });
    responseDone(h, 'r2');
    h.model.emit({ type: 'response.created', response: { id: 'r3', status: 'in_progress' } });
    responseDone(h, 'r3', failed('r3', 1));
    h.clock.advance(1000);
    expect(h.model.ofType('response.create')).toHaveLength(2);
    expect(h.control.disconnects).toHaveLength(0);
  });
});
