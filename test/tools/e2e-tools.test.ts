/**
 * Whole calls with tools through the production composition (serve + BOTS_FILE): the strict Genesys
 * simulator ↔ server ↔ bridge ↔ Realtime emulator, the bot's tools on real loopback servers (an MCP server
 * built with the official SDK, a slow HTTP endpoint). The emulated model calls the tools from keypad cues.
 */
import { createServer, type Server } from 'node:http';
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
import type { EmulatorSessionRecord } from '../../src/emulator/session.js';
import { createLogger } from '../../src/log/logger.js';
import { startOrdersMcpServer, type OrdersMcpServer } from '../../src/mcp-demo/orders-server.js';
import { createSimulatedCall, type GenesysClient } from '../../src/simulator/genesys-client.js';
import { waitFor } from './support.js';

const API_KEY = 'e2e-tools-api-key-0123456789';
const logger = createLogger('silent');

const SCRIPT: CallScript = {
  name: 'tools-e2e',
  greeting: { audio: { toneMs: 600 }, transcript: 'Hello, Acme orders.' },
  turns: [],
  textCues: [
    {
      pattern: 'keypad digits: 4471$',
      toolCall: { name: 'get_order_status', arguments: { order_id: '4471' } },
      followUp: { audio: { toneMs: 800 }, transcript: 'Order {{output.result.order_id}} is {{output.result.status}}.' },
    },
    {
      pattern: 'keypad digits: 7$',
      toolCall: { name: 'refund_status', arguments: { order_id: '5120' } },
      followUp: { audio: { toneMs: 800 }, transcript: 'Your refund is {{output.result.status}}.' },
    },
  ],
  fallback: { audio: { toneMs: 300 }, transcript: 'Sorry?' },
};

let emulator: Emulator;
let orders: OrdersMcpServer;
let backend: Server;
let webhook: Server;
let service: Service;
const hooks: CallRecord[] = [];
const clients: GenesysClient[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ script: SCRIPT, speed: 'instant', logger });
  orders = await startOrdersMcpServer();
  backend = createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"approved"}'), 1500));
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
  const dir = mkdtempSync(join(tmpdir(), 'bots-'));
  const botsFile = join(dir, 'bots.yaml');
  writeFileSync(
    botsFile,
    `bots:
  sales:
    instructions: "You are Ava of Acme."
    tools: [orders, refund_status]
tools:
  orders: { type: mcp, url: "${orders.url}" }
  refund_status:
    type: http
    url: "http://127.0.0.1:${(backend.address() as AddressInfo).port}/refunds"
    description: "Status of a refund"
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
      TOOL_FILLER_AFTER_MS: '400',
    }),
    { logger, handleSignals: false },
  );
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.terminate();
  await service?.server.stop(0);
  await emulator?.close();
  await orders?.close();
  backend?.closeAllConnections();
  await new Promise<void>((r) => backend?.close(() => r()));
  await new Promise<void>((r) => webhook?.close(() => r()));
});

async function call(): Promise<GenesysClient> {
  const client = await createSimulatedCall({ url: `ws://127.0.0.1:${service.server.port}/audiohook/sales`, apiKey: API_KEY });
  clients.push(client);
  return client;
}

async function recordOf(client: GenesysClient): Promise<CallRecord> {
  await waitFor(() => hooks.some((h) => h.session_id === client.sessionId), 15_000, 'the webhook record');
  return hooks.find((h) => h.session_id === client.sessionId)!;
}

/** The function_call_output items the emulated model received, parsed. */
const outputsSent = (session: EmulatorSessionRecord) =>
  session.conversation.filter((e) => e.type === 'function_call_output').map((e) => JSON.parse(e.text ?? 'null') as unknown);

describe('whole calls with tools', () => {
  it('the model looks an order up through MCP and speaks the result; the record lists the call', async () => {
    const sessionsBefore = emulator.sessions.length;
    const client = await call();
    await client.waitForServerAudio(3200, 10_000);
    client.sendDtmf('4471#');
    const session = await emulator.waitForSession(sessionsBefore);
    await waitFor(() => outputsSent(session).length === 1, 10_000, 'the tool output at the model');
    expect(outputsSent(session)[0]).toMatchObject({ ok: true, result: { order_id: '4471', status: 'shipped' } });
    expect((session.config as unknown as { tools: Array<{ name: string }> }).tools.map((t) => t.name)).toEqual([
      'end_call',
      'transfer_to_agent',
      'get_order_status',
      'refund_status',
    ]);
    await waitFor(() => session.clientEvents.filter((e) => e.type === 'response.create').length >= 3, 10_000, 'the reply after the tool');
    await client.waitForServerAudio(6400, 10_000);
    await client.close();
    const record = await recordOf(client);
    expect(record.bot).toBe('sales');
    expect(record.tools).toEqual([expect.objectContaining({ tool: 'get_order_status', bot: 'sales', outcome: 'ok' })]);
    expect(record.transcript.map((t) => t.text)).toContain('Order 4471 is shipped.');
  }, 40_000);

  it('a slow tool gets a holding phrase, then the result is spoken', async () => {
    const sessionsBefore = emulator.sessions.length;
    const client = await call();
    await client.waitForServerAudio(3200, 10_000);
    client.sendDtmf('7#');
    const session = await emulator.waitForSession(sessionsBefore);
    await waitFor(() => outputsSent(session).length === 1, 10_000, 'the slow tool output');
    await waitFor(() => session.clientEvents.filter((e) => e.type === 'response.create').length >= 4, 10_000, 'the reply after the tool');
    await client.waitForServerAudio(9600, 10_000);
    await client.close();
    const record = await recordOf(client);
    const texts = record.transcript.map((t) => t.text);
    expect(texts).toContain('One moment while I check that.');
    expect(texts).toContain('Your refund is approved.');
    expect(record.tools).toEqual([expect.objectContaining({ tool: 'refund_status', outcome: 'ok' })]);
  }, 40_000);

  it('refuses a Connector ID that has no bot with 404', async () => {
    await expect(createSimulatedCall({ url: `ws://127.0.0.1:${service.server.port}/audiohook/crm`, apiKey: API_KEY })).rejects.toThrow(/404/);
  });
});
