import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { TEST_CA_PATH } from '../../src/emulator/tls-fixtures.js';
import { PCMU_SESSION, utterance } from './harness.js';

const caPem = readFileSync(TEST_CA_PATH, 'utf8');
const ca = [...rootCertificates, caPem];
const KEY = 'sk-test-emulator-key';
const TIMEOUT = 10_000;

let emulator: Emulator;
const clients: { close(): void }[] = [];

beforeEach(async () => {
  emulator = await startEmulator({ apiKeys: [KEY], speed: 'instant' });
});
afterEach(async () => {
  for (const c of clients.splice(0)) {
    try {
      c.close();
    } catch {
      // already closed
    }
  }
  await emulator.close();
});

function connectSdk(apiKey = KEY): { rt: OpenAIRealtimeWS; events: RealtimeServerEvent[]; errors: unknown[] } {
  const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime-2.1', options: { ca } }, new OpenAI({ apiKey, baseURL: emulator.baseURL }));
  const events: RealtimeServerEvent[] = [];
  const errors: unknown[] = [];
  rt.on('event', (e) => events.push(e));
  rt.on('error', (e) => errors.push(e));
  clients.push({ close: () => rt.close() });
  return { rt, events, errors };
}

function waitFor<T>(check: () => T | undefined, what: string, timeoutMs = TIMEOUT): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      const value = check();
      if (value !== undefined) return resolve(value);
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

function closeOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

function rawConnect(path: string, headers: Record<string, string>): WebSocket {
  const ws = new WebSocket(`wss://127.0.0.1:${emulator.port}${path}`, { headers, ca });
  ws.on('error', () => undefined);
  clients.push({ close: () => ws.terminate() });
  return ws;
}

function handshakeStatus(ws: WebSocket): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('handshake unexpectedly succeeded')));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

