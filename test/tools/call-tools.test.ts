/**
 * Tools inside a call (CallBridge + ModelSession with a scripted model): the functions in session.update,
 * a call through MCP, a slow tool with the holding phrase, a failing tool, barge-in and hang-up during a
 * tool, and the record. Tool back ends are real servers on 127.0.0.1.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/bots/directory.js';
import type { CallEvent } from '../../src/bridge/call-events.js';
import { startOrdersMcpServer, type OrdersMcpServer } from '../../src/mcp-demo/orders-server.js';
import { FILLER_PURPOSE } from '../../src/tools/tool-turns.js';
import { systemClock } from '../../src/util/clock.js';
import { flush, makeReady, responseDone, startCall, summaryDone, type Harness } from '../bridge/harness.js';
import { quietLogger, SETTINGS, waitFor } from './support.js';

let orders: OrdersMcpServer;
let backend: Server;
let base = '';
const held: ServerResponse[] = [];
let backendRequests = 0;
let bots: BotDirectory;

beforeAll(async () => {
  orders = await startOrdersMcpServer();
  backend = createServer((req, res) => {
    req.resume();
    backendRequests++;
    req.on('end', () => {
      if (req.url === '/slow') held.push(res);
      else res.writeHead(500).end('boom');
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'bots-'));
  const file = join(dir, 'bots.yaml');
  writeFileSync(
    file,
    `bots:
  bot:
    instructions: "You are Ava of Acme."
    language: de-DE
    tools: [orders, refund_status, broken]
tools:
  orders: { type: mcp, url: "${orders.url}" }
  refund_status: { type: http, url: "${base}/slow", description: "Refund status" }
  broken: { type: http, url: "${base}/broken", description: "Always fails" }
`,
  );
  bots = await BotDirectory.create({ file, env: {}, toolSettings: SETTINGS, clock: systemClock, logger: quietLogger });
});

afterAll(async () => {
  for (const res of held) res.destroy();
  await bots?.close();
  await orders?.close();
  backend?.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
});

function call(): { h: Harness; events: CallEvent[] } {
  const events: CallEvent[] = [];
  const h = startCall({ deps: { bots, events: { onCallEvent: (e) => events.push(e) } } });
  return { h, events };
}

async function ready(h: Harness): Promise<void> {
  // The call's tools are resolved before the model session is created.
  await waitFor(() => h.connects > 0, 5000, 'the model connection');
  await makeReady(h);
}

async function hangUp(h: Harness): Promise<void> {
  h.handler.onClose({ kind: 'close', reason: 'end' });
  await flush();
  summaryDone(h, '{"summary":"Order status.","sentiment":"neutral","resolved":true,"follow_ups":[]}');
  await h.factory.drain();
  expect(h.records).toHaveLength(1);
}

const sentOfType = (h: Harness, type: string) => h.model.sent.filter((e) => e.type === type) as Array<Record<string, any>>;

function modelCallsTool(h: Harness, responseId: string, callId: string, name: string, args: unknown, status = 'completed'): void {
  h.model.emit({ type: 'response.created', response: { id: responseId, status: 'in_progress', metadata: null } });
  h.model.emit({ type: 'response.function_call_arguments.done', response_id: responseId, item_id: `item_${callId}`, output_index: 0, call_id: callId, name, arguments: JSON.stringify(args) });
  responseDone(h, responseId, { status });
}

const toolOutputs = (h: Harness) =>
  sentOfType(h, 'conversation.item.create').filter((e) => e.item.type === 'function_call_output').map((e) => ({ callId: e.item.call_id, output: JSON.parse(e.item.output) }));

describe('tools in a call', () => {
  it("lists the bot's tools in session.update after the call-control tools", async () => {
    const { h, events } = call();
    await ready(h);
    const update = sentOfType(h, 'session.update')[0]!;
    expect(update.session.tools.map((t: { name: string }) => t.name)).toEqual(['end_call', 'transfer_to_agent', 'get_order_status', 'refund_status', 'broken']);
    expect(events.find((e) => e.type === 'call.started')).toMatchObject({ bot: 'bot' });
    h.handler.onClose({ kind: 'close', reason: 'end' });
  });

  it('a bot without Data Actions starts at once: caller audio sent right after open is kept', async () => {
    const { h } = call();
    h.handler.onAudio!(new Uint8Array(1600).fill(7), 0);
    await makeReady(h);
    expect(h.model.ofType('input_audio_buffer.append').map((a) => Buffer.from(a.audio, 'base64')[0])).toEqual([7]);
    h.handler.onClose({ kind: 'close', reason: 'end' });
  });

  it('runs an MCP tool, returns the result, then asks for the reply; the record lists it', async () => {
    const { h, events } = call();
    await ready(h);
    const repliesBefore = sentOfType(h, 'response.create').length;
    modelCallsTool(h, 'resp_1', 'call_1', 'get_order_status', { order_id: '4471' });
    await waitFor(() => toolOutputs(h).length === 1, 5000, 'the tool output');
    expect(toolOutputs(h)[0]).toEqual({ callId: 'call_1', output: { ok: true, result: { order_id: '4471', status: 'shipped', eta: 'Thursday', items: ['espresso machine'] } } });
    await flush();
    expect(sentOfType(h, 'response.create').length).toBe(repliesBefore + 1);
    expect(events.filter((e) => e.type.startsWith('tool.')).map((e) => e.type)).toEqual(['tool.started', 'tool.finished']);
    expect(events.find((e) => e.type === 'tool.finished')).toMatchObject({ name: 'get_order_status', outcome: 'ok' });
    await hangUp(h);
    expect(h.records[0]!.record.bot).toBe('bot');
    expect(h.records[0]!.record.tools).toEqual([expect.objectContaining({ tool: 'get_order_status', bot: 'bot', outcome: 'ok' })]);
    expect(h.records[0]!.record.tools![0]).not.toHaveProperty('arguments');
  });

  it('says a holding phrase in the call language when a tool is slow, then replies with the result', async () => {
    const { h } = call();
    await ready(h);
    modelCallsTool(h, 'resp_1', 'call_slow', 'refund_status', {});
    await waitFor(() => held.length === 1, 5000, 'the slow request');
    h.clock.advance(1200);
    const filler = sentOfType(h, 'response.create').find((e) => e.response?.metadata?.purpose === FILLER_PURPOSE);
    expect(filler?.response.instructions).toContain('in de-DE');
    expect(filler?.response.tool_choice).toBe('none');
    responseDone(h, 'resp_filler', { metadata: { purpose: FILLER_PURPOSE } });
    held.shift()!.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"approved"}');
    await waitFor(() => toolOutputs(h).length === 1, 5000, 'the tool output');
    expect(toolOutputs(h)[0]!.output).toEqual({ ok: true, result: { status: 'approved' } });
    h.handler.onClose({ kind: 'close', reason: 'end' });
  });

  it('gives a failing tool back as an error result and the conversation goes on', async () => {
    const { h } = call();
    await ready(h);
    const before = sentOfType(h, 'response.create').length;
    modelCallsTool(h, 'resp_1', 'call_b', 'broken', {});
    await waitFor(() => toolOutputs(h).length === 1, 5000, 'the tool output');
    expect(toolOutputs(h)[0]!.output).toMatchObject({ ok: false, error: { code: 'unknown_outcome' } });
    await flush();
    expect(sentOfType(h, 'response.create').length).toBe(before + 1);
    expect(h.control.disconnects ?? []).toEqual([]);
    h.handler.onClose({ kind: 'close', reason: 'end' });
  });

  it('a barge-in during a tool keeps it running; its result still goes back', async () => {
    const { h } = call();
    await ready(h);
    modelCallsTool(h, 'resp_1', 'call_bi', 'refund_status', {});
    await waitFor(() => held.length === 1, 5000, 'the slow request');
    h.model.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 100, item_id: 'in_1' });
    h.model.emit({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: 900, item_id: 'in_1' });
    held.shift()!.writeHead(200).end('{"status":"pending"}');
    await waitFor(() => toolOutputs(h).length === 1, 5000, 'the tool output');
    expect(toolOutputs(h)[0]!.output.result).toEqual({ status: 'pending' });
    h.handler.onClose({ kind: 'close', reason: 'end' });
  });

  it('never runs a tool call of a response the caller interrupted', async () => {
    const { h, events } = call();
    await ready(h);
    const before = backendRequests;
    modelCallsTool(h, 'resp_1', 'call_x', 'broken', {}, 'cancelled');
    await new Promise((r) => setTimeout(r, 200));
    expect(backendRequests).toBe(before);
    expect(toolOutputs(h)).toEqual([]);
    expect(events.some((e) => e.type === 'tool.started')).toBe(false);
    await hangUp(h);
    expect(h.records[0]!.record.tools).toEqual([]);
  });

  it('a hang-up during a tool cancels it: no output is sent and the record says cancelled', async () => {
    const { h, events } = call();
    await ready(h);
    modelCallsTool(h, 'resp_1', 'call_hu', 'refund_status', {});
    await waitFor(() => held.length === 1, 5000, 'the slow request');
    await hangUp(h);
    expect(h.records[0]!.record.tools).toEqual([expect.objectContaining({ tool: 'refund_status', outcome: 'cancelled' })]);
    expect(toolOutputs(h)).toEqual([]);
    expect(events.find((e) => e.type === 'tool.finished')).toMatchObject({ outcome: 'cancelled' });
    held.shift()?.destroy();
  });
});
