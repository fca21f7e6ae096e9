/**
 * MCP tools/list_changed and calls: a live call keeps the tool list it started with (no session.update
 * mid-call; a tool that appeared is not callable there, one that vanished fails as a structured error),
 * while a call started after the change gets the new list in its session.update. docs/BOTS.md §2.1.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/bots/directory.js';
import { startOrdersMcpServer, type OrdersMcpServer } from '../../src/mcp-demo/orders-server.js';
import { systemClock } from '../../src/util/clock.js';
import { makeReady, responseDone, startCall, type Harness } from '../bridge/harness.js';
import { quietLogger, SETTINGS, waitFor } from './support.js';

let orders: OrdersMcpServer;
let bots: BotDirectory;

beforeAll(async () => {
  orders = await startOrdersMcpServer();
  const file = join(mkdtempSync(join(tmpdir(), 'bots-')), 'bots.yaml');
  writeFileSync(file, `bots:\n  bot:\n    tools: [orders]\ntools:\n  orders: { type: mcp, url: "${orders.url}" }\n`);
  bots = await BotDirectory.create({ file, env: {}, toolSettings: SETTINGS, clock: systemClock, logger: quietLogger });
  await waitFor(() => bots.tools.mcpSource('orders')!.tools().length === 1, 5000, 'the MCP tools listed');
});

afterAll(async () => {
  await bots?.close();
  await orders?.close();
});

async function readyCall(): Promise<Harness> {
  const h = startCall({ deps: { bots } });
  await waitFor(() => h.connects > 0, 5000, 'the model connection');
  await makeReady(h);
  return h;
}

const sent = (h: Harness, type: string) => h.model.sent.filter((e) => e.type === type) as Array<Record<string, any>>;
const toolNames = (update: Record<string, any>) => (update.session.tools ?? []).map((t: { name: string }) => t.name);

describe('MCP list_changed and calls', () => {
  it('a live call keeps its tool list; a call started after the change gets the new one', async () => {
    const live = await readyCall();
    expect(toolNames(sent(live, 'session.update')[0]!)).toEqual(['end_call', 'transfer_to_agent', 'get_order_status']);

    orders.addTool('get_opening_hours', 'Opening hours of the shop', 'Mon–Fri 9–17');
    await waitFor(() => bots.tools.mcpSource('orders')!.tools().length === 2, 5000, 'the tools/list_changed refresh');

    // No session.update carrying tools went to the live call, and the new tool is not callable there.
    expect(sent(live, 'session.update').filter((u) => u.session.tools !== undefined)).toHaveLength(1);
    live.model.emit({ type: 'response.created', response: { id: 'resp_1', status: 'in_progress', metadata: null } });
    live.model.emit({ type: 'response.function_call_arguments.done', response_id: 'resp_1', item_id: 'item_1', output_index: 0, call_id: 'call_1', name: 'get_opening_hours', arguments: '{}' });
    responseDone(live, 'resp_1');
    await waitFor(() => sent(live, 'conversation.item.create').some((e) => e.item.type === 'function_call_output'), 5000, 'the answer to the call');
    const output = sent(live, 'conversation.item.create').find((e) => e.item.type === 'function_call_output')!;
    expect(JSON.parse(output.item.output).error).toMatch(/unknown tool get_opening_hours/);

    const later = await readyCall();
    expect(toolNames(sent(later, 'session.update')[0]!)).toEqual(['end_call', 'transfer_to_agent', 'get_order_status', 'get_opening_hours']);

    live.handler.onClose({ kind: 'close', reason: 'end' });
    later.handler.onClose({ kind: 'close', reason: 'end' });
  });
});
