/**
 * Bad client input against the real server: each gets its defined protocol outcome, and a second
 * session running concurrently is not disturbed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silenceSource } from '../../src/simulator/audio-source.js';
import { createSimulatedCall, GenesysClient } from '../../src/simulator/genesys-client.js';
import { PCMU_STEREO } from '../../src/simulator/media.js';
import type { SimulationReport } from '../../src/simulator/report.js';
import { audioBytes, eventually, startConformanceServer, type ConformanceServer } from './support.js';

let server: ConformanceServer;
beforeAll(async () => {
  server = await startConformanceServer();
});
afterAll(async () => {
  await server.app.close();
});

/** Starts the bystander session: streaming audio in real time with keepalive. */
async function startBystander(): Promise<GenesysClient> {
  const client = await createSimulatedCall(server.options());
  client.streamAudio(silenceSource(), { pacing: 'realtime' });
  return client;
}

/** The bystander still works end to end: audio, dtmf, ping/pong, a clean close, no violations. */
async function expectBystanderHealthy(client: GenesysClient): Promise<void> {
  const call = server.calls.get(client.sessionId)!;
  const audioBefore = audioBytes(call);
  const pongsBefore = client.report().pingRttsMs.length;
  client.sendDtmf('7');
  await eventually(() => call.dtmf.includes('7'), 'the bystander digit');
  await eventually(() => audioBytes(call) > audioBefore, 'more bystander audio');
  await client.waitUntil(() => client.report().pingRttsMs.length > pongsBefore, 'a bystander pong');
  const report = await client.close();
  client.assertNoViolations();
  expect(report.state).toBe('closed');
}

/** The server answered with disconnect error, then completed the close transaction correctly. */
function expectErrorDisconnect(report: SimulationReport, info: RegExp): void {
  expect(report.violations).toEqual([]);
  expect(report.disconnect?.reason).toBe('error');
  expect(report.disconnect?.info).toMatch(info);
  expect(report.state).toBe('closed');
}

/** Sends a raw variant of a correctly enveloped message. */
function sendVariant(client: GenesysClient, type: string, changes: Record<string, unknown>, parameters: Record<string, unknown> = {}): void {
  client.sendRawText(JSON.stringify({ ...client.session.envelope(type, parameters), ...changes }));
}

describe('conformance: bad input gets its defined outcome and does not disturb another session', () => {
  const opened: Array<[string, (client: GenesysClient) => void, RegExp]> = [
    ['malformed JSON', (c) => c.sendRawText('{"version":"2","type":'), /JSON/i],
    ['wrong version', (c) => sendVariant(c, 'ping', { version: '1' }), /version/i],
    ['wrong id', (c) => sendVariant(c, 'ping', { id: randomUUID() }), /id/i],
    ['seq gap', (c) => sendVariant(c, 'ping', { seq: c.session.envelope('ping', {}).seq as number + 1 }), /seq/i],
    ['serverseq ahead', (c) => sendVariant(c, 'ping', { serverseq: 99 }), /serverseq/i],
    [
      'text over 65,535 characters (within the frame limit)',
      (c) => {
        const base = JSON.stringify(c.session.envelope('ping', { pad: '' }));
        sendVariant(c, 'ping', {}, { pad: 'x'.repeat(65_536 - base.length) });
      },
      /65535|65,535|exceeds/i,
    ],
  ];

  it.each(opened)('%s → disconnect error → close → closed', async (_name, misbehave, info) => {
    const bystander = await startBystander();
    const client = await createSimulatedCall(server.options());
    misbehave(client);
    const report = await client.waitForEnd();
    expectErrorDisconnect(report, info);
    await expectBystanderHealthy(bystander);
  });

  it('binary before opened → disconnect error → close → closed', async () => {
    const bystander = await startBystander();
    const client = await GenesysClient.connect(server.options());
    client.sendRawBinary(new Uint8Array(1600).fill(0xff));
    const report = await client.waitForEnd();
    expectErrorDisconnect(report, /before the session was opened|audio/i);
    expect(report.timings.openSentAt).toBeNull();
    await expectBystanderHealthy(bystander);
  });

  it('partial sample (odd bytes in PCMU stereo) → disconnect error → close → closed', async () => {
    const bystander = await startBystander();
    const client = await createSimulatedCall(server.options({ offers: [PCMU_STEREO] }));
    client.sendRawBinary(new Uint8Array(321).fill(0xff));
    const report = await client.waitForEnd();
    expectErrorDisconnect(report, /sample/i);
    await expectBystanderHealthy(bystander);
  });

  it('70 KB text (over the 65,535-character protocol limit) → disconnect error → close → closed', async () => {
    const bystander = await startBystander();
    const client = await createSimulatedCall(server.options());
    sendVariant(client, 'ping', {}, { pad: 'x'.repeat(70_000) });
    const report = await client.waitForEnd();
    // ws accepts frames up to 256 KiB, so the session's own size check answers with a protocol error.
    expectErrorDisconnect(report, /65535|65,535|exceeds/);
    await expectBystanderHealthy(bystander);
  });

  it('unknown message type → ignored, its seq counted, the session continues', async () => {
    const bystander = await startBystander();
    const client = await createSimulatedCall(server.options());
    sendVariant(client, 'transcript_request', {}, { anything: true });
    const pongs = client.report().pingRttsMs.length;
    await client.waitUntil(() => client.report().pingRttsMs.length > pongs, 'a pong after the unknown message');
    client.sendDtmf('3');
    const call = server.calls.get(client.sessionId)!;
    await eventually(() => call.dtmf.includes('3'), 'the digit after the unknown message');
    const report = await client.close();
    client.assertNoViolations();
    expect(report.disconnect).toBeNull();
    await expectBystanderHealthy(bystander);
  });
});
