import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/bots/directory.js';
import { BotsFileError } from '../../src/bots/load.js';
import { ToolsConfigError } from '../../src/tools/env.js';
import { startOrdersMcpServer, type OrdersMcpServer } from '../../src/mcp-demo/orders-server.js';
import { systemClock } from '../../src/util/clock.js';
import { quietLogger, SETTINGS, waitFor } from '../tools/support.js';

const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function botsFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bots-'));
  dirs.push(dir);
  const file = join(dir, 'bots.yaml');
  writeFileSync(file, text);
  return file;
}

async function directory(file: string | undefined, env: Record<string, string> = {}) {
  const d = await BotDirectory.create({ ...(file ? { file } : {}), env, toolSettings: SETTINGS, clock: systemClock, logger: quietLogger });
  closers.push(() => d.close());
  return d;
}

describe('bot directory', () => {
  it('without BOTS_FILE routes every Connector ID to the one bot from env', async () => {
    const d = await directory(undefined);
    expect(d.hasProfiles).toBe(false);
    expect(d.route('anything')).toMatchObject({ ok: true, profile: undefined });
    expect(d.route('')).toMatchObject({ ok: true, profile: undefined });
  });

  it('routes by Connector ID, falls back to default, and refuses the rest', async () => {
    const withDefault = await directory(botsFile('default: sales\nbots:\n  sales: { voice: cedar }\n  support: { voice: marin }\n'));
    expect(withDefault.route('support')).toMatchObject({ ok: true, profile: { name: 'support' } });
    expect(withDefault.route('unknown')).toMatchObject({ ok: true, profile: { name: 'sales' } });
    expect(withDefault.route('')).toMatchObject({ ok: true, profile: { name: 'sales' } });

    const strict = await directory(botsFile('bots:\n  sales: { voice: cedar }\n'));
    expect(strict.route('sales')).toMatchObject({ ok: true, profile: { name: 'sales' } });
    expect(strict.route('crm')).toEqual({ ok: false, reason: 'no bot for this Connector ID' });
    expect(strict.route('')).toEqual({ ok: false, reason: 'no Connector ID and no default bot' });
  });

  it('stops start-up on a bad file, naming the file and the path', async () => {
    const file = botsFile('bots:\n  sales: { tools: [crm] }\n');
    await expect(directory(file)).rejects.toThrow(BotsFileError);
    await expect(directory(file)).rejects.toThrow(`invalid bots file ${file}:\n  - bots.sales.tools[0]: unknown tool "crm"`);
  });

  it('stops start-up on a Data Action without Genesys OAuth settings', async () => {
    const file = botsFile('bots:\n  sales: { tools: [lookup] }\ntools:\n  lookup: { type: genesys_data_action, action_id: custom_-_1 }\n');
    await expect(directory(file)).rejects.toThrow(ToolsConfigError);
  });

  it('reloads a good file, keeps the old one on a bad file, and live calls keep their profile', async () => {
    const file = botsFile('bots:\n  sales: { voice: cedar }\n');
    const d = await directory(file);
    const live = d.route('sales');
    expect(live).toMatchObject({ ok: true, profile: { voice: 'cedar' } });

    writeFileSync(file, 'bots:\n  sales: { voice: marin }\n  support: {}\n');
    expect(await d.reload()).toEqual({ ok: true, bots: 2 });
    expect(d.route('sales')).toMatchObject({ ok: true, profile: { voice: 'marin' } });
    expect(d.route('support').ok).toBe(true);
    expect(live).toMatchObject({ ok: true, profile: { voice: 'cedar' } });

    writeFileSync(file, 'bots:\n  sales: { voice: robot }\n');
    const bad = await d.reload();
    expect(bad.ok).toBe(false);
    expect(bad.ok === false && bad.error).toMatch(/^bots\.sales\.voice: must be one of/);
    expect(d.route('sales')).toMatchObject({ ok: true, profile: { voice: 'marin' } });
  });

  it('reloads on SIGHUP', async () => {
    const file = botsFile('bots:\n  sales: {}\n');
    const d = await directory(file);
    const stop = d.reloadOnSignal('SIGHUP');
    try {
      writeFileSync(file, 'bots:\n  sales: {}\n  billing: {}\n');
      process.kill(process.pid, 'SIGHUP');
      await waitFor(() => d.route('billing').ok, 5000, 'the reload');
    } finally {
      stop();
    }
  });

  it('hands a bot its MCP tools and keeps an unchanged MCP connection across a reload', async () => {
    const orders: OrdersMcpServer = await startOrdersMcpServer();
    closers.push(() => orders.close());
    const yaml = (extra: string) =>
      `bots:\n  sales: { tools: [orders] }\n  plain: {}\n${extra}tools:\n  orders: { type: mcp, url: "${orders.url}" }\n`;
    const file = botsFile(yaml(''));
    const d = await directory(file);
    const route = d.route('sales');
    if (!route.ok) throw new Error('not routed');
    const call = await route.tools.forCall({ bot: 'sales', toolNames: route.profile!.tools, logger: quietLogger });
    expect(call.definitions.map((t) => t.name)).toEqual(['get_order_status']);
    const source = d.tools.mcpSource('orders');

    writeFileSync(file, yaml('  extra: {}\n'));
    expect((await d.reload()).ok).toBe(true);
    expect(d.tools.mcpSource('orders')).toBe(source);
    // The call that started before the reload still runs its tool.
    const r = await call.execute('get_order_status', { order_id: '4471' });
    expect(JSON.parse(r.output)).toMatchObject({ ok: true, result: { status: 'shipped' } });
    call.release();
  });

  it('refreshes tools on list_changed', async () => {
    const orders = await startOrdersMcpServer();
    closers.push(() => orders.close());
    const d = await directory(botsFile(`bots:\n  sales: { tools: [orders] }\ntools:\n  orders: { type: mcp, url: "${orders.url}" }\n`));
    orders.addTool('get_opening_hours', 'Opening hours of the shop', 'Mon–Fri 9–17');
    await waitFor(() => d.tools.mcpSource('orders')!.tools().length === 2, 5000, 'the tools/list_changed refresh');
    const route = d.route('sales');
    if (!route.ok) throw new Error('not routed');
    const call = await route.tools.forCall({ bot: 'sales', toolNames: ['orders'], logger: quietLogger });
    expect(call.definitions.map((t) => t.name).sort()).toEqual(['get_opening_hours', 'get_order_status']);
    expect(JSON.parse((await call.execute('get_opening_hours', {})).output).result).toBe('Mon–Fri 9–17');
    call.release();
  });
});
