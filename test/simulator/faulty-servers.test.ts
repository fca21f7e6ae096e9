import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/audiohook/signature.js';
import { silenceSource } from '../../src/simulator/audio-source.js';
import { ConnectError, createSimulatedCall, GenesysClient, WaitError, type SimulatedCallOptions } from '../../src/simulator/genesys-client.js';
import { PCMU_EXTERNAL, PCMU_STEREO } from '../../src/simulator/media.js';
import { ProtocolViolationError, type ViolationCode } from '../../src/simulator/violations.js';
import { startFakeServer, type FakeConnection, type FakeServer } from './fake-server.js';

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const base = (url: string, extra: Partial<SimulatedCallOptions> = {}): SimulatedCallOptions => ({
  url,
  apiKey: 'SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh',
  timing: { firstPingMs: 100, pingIntervalMs: 400, openTimeoutMs: 2000, closeTimeoutMs: 2000 },
  ...extra,
});

/** Runs a call against a faulty server and returns the violation codes the simulator recorded. */
async function violationsAgainst(
  behaviour: (conn: FakeConnection) => void,
  drive: (client: GenesysClient) => Promise<unknown> = (c) => c.open(),
  extra: Partial<SimulatedCallOptions> = {},
) {
  server = await startFakeServer(behaviour);
  const client = await GenesysClient.connect(base(server.url, extra));
  await drive(client).catch((error: unknown) => {
    if (!(error instanceof WaitError)) throw error;
  });
  const report = await client.waitForEnd(10_000);
  const conn = server.connections[0]!;
  return { codes: report.violations.map((v) => v.code), report, conn, client };
}

function expectFailure(result: { codes: ViolationCode[]; conn: FakeConnection }, code: ViolationCode, status: number) {
  expect(result.codes).toEqual([code]);
  // Like Genesys: an `error` with the status, then the connection is dropped.
  expect(result.conn.received.at(-1)).toMatchObject({ type: 'error', parameters: { code: status } });
}

describe('simulator against a correct minimal server', () => {
  it('completes a call with audio, pings, dtmf, playback and close with zero violations', async () => {
    server = await startFakeServer((conn) =>
      conn.behaveCorrectly({
        dtmf: () => conn.sendBinary(1600), // answer the digit with 200 ms of bot audio
      }),
    );
    const client = await createSimulatedCall(base(server.url, { clientSecret: 'TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU=' }));
    client.streamAudio(silenceSource(), { frameMs: 200 });
    client.sendDtmf('5');
    await client.waitUntil(() => client.report().playback.some((b) => b.completedAt !== null), 'playback to complete', 5000);
    await client.waitUntil(() => client.report().pingRttsMs.length >= 2, 'two pongs', 5000);
    const report = await client.close();
    client.assertNoViolations();
    expect(report.state).toBe('closed');
    expect(report.receivedAudio.length).toBe(1600);
    expect(report.timings.openToOpenedMs).not.toBeNull();

    const conn = server.connections[0]!;
    const types = conn.received.map((m) => m.type);
    expect(types[0]).toBe('open');
    expect(types).toContain('playback_started');
    expect(types).toContain('playback_completed');
    expect(types.at(-1)).toBe('close');
    expect(conn.received.map((m) => m.seq)).toEqual(conn.received.map((_, i) => i + 1));
    expect(conn.receivedBinary.length).toBeGreaterThan(0);
    expect(conn.receivedBinary.every((b) => b.length === 1600)).toBe(true);

    // Genesys upgrade headers, signed so that the server-side verifier accepts them.
    const h = conn.headers;
    expect(h['user-agent']).toBe('GenesysCloud-AudioHook-Client');
    expect(h['x-api-key']).toBe('SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh');
    expect(h['audiohook-session-id']).toBe(client.sessionId);
    const verification = verifySignature(
      {
        requestTarget: '/audiohook/bot-1',
        authorities: [String(h.host)],
        organizationId: String(h['audiohook-organization-id']),
        sessionId: String(h['audiohook-session-id']),
        correlationId: String(h['audiohook-correlation-id']),
        apiKey: String(h['x-api-key']),
        signatureInput: h['signature-input'] as string,
        signature: h.signature as string,
      },
      { key: Buffer.from('TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU=', 'base64'), nowSeconds: Date.now() / 1000 },
    );
    expect(verification.ok).toBe(true);
  });

  it('runs disconnect → close {reason: disconnect} → closed and reports the output variables', async () => {
    const result = await violationsAgainst(
      (conn) =>
        conn.behaveCorrectly({
          open: (msg) => {
            conn.send('opened', { startPaused: false, media: msg.parameters.media.slice(0, 1) });
            conn.send('disconnect', { reason: 'completed', outputVariables: { summary: 'ok' } });
          },
        }),
    );
    expect(result.codes).toEqual([]);
    expect(result.report.disconnect).toEqual({ reason: 'completed', info: undefined, outputVariables: { summary: 'ok' } });
    expect(result.conn.received.at(-1)).toMatchObject({ type: 'close', parameters: { reason: 'disconnect' } });
    expect(result.report.state).toBe('closed');
  });

  it('rejects with the HTTP status when the upgrade is refused', async () => {
    const http = createServer();
    http.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    try {
      const error = await GenesysClient.connect(base(`ws://127.0.0.1:${port}/audiohook`)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).status).toBe(401);
    } finally {
      http.close();
    }
  });
});

