/**
 * Issue 5, fault 2: the model handshake is refused (HTTP 429, 5xx) or times out. The bridge retries with
 * exponential backoff and jitter within MODEL_RETRY_BUDGET_MS while the call is held; if it still fails,
 * `disconnect` error with a clear `info` so Architect's failure path routes the caller to a human.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import { silenceSource } from '../../src/simulator/audio-source.js';
import { startWholeCallRig, type WholeCallRig } from '../bridge/whole-call.js';

const SCRIPT: CallScript = {
  name: 'fault-2',
  greeting: { audio: { toneMs: 800 }, transcript: 'Hello, thanks for calling.' },
  turns: [],
  textCues: [],
  fallback: { audio: { toneMs: 400 }, transcript: 'Sorry?' },
};

let rig: WholeCallRig;

beforeAll(async () => {
  rig = await startWholeCallRig({ script: SCRIPT, env: { MODEL_CONNECT_TIMEOUT_MS: '1500', MODEL_RETRY_BUDGET_MS: '4000' } });
});

afterAll(async () => {
  await rig?.close();
});

const retriesLogged = (sessionId: string) =>
  rig.logs.filter((l) => l.msg === 'model connection failed; retrying' && l['sessionId'] === sessionId);

describe('model handshake refused or timed out', () => {
  it('HTTP 429 then 503 → retried with backoff while the call is held; the call then proceeds (greeting heard)', async () => {
    rig.emulator.faults.refuseHandshake(429, { retryAfterSeconds: 1 });
    rig.emulator.faults.refuseHandshake(503);
    const sessionsBefore = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(silenceSource());
    await client.waitForServerAudio(800 * 8, 15_000);
    expect(rig.emulator.sessions.length).toBe(sessionsBefore + 1);
    const retries = retriesLogged(client.sessionId);
    expect(retries.map((l) => l['cause'])).toEqual(['model handshake refused: HTTP 429', 'model handshake refused: HTTP 503']);
    expect(retries.map((l) => l['attempt'])).toEqual([1, 2]);
    expect(client.report().disconnect).toBeNull();
    await client.close();
    client.assertNoViolations();
  });

  it('handshake timeout → a new attempt succeeds', async () => {
    rig.emulator.faults.delayHandshake(5000);
    const client = await rig.call();
    client.streamAudio(silenceSource());
    await client.waitForServerAudio(800 * 8, 20_000);
    const causes = retriesLogged(client.sessionId).map((l) => String(l['cause']));
    expect(causes).toHaveLength(1);
    expect(causes[0]).toMatch(/not ready within 1500 ms|handshake failed/);
    await client.close();
  });

  it('503 beyond the budget → disconnect error with a clear info, fallback summary to the webhook', async () => {
    rig.emulator.faults.refuseHandshake(503, { count: 50 });
    const sessionsBefore = rig.emulator.sessions.length;
    const client = await rig.call();
    client.streamAudio(silenceSource());
    const report = await client.waitForEnd(20_000);
    rig.emulator.faults.clear();
    expect(report.disconnect?.reason).toBe('error');
    expect(report.disconnect?.info).toMatch(/^model handshake refused: HTTP 503 \(after \d+ attempts\)$/);
    expect(retriesLogged(client.sessionId).length).toBeGreaterThanOrEqual(2);
    expect(rig.emulator.sessions.length).toBe(sessionsBefore);
    const record = await rig.recordFor(client);
    expect(record).toMatchObject({ end_reason: 'error', summary: { source: 'fallback' } });
    client.assertNoViolations();
  });

  it('HTTP 401 is final → no retry, disconnect error at once', async () => {
    rig.emulator.faults.refuseHandshake(401, { message: 'Incorrect API key provided' });
    const client = await rig.call();
    client.streamAudio(silenceSource());
    const report = await client.waitForEnd(15_000);
    expect(report.disconnect).toMatchObject({ reason: 'error', info: 'model handshake refused: HTTP 401' });
    expect(retriesLogged(client.sessionId)).toHaveLength(0);
  });
});
