/**
 * Whole calls: simulator (strict Genesys client) ↔ server ↔ bridge ↔ Realtime emulator (strict, TLS, test CA).
 * The bridge reaches the emulator exactly as it would OpenAI: a baseURL plus an extra CA file.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBridgeFactory, type BridgeFactory } from '../../src/bridge/call.js';
import { bridgeEnvSchema } from '../../src/bridge/env.js';
import { createWebhookSender, verifyWebhookSignature, type CallRecord } from '../../src/bridge/webhook.js';
import { parseEnv } from '../../src/cli/env.js';
import { createLogger } from '../../src/log/logger.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import type { CallScript } from '../../src/emulator/script.js';
import { connectSettingsFromEnv } from '../../src/realtime/connection.js';
import { realtimeEnvSchema } from '../../src/realtime/env.js';
import { createAppServer, type AppServer } from '../../src/server/http.js';
import { createSimulatedCall, type GenesysClient } from '../../src/simulator/genesys-client.js';
import { silenceSource, ulawSource } from '../../src/simulator/audio-source.js';
import { systemClock } from '../../src/util/clock.js';
import { waitFor } from './whole-call.js';

const API_KEY = 'SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh';
const WEBHOOK_SECRET = 'a-webhook-secret-for-tests';
const logger = createLogger('silent');

/** Tones keep replies short and independent of speech fixtures; cues make tool calls deterministic. */
const TOOL_SCRIPT: CallScript = {
  name: 'bridge-e2e',
  greeting: { audio: { toneMs: 800 }, transcript: 'Hello, thanks for calling.' },
  turns: [{ transcript: "Hi, I'd like to check my order.", reply: { audio: { toneMs: 3000 }, transcript: 'Sure, what is your order number?' } }],
  textCues: [
    {
      pattern: 'keypad digits: 9$',
      toolCall: { name: 'end_call', arguments: { reason: 'caller_done' } },
      followUp: { audio: { toneMs: 1500 }, transcript: 'Thank you for calling. Goodbye!' },
    },
    {
      pattern: 'keypad digits: 0$',
      toolCall: { name: 'transfer_to_agent', arguments: { reason: 'caller asked for a manager' } },
      followUp: { audio: { toneMs: 1000 }, transcript: 'Let me transfer you to a colleague.' },
    },
    { pattern: 'keypad digits: 1234$', reply: { audio: { toneMs: 400 }, transcript: 'Thanks, I have your number.' } },
  ],
  fallback: { audio: { toneMs: 400 }, transcript: 'Sorry?' },
};

let emulator: Emulator;
let app: AppServer;
let factory: BridgeFactory;
let url: string;
let webhook: Server;
const hooks: Array<{ record: CallRecord; signature: string | undefined; timestamp: string | undefined; body: string }> = [];
const clients: GenesysClient[] = [];

beforeAll(async () => {
  // Realistic: replies stream over seconds (2× real time), transcripts lead the audio, caller transcription
  // lands after the reply has started — so barge-in happens while a reply is still streaming.
  emulator = await startEmulator({ script: TOOL_SCRIPT, realistic: true, logger });
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push({
        record: JSON.parse(body) as CallRecord,
        signature: req.headers['x-signature'] as string | undefined,
        timestamp: req.headers['x-signature-timestamp'] as string | undefined,
        body,
      });
      res.end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
  const rtEnv = realtimeEnvSchema.parse({
    OPENAI_API_KEY: 'sk-emulator',
    OPENAI_BASE_URL: emulator.baseURL,
    REALTIME_CA_FILE: emulator.caPath,
  });
  const bridgeEnv = bridgeEnvSchema.parse({ SUMMARY_WEBHOOK_URL: hookUrl, SUMMARY_WEBHOOK_SECRET: WEBHOOK_SECRET });
  factory = createBridgeFactory({
    env: { ...rtEnv, ...bridgeEnv },
    connect: connectSettingsFromEnv(rtEnv),
    sink: createWebhookSender({ url: hookUrl, secret: WEBHOOK_SECRET, timeoutMs: 5000, retries: 1, clock: systemClock, logger }),
  });
  app = createAppServer({
    env: parseEnv({ GENESYS_API_KEY: API_KEY, PORT: '0', HOST: '127.0.0.1' }),
    logger,
    createCall: factory,
  });
  const { port } = await app.listen();
  url = `ws://127.0.0.1:${port}/audiohook/bot`;
});

afterEach(() => {
  for (const c of clients.splice(0)) c.terminate();
});

afterAll(async () => {
  await app?.close();
  await factory?.drain();
  await emulator?.close();
  await new Promise<void>((r) => webhook?.close(() => r()));
});