describe('Realtime emulator over TLS', () => {
  it('accepts the official SDK with a CA option and echoes session.update', async () => {
    const { rt, events, errors } = connectSdk();
    expect(rt.url.toString()).toBe(`wss://127.0.0.1:${emulator.port}/v1/realtime?model=gpt-realtime-2.1`);
    await waitFor(() => events.find((e) => e.type === 'session.created'), 'session.created');
    rt.send({ type: 'session.update', session: PCMU_SESSION as never });
    const updated = await waitFor(() => events.find((e) => e.type === 'session.updated'), 'session.updated');
    expect(updated.type === 'session.updated' && updated.session.type === 'realtime' && updated.session.audio?.output?.format).toEqual({ type: 'audio/pcmu' });
    expect(errors).toEqual([]);
    const record = await emulator.waitForSession(0);
    expect(record.model).toBe('gpt-realtime-2.1');
    expect(record.config.audio.input.format).toEqual({ type: 'audio/pcmu' });
  });

  it('plays a scripted reply to a caller turn and records the input audio with arrival times', async () => {
    const { rt, events } = connectSdk();
    await new Promise<void>((resolve) => rt.socket.once('open', () => resolve()));
    rt.send({ type: 'session.update', session: PCMU_SESSION as never });
    const audio = utterance(500, 700, 800);
    for (let i = 0; i < audio.length; i += 1600) {
      rt.send({ type: 'input_audio_buffer.append', audio: Buffer.from(audio.subarray(i, i + 1600)).toString('base64') });
    }
    const done = await waitFor(() => events.find((e) => e.type === 'response.done'), 'response.done');
    expect(done.type === 'response.done' && done.response.status).toBe('completed');
    expect(events.filter((e) => e.type === 'response.output_audio.delta').length).toBeGreaterThan(0);
    const record = await emulator.waitForSession(0);
    expect(record.inputAudioBytes()).toEqual(Buffer.from(audio));
    expect(record.inputAudio.map((a) => a.bytes).reduce((a, b) => a + b, 0)).toBe(audio.length);
  });

  it('answers a wrong key with HTTP 401 JSON', async () => {
    const ws = rawConnect('/v1/realtime?model=gpt-realtime-2.1', { Authorization: 'Bearer sk-wrong-key-123456' });
    const { status, body } = await handshakeStatus(ws);
    expect(status).toBe(401);
    const parsed = JSON.parse(body) as { error: { code: string; message: string } };
    expect(parsed.error.code).toBe('invalid_api_key');
    expect(parsed.error.message).not.toContain('sk-wrong-key-123456');
  });

  it("refuses Azure's path and Azure's api-key header, as OpenAI does", async () => {
    expect((await handshakeStatus(rawConnect('/openai/v1/realtime?model=my-deployment', { Authorization: `Bearer ${KEY}` }))).status).toBe(404);
    const apiKeyOnly = await handshakeStatus(rawConnect('/v1/realtime?model=gpt-realtime-2.1', { 'api-key': KEY }));
    expect(apiKeyOnly.status).toBe(401);
    expect(apiKeyOnly.body).toContain("You didn't provide an API key");
  });

  it('answers the OpenAI-Beta header with beta_api_shape_disabled and close 4000', async () => {
    const ws = rawConnect('/v1/realtime?model=gpt-realtime-2.1', { Authorization: `Bearer ${KEY}`, 'OpenAI-Beta': 'realtime=v1' });
    const messages: Record<string, any>[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    const closed = await closeOf(ws);
    expect(closed.code).toBe(4000);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', code: 'beta_api_shape_disabled' } });
  });

  it('refuses the next handshake with 429 when injected, then accepts again', async () => {
    emulator.faults.refuseHandshake(429, { retryAfterSeconds: 2 });
    const refused = await handshakeStatus(rawConnect('/v1/realtime?model=gpt-realtime-2.1', { Authorization: `Bearer ${KEY}` }));
    expect(refused.status).toBe(429);
    const ok = rawConnect('/v1/realtime?model=gpt-realtime-2.1', { Authorization: `Bearer ${KEY}` });
    await new Promise<void>((resolve) => ok.once('open', () => resolve()));
  });

  it('delays the next handshake when injected', async () => {
    emulator.faults.delayHandshake(300);
    const ws = rawConnect('/v1/realtime?model=gpt-realtime-2.1', { Authorization: `Bearer ${KEY}` });
    const started = Date.now();
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    // Lower bound only: a delay cannot make the handshake faster.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('stops streaming when the client goes away mid-response', async () => {
    await emulator.close();
    emulator = await startEmulator({ apiKeys: [KEY], speed: 'realtime' });
    const { rt, events } = connectSdk();
    await waitFor(() => events.find((e) => e.type === 'session.created'), 'session.created');
    rt.send({ type: 'response.create' });
    await waitFor(() => events.find((e) => e.type === 'response.output_audio.delta'), 'first delta');
    const record = await emulator.waitForSession(0);
    rt.close();
    await waitFor(() => record.closed ?? undefined, 'server-side close');
    const sentAtClose = record.serverEvents.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(record.serverEvents.length).toBe(sentAtClose);
  });

  it('closes a live session with 1011 on injection', async () => {
    const { rt, events } = connectSdk();
    await waitFor(() => events.find((e) => e.type === 'session.created'), 'session.created');
    const closed = new Promise<number>((resolve) => rt.socket.once('close', (code: number) => resolve(code)));
    const record = await emulator.waitForSession(0);
    expect(emulator.faults.inject(record.id, { type: 'close', code: 1011, reason: 'internal' })).toBe(1);
    expect(await closed).toBe(1011);
  });

  it('expires the next session: session_expired error then close 1001', async () => {
    emulator.faults.onNextSession({ type: 'session_expired' });
    const { rt, events, errors } = connectSdk();
    const code = await new Promise<number>((resolve) => rt.socket.once('close', (c: number) => resolve(c)));
    expect(code).toBe(1001);
    expect(events.map((e) => e.type)).toEqual(['session.created', 'conversation.created', 'error']);
    expect(errors).toHaveLength(1);
    expect((errors[0] as { error?: { code?: string } }).error?.code).toBe('session_expired');
  });

  it('drops the TCP connection without a close frame for 1006', async () => {
    const ws = rawConnect('/v1/realtime?model=gpt-realtime-2.1', { Authorization: `Bearer ${KEY}` });
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    const record = await emulator.waitForSession(0);
    const closed = closeOf(ws);
    emulator.faults.inject(record.id, { type: 'close', code: 1006 });
    expect((await closed).code).toBe(1006);
  });

  it('fails the next response with rate_limit_exceeded over the wire', async () => {
    const { rt, events } = connectSdk();
    await waitFor(() => events.find((e) => e.type === 'session.created'), 'session.created');
    const record = await emulator.waitForSession(0);
    emulator.faults.inject(record.id, { type: 'fail_next_response', retryAfterSeconds: 1.2 });
    rt.send({ type: 'response.create' });
    const done = await waitFor(() => events.find((e) => e.type === 'response.done'), 'response.done');
    expect(done.type === 'response.done' && done.response.status).toBe('failed');
    expect(done.type === 'response.done' && done.response.status_details?.error?.message).toMatch(/Please try again in 1\.2s\./);
  });
});