describe('simulator against faulty servers', () => {
  it('wrong seq', async () => {
    const r = await violationsAgainst((conn) =>
      conn.behaveCorrectly({ ping: () => conn.send('pong', {}, { seq: conn.serverSeq + 2 }) }),
      (c) => c.open().then(() => c.nextMessage('pong', 5000)),
    );
    expectFailure(r, 'seq-out-of-order', 400);
  });

  it('pong with the wrong clientseq', async () => {
    const r = await violationsAgainst(
      (conn) => conn.behaveCorrectly({ ping: (msg) => conn.send('pong', {}, { clientseq: msg.seq - 1 }) }),
      (c) => c.open().then(() => c.nextMessage('pong', 5000)),
    );
    expectFailure(r, 'pong-clientseq-mismatch', 400);
  });

  it('no pong before the next ping is due', async () => {
    const r = await violationsAgainst(
      (conn) => conn.behaveCorrectly({ ping: () => {} }),
      (c) => c.open().then(() => c.waitForEnd(5000)),
    );
    expectFailure(r, 'pong-timeout', 408);
  });

  it('opened after the deadline', async () => {
    const r = await violationsAgainst(
      (conn) =>
        conn.behaveCorrectly({
          open: (msg) => setTimeout(() => conn.send('opened', { startPaused: false, media: msg.parameters.media.slice(0, 1) }), 800),
        }),
      (c) => c.open(),
      { timing: { openTimeoutMs: 300 } },
    );
    expectFailure(r, 'opened-timeout', 408);
    expect(r.conn.received.at(-1)!.parameters.message).toBe('Timed out waiting for opened response');
  });

  it('opened with two media entries', async () => {
    const r = await violationsAgainst(
      (conn) => conn.behaveCorrectly({ open: (msg) => conn.send('opened', { startPaused: false, media: msg.parameters.media }) }),
      (c) => c.open(),
      { offers: [PCMU_EXTERNAL, PCMU_STEREO] },
    );
    expectFailure(r, 'opened-media-invalid', 400);
  });

  it('opened with an entry that was not offered', async () => {
    const r = await violationsAgainst((conn) =>
      conn.behaveCorrectly({ open: () => conn.send('opened', { startPaused: false, media: [{ ...PCMU_EXTERNAL, rate: 16000 }] }) }),
    );
    expectFailure(r, 'opened-media-invalid', 400);
  });

  it('a message without parameters', async () => {
    const r = await violationsAgainst(
      (conn) => conn.behaveCorrectly({ ping: () => conn.send('pong', {}, { parameters: undefined }) }),
      (c) => c.open().then(() => c.nextMessage('pong', 5000)),
    );
    expectFailure(r, 'missing-parameters', 400);
  });

  it('binary over 64,000 bytes', async () => {
    const r = await violationsAgainst(
      (conn) =>
        conn.behaveCorrectly({
          open: (msg) => {
            conn.send('opened', { startPaused: false, media: msg.parameters.media.slice(0, 1) });
            conn.sendBinary(64_001);
          },
        }),
      (c) => c.open().then(() => c.waitForEnd(5000)),
    );
    expectFailure(r, 'binary-too-large', 413);
  });

  it('binary before opened', async () => {
    const r = await violationsAgainst((conn) =>
      conn.behaveCorrectly({
        open: (msg) => {
          conn.sendBinary(1600);
          conn.send('opened', { startPaused: false, media: msg.parameters.media.slice(0, 1) });
        },
      }),
    );
    expectFailure(r, 'binary-before-opened', 409);
  });

  it('audio after disconnect', async () => {
    const r = await violationsAgainst((conn) =>
      conn.behaveCorrectly({
        open: (msg) => {
          conn.send('opened', { startPaused: false, media: msg.parameters.media.slice(0, 1) });
          conn.send('disconnect', { reason: 'completed' });
          conn.sendBinary(1600);
        },
        close: () => {},
      }),
      (c) => c.open().then(() => c.waitForEnd(5000)),
    );
    expectFailure(r, 'binary-after-disconnect', 409);
  });

  it('closed too late', async () => {
    const r = await violationsAgainst(
      (conn) => conn.behaveCorrectly({ close: () => setTimeout(() => conn.send('closed'), 800) }),
      (c) => c.open().then(() => c.close('end', 5000)),
      { timing: { closeTimeoutMs: 300 } },
    );
    expectFailure(r, 'closed-timeout', 408);
    expect(r.conn.received.at(-1)!.parameters.message).toBe('Close transaction timeout');
  });

  it('the server drops the socket mid-call', async () => {
    const r = await violationsAgainst(
      (conn) => conn.behaveCorrectly({ ping: () => conn.ws.terminate() }),
      (c) => c.open().then(() => c.waitForEnd(5000)),
    );
    expect(r.codes).toEqual(['socket-closed-early']);
  });

  it('assertNoViolations lists every violation', async () => {
    const r = await violationsAgainst((conn) =>
      conn.behaveCorrectly({ open: () => conn.send('opened', { startPaused: false, media: [PCMU_STEREO] }) }),
    );
    expect(() => r.client.assertNoViolations()).toThrow(ProtocolViolationError);
    expect(() => r.client.assertNoViolations()).toThrow(/opened-media-invalid/);
  });
});