async function call(inputVariables: Record<string, string> = {}, extra: { probe?: boolean } = {}): Promise<GenesysClient> {
  const client = await createSimulatedCall({ url, apiKey: API_KEY, inputVariables, ...extra });
  clients.push(client);
  return client;
}

const entityTypes = (c: GenesysClient) => c.report().events.map((e) => e.entity.type);


describe('whole calls through the emulator', () => {
  it('plays the greeting paced: no frame over 64,000 bytes, lead bounded', async () => {
    const client = await call();
    client.streamAudio(silenceSource());
    await client.waitForServerAudio(6400, 10_000);
    const frames = client.report().receivedFrames;
    expect(Math.max(...frames.map((f) => f.bytes))).toBeLessThanOrEqual(64_000);
    const first = frames[0]!.at;
    let total = 0;
    for (const f of frames) {
      total += f.bytes;
      // Audio received never runs far ahead of real time (pacer lead 400 ms + a frame + scheduling slack).
      expect(total / 8 - (f.at - first)).toBeLessThanOrEqual(1000);
    }
    await client.close();
    client.assertNoViolations();
  });

  it('relays caller speech and plays the reply; barge-in mid-reply flushes it and truncates within what was sent', async () => {
    const client = await call({ AI_GREETING: 'false' });
    const hello = readFileSync('fixtures/caller/hello.ulaw');
    const interrupt = readFileSync('fixtures/caller/order-number.ulaw');
    client.streamAudio(ulawSource(hello, { thenSilence: true }));
    // The 3 s reply to hello starts arriving.
    await client.waitForServerAudio(8000, 15_000);
    const session = emulator.sessions.at(-1)!;
    const appended = session.clientEvents.filter((e) => e.type === 'input_audio_buffer.append').length;
    expect(appended).toBeGreaterThan(0);
    client.streamAudio(ulawSource(interrupt, { thenSilence: true }));
    await waitFor(() => entityTypes(client).includes('barge_in'), 'barge_in', 10_000);
    const bargeAt = client.report().events.find((e) => e.entity.type === 'barge_in')!.at;
    await waitFor(() => session.clientEvents.some((e) => e.type === 'conversation.item.truncate'), 'truncate');
    const bytesAtBarge = client.report().receivedFrames.filter((f) => f.at <= bargeAt).reduce((n, f) => n + f.bytes, 0);
    // The caller keeps talking (2.7 s, no pause): no audio may arrive meanwhile (the interrupted reply is
    // dropped; the next reply can only start after the caller stops).
    await new Promise((r) => setTimeout(r, 1500));
    const bytesAfter = client.report().receivedFrames.filter((f) => f.at > bargeAt && f.at < bargeAt + 1500).reduce((n, f) => n + f.bytes, 0);
    expect(bytesAfter).toBe(0);
    // The caller cut in while the model was still streaming the reply (realistic mode), not after it.
    expect(session.responses.some((r) => r.status === 'cancelled' && r.reason === 'turn_detected')).toBe(true);
    const replyItem = session.conversation.find((e) => e.role === 'assistant' && e.truncatedAtMs !== null);
    expect(replyItem).toBeDefined();
    expect(replyItem!.truncatedAtMs!).toBeLessThanOrEqual(bytesAtBarge / 8);
    expect(session.errors).toEqual([]);
    await client.close();
    client.assertNoViolations();
  });

  it('gives DTMF to the model as caller input', async () => {
    const sessionsBefore = emulator.sessions.length;
    const client = await call({ AI_GREETING: 'false' });
    client.streamAudio(silenceSource());
    await waitFor(() => emulator.sessions.length > sessionsBefore && emulator.sessions.at(-1)!.clientEvents.some((e) => e.type === 'session.update'), 'session');
    const session = emulator.sessions.at(-1)!;
    await new Promise((r) => setTimeout(r, 300));
    client.sendDtmf('1234#');
    await waitFor(() => session.conversation.some((e) => e.role === 'user' && e.text.includes('keypad digits: 1234')), 'digits at the model');
    await client.waitForServerAudio(3200, 10_000);
    await client.close();
  });

  it('end_call: the farewell is fully sent, then disconnect completed with a non-empty summary', async () => {
    const client = await call({ AI_GREETING: 'false' });
    client.streamAudio(silenceSource());
    await waitFor(() => emulator.sessions.at(-1)?.clientEvents.some((e) => e.type === 'session.update') ?? false, 'session');
    await new Promise((r) => setTimeout(r, 300));
    client.sendDtmf('9#');
    const disconnect = await client.nextMessage('disconnect', 15_000);
    expect(disconnect.parameters.reason).toBe('completed');
    const outputs = disconnect.parameters.outputVariables!;
    expect(outputs.CONVERSATION_SUMMARY!.length).toBeGreaterThan(0);
    expect(outputs.ESCALATION_REQUIRED).toBe('false');
    expect(outputs.SUMMARY_SOURCE).toBe('model');
    // The whole 1.5 s farewell reached the caller before disconnect.
    const report = client.report();
    const disconnectAt = report.timings.disconnectAt!;
    const before = report.receivedFrames.filter((f) => f.at <= disconnectAt).reduce((n, f) => n + f.bytes, 0);
    expect(before).toBeGreaterThanOrEqual(1500 * 8);
    await client.waitForEnd(10_000);
    client.assertNoViolations();
  });

  it('transfer_to_agent: ESCALATION_REQUIRED=true with the reason', async () => {
    const client = await call({ AI_GREETING: 'false' });
    client.streamAudio(silenceSource());
    await waitFor(() => emulator.sessions.at(-1)?.clientEvents.some((e) => e.type === 'session.update') ?? false, 'session');
    await new Promise((r) => setTimeout(r, 300));
    client.sendDtmf('0#');
    const disconnect = await client.nextMessage('disconnect', 15_000);
    expect(disconnect.parameters.outputVariables).toMatchObject({
      ESCALATION_REQUIRED: 'true',
      ESCALATION_REASON: 'caller asked for a manager',
    });
    await client.waitForEnd(10_000);
  });

  it('caller hang-up: closed promptly, and the webhook receives the signed summary', async () => {
    const client = await call();
    client.streamAudio(silenceSource());
    await client.waitForServerAudio(1600, 10_000);
    const before = hooks.length;
    const report = await client.close('end', 10_000);
    expect(report.timings.closeToClosedMs!).toBeLessThan(2500);
    await waitFor(() => hooks.slice(before).some((h) => h.record.session_id === client.sessionId), 'webhook', 15_000);
    const hook = hooks.find((h) => h.record.session_id === client.sessionId)!;
    expect(hook.record.end_reason).toBe('caller_hangup');
    expect(hook.record.summary.summary.length).toBeGreaterThan(0);
    expect(hook.record.summary.source).toBe('model');
    expect(
      verifyWebhookSignature({ body: hook.body, signature: hook.signature, timestamp: hook.timestamp, secret: WEBHOOK_SECRET, nowMs: Date.now() }),
    ).toEqual({ ok: true });
  });

  it('bad input variable: disconnect error naming it, and no model session', async () => {
    const sessionsBefore = emulator.sessions.length;
    const client = await call({ AI_VOICE: 'nova' });
    // The disconnect follows `opened` at once, so read it from the report.
    const report = await client.waitForEnd(10_000);
    expect(report.disconnect?.reason).toBe('error');
    expect(report.disconnect?.info).toContain('AI_VOICE');
    expect(emulator.sessions.length).toBe(sessionsBefore);
  });

  it('model handshake refused: disconnect error with the status, fallback summary to the webhook', async () => {
    emulator.faults.refuseHandshake(401, { message: 'Incorrect API key provided' });
    const before = hooks.length;
    const client = await call();
    client.streamAudio(silenceSource());
    const report = await client.waitForEnd(15_000);
    expect(report.disconnect?.reason).toBe('error');
    expect(report.disconnect?.info).toContain('HTTP 401');
    await waitFor(() => hooks.slice(before).some((h) => h.record.session_id === client.sessionId), 'webhook', 15_000);
    const hook = hooks.find((h) => h.record.session_id === client.sessionId)!;
    expect(hook.record).toMatchObject({ end_reason: 'error', summary: { source: 'fallback' } });
  });

  it('model socket closed mid-call with a final code: completed with escalation (model_unavailable) and outputs', async () => {
    emulator.faults.onNextSession({ type: 'close', code: 1008, reason: 'policy violation', afterMs: 500 });
    const client = await call();
    client.streamAudio(silenceSource());
    const report = await client.waitForEnd(15_000);
    expect(report.disconnect?.reason).toBe('completed');
    expect(report.disconnect?.info).toContain('1008');
    expect(report.disconnect?.outputVariables).toMatchObject({ ESCALATION_REQUIRED: 'true', ESCALATION_REASON: 'model_unavailable' });
    client.assertNoViolations();
  });

  it('a connection probe opens no model session', async () => {
    const sessionsBefore = emulator.sessions.length;
    const client = await call({}, { probe: true });
    await new Promise((r) => setTimeout(r, 500));
    await client.close('end', 10_000);
    expect(emulator.sessions.length).toBe(sessionsBefore);
  });
});
