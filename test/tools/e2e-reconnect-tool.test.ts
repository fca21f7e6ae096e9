/**
 * A whole call through the production composition (serve + BOTS_FILE ↔ Realtime emulator, the strict
 * Genesys simulator): the caller SPEAKS, the model answers with a slow tool call (no words), the model
 * socket drops while the tool runs. The new session must be asked for exactly one reply, the one that
 * carries the result: the caller's turn looks unanswered in the transcript, which once made the reconnect
 * ask for a reply of its own as well (two bot replies). The holding phrase is set far off (10 s) so it cannot
 * hide the unanswered turn.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/bridge/webhook.js';
import { serve, type Service } from '../../src/cli/serve.js';
import { parseEnv } from '../../src/cli/env.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import type { CallScript } from '../../src/emulator/script.js';
import { createLogger } from '../../src/log/logger.js';
import { ulawSource } from '../../src/simulator/audio-source.js';
import { createSimulatedCall, type GenesysClient } from '../../src/simulator/genesys-client.js';
import { waitFor } from './support.js';

const API_KEY = 'e2e-reconnect-tool-key-0123456789';
const logger = createLogger('silent');
const hello = readFileSync('fixtures/caller/hello.ulaw');

const SCRIPT: CallScript = {
  name: 'reconnect-during-tool',
  greeting: { audio: { toneMs: 400 }, transcript: 'Hello, Acme refunds.' },
  turns: [{ transcript: 'Where is my refund?', toolCall: { name: 'held_refund', arguments: { order_id: '5121' } } }],
  textCues: [
    {
      pattern: '"held_refund".*approved',
      role: 'system',
      reply: { audio: { toneMs: 800 }, transcript: 'Your refund is approved, sorry for the wait.' },
    },
  ],
  fallback: { audio: { toneMs: 600 }, transcript: 'Sorry, could you repeat that?' },
};

let emulator: Emulator;
let backend: Server;
let webhook: Server;
let service: Service;
const hooks: CallRecord[] = [];
const clients: GenesysClient[] = [];
const heldRefunds: ServerResponse[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ script: SCRIPT, speed: 'instant', logger });
  backend = createServer((req, res) => {
    req.resume();
    req.on('end', () => heldRefunds.push(res));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as CallRecord);
      res.end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const botsFile = join(mkdtempSync(join(tmpdir(), 'bots-')), 'bots.yaml');
  writeFileSync(
    botsFile,
    `bots:
  sales:
    tools: [held_refund]
tools:
  held_refund:
    type: http
    url: "http://127.0.0.1:${(backend.address() as AddressInfo).port}/held"
    description: "Status of a refund (slow)"
    parameters: { type: object, properties: { order_id: { type: string } }, required: [order_id] }
`,
  );
  service = await serve(
    parseEnv({
      GENESYS_API_KEY: API_KEY,
      OPENAI_API_KEY: 'sk-emulator',
      OPENAI_BASE_URL: emulator.baseURL,
      REALTIME_CA_FILE: emulator.caPath,
      PORT: '0',
      HOST: '127.0.0.1',
      SUMMARY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`,
      BOTS_FILE: botsFile,
      TOOL_FILLER_AFTER_MS: '10000',
    }),
    { logger, handleSignals: false },
  );
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.terminate();
  for (const r of heldRefunds) r.destroy();
  await service?.server.stop(0);
  await emulator?.close();
  backend?.closeAllConnections();
  await new Promise<void>((r) => backend?.close(() => r()));
  await new Promise<void>((r) => webhook?.close(() => r()));
});

describe('a model reconnect while a tool runs, end to end', () => {
  it('the caller asked by voice; after the drop the new session is asked for one reply, the one with the result', async () => {
    const client = await createSimulatedCall({ url: `ws://127.0.0.1:${service.server.port}/audiohook/sales`, apiKey: API_KEY });
    clients.push(client);
    const first = await emulator.waitForSession(0);
    await client.waitForServerAudio(400 * 8, 10_000);
    client.streamAudio(ulawSource(hello, { thenSilence: true }));
    await waitFor(() => heldRefunds.length === 1, 15_000, 'the slow tool running');
    // The model answered the caller with the tool call only: no words.
    expect(first.conversation.filter((e) => e.role === 'assistant' && (e.text ?? '') !== '' && !(e.text ?? '').startsWith('Hello'))).toEqual([]);
    emulator.faults.inject(first.id, { type: 'close', code: 1011 });
    const second = await emulator.waitForSession(1);
    await waitFor(() => second.conversation.some((e) => e.role === 'system'), 10_000, 'the replay into the new session');
    await waitFor(() => second.clientEvents.some((e) => e.type === 'input_audio_buffer.append'), 10_000, 'caller audio in the new session');
    const requestsBeforeResult = second.clientEvents.filter((e) => e.type === 'response.create').length;
    const audioBefore = client.session.receivedAudioBytes;
    heldRefunds.shift()!.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"approved"}');
    await waitFor(() => second.conversation.some((e) => e.role === 'assistant' && e.text === 'Your refund is approved, sorry for the wait.'), 10_000, 'the reply');
    await client.waitForServerAudio(audioBefore + 800 * 8, 10_000);
    // Let a second reply, if one were queued, be asked for and spoken.
    await new Promise((r) => setTimeout(r, 500));
    const replies = second.conversation.filter((e) => e.role === 'assistant' && (e.text ?? '') !== '').map((e) => e.text);
    expect({ requestsBeforeResult, requests: second.clientEvents.filter((e) => e.type === 'response.create').length, replies }).toEqual({
      requestsBeforeResult: 0,
      requests: 1,
      replies: ['Your refund is approved, sorry for the wait.'],
    });
    expect(second.errors).toEqual([]);
    await client.close();
    client.assertNoViolations();
  }, 40_000);
});
