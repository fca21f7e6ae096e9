/**
 * MCP tools against the real third-party server `@modelcontextprotocol/server-everything` (Streamable HTTP,
 * 127.0.0.1). Fails loudly when the server cannot be started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolRegistry } from '../../src/tools/registry.js';
import { startEverythingServer, type EverythingServer } from '../support/mcp-everything.js';
import { freePort, quietLogger, recordingMetrics, registry, waitFor } from './support.js';

let everything: EverythingServer;
let tools: ToolRegistry;
const rec = recordingMetrics();

beforeAll(async () => {
  everything = await startEverythingServer();
  tools = registry({ everything: { type: 'mcp', url: everything.url, redact: ['humidity'] } }, { metrics: rec.metrics });
  await tools.start();
}, 30_000);

afterAll(async () => {
  await tools?.close();
  await everything?.stop();
});

const call = () => tools.forCall({ bot: 'sales', toolNames: ['everything'], logger: quietLogger });

describe('MCP tools from server-everything', () => {
  it('runs on loopback only', () => {
    expect(everything.host).toBe('127.0.0.1');
  });

  it('lists the server tools as Realtime functions with cleaned schemas', async () => {
    expect(tools.mcpSource('everything')!.state).toBe('up');
    const c = await call();
    const names = c.definitions.map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum', 'get-structured-content', 'trigger-long-running-operation']));
    for (const d of c.definitions) {
      expect(d.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      expect(d.parameters).toMatchObject({ type: 'object', properties: expect.any(Object) });
      expect(JSON.stringify(d.parameters)).not.toContain('$schema');
    }
    const echo = c.definitions.find((d) => d.name === 'echo')!;
    expect(echo.parameters).toEqual({
      type: 'object',
      properties: { message: { type: 'string', description: 'Message to echo' } },
      required: ['message'],
    });
    c.release();
  });

  it('calls tools and returns their text', async () => {
    const c = await call();
    const echo = await c.execute('echo', '{"message":"hi"}');
    expect(echo.outcome).toBe('ok');
    expect(JSON.parse(echo.output)).toEqual({ ok: true, result: 'Echo: hi' });
    const sum = await c.execute('get-sum', { a: 2, b: 3 });
    expect(JSON.parse(sum.output).result).toContain('5');
    expect(c.records.map((r) => [r.tool, r.bot, r.outcome])).toEqual([
      ['echo', 'sales', 'ok'],
      ['get-sum', 'sales', 'ok'],
    ]);
    expect(c.records[0]).not.toHaveProperty('arguments');
    expect(rec.calls).toEqual(expect.arrayContaining([{ tool: 'echo', outcome: 'ok' }]));
    c.release();
  });

  it('returns structured content, redacted', async () => {
    const c = await call();
    const r = await c.execute('get-structured-content', { location: 'Chicago' });
    expect(r.outcome).toBe('ok');
    expect(JSON.parse(r.output).result).toEqual({ temperature: 36, conditions: 'Light rain / drizzle', humidity: '[redacted]' });
    c.release();
  });

  it('gives isError results back as errors', async () => {
    const c = await call();
    const r = await c.execute('echo', {});
    expect(r.outcome).toBe('error');
    expect(r.errorCode).toBe('tool_error');
    const parsed = JSON.parse(r.output);
    expect(parsed.ok).toBe(false);
    expect(parsed.error.code).toBe('tool_error');
    c.release();
  });

  it('times out a slow tool with a structured result, quickly', async () => {
    const c = await call();
    const started = Date.now();
    const r = await c.execute('trigger-long-running-operation', { duration: 10, steps: 5 }, { timeoutMs: 600 });
    expect(r.outcome).toBe('timeout');
    expect(JSON.parse(r.output).error.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(3000);
    // The shared connection still works afterwards.
    expect((await c.execute('echo', { message: 'again' })).outcome).toBe('ok');
    c.release();
  });

  it('cancels a pending tool when the call ends (hang-up)', async () => {
    const c = await call();
    const pending = c.execute('trigger-long-running-operation', { duration: 10, steps: 5 });
    await new Promise((r) => setTimeout(r, 200));
    c.release();
    const r = await pending;
    expect(r.outcome).toBe('cancelled');
    expect(c.records.at(-1)).toMatchObject({ tool: 'trigger-long-running-operation', outcome: 'cancelled' });
  });

  it('keeps only `include`d tools', async () => {
    const only = registry({ e: { type: 'mcp', url: everything.url, include: ['get-sum'], prefix: 'calc_' } });
    await only.start();
    const c = await only.forCall({ bot: 'x', toolNames: ['e'], logger: quietLogger });
    expect(c.definitions.map((d) => d.name)).toEqual(['calc_get-sum']);
    expect(JSON.parse((await c.execute('calc_get-sum', { a: 1, b: 1 })).output).ok).toBe(true);
    c.release();
    await only.close();
  });
});

describe('an MCP server down at start-up', () => {
  it('does not fail start-up, counts the failure, and brings its tools once the server is up', async () => {
    const port = await freePort();
    const metrics = recordingMetrics();
    const late = registry({ later: { type: 'mcp', url: `http://127.0.0.1:${port}/mcp` } }, { metrics: metrics.metrics });
    await late.start();
    expect(late.mcpSource('later')!.state).toBe('down');
    expect(metrics.failures).toEqual(['later']);
    const before = await late.forCall({ bot: 'b', toolNames: ['later'], logger: quietLogger });
    expect(before.definitions).toEqual([]);
    expect(JSON.parse((await before.execute('echo', { message: 'x' })).output).error.code).toBe('unknown_tool');
    before.release();

    const server = await startEverythingServer(port);
    try {
      await waitFor(() => late.mcpSource('later')!.state === 'up', 15_000, 'the MCP server to be reconnected');
      const after = await late.forCall({ bot: 'b', toolNames: ['later'], logger: quietLogger });
      expect(after.definitions.map((d) => d.name)).toContain('echo');
      after.release();
    } finally {
      await late.close();
      await server.stop();
    }
  }, 30_000);
});

describe('an MCP server that restarts', () => {
  it('turns the lost session into an error result and reconnects for later calls', async () => {
    const port = await freePort();
    let server = await startEverythingServer(port);
    const reg = registry({ e: { type: 'mcp', url: server.url } });
    try {
      await reg.start();
      const c = await reg.forCall({ bot: 'b', toolNames: ['e'], logger: quietLogger });
      expect((await c.execute('echo', { message: 'one' })).outcome).toBe('ok');
      await server.stop();
      server = await startEverythingServer(port);
      const lost = await c.execute('echo', { message: 'two' });
      expect(lost.outcome).toBe('error');
      expect(['unavailable', 'unknown_outcome']).toContain(lost.errorCode);
      await waitFor(() => reg.mcpSource('e')!.state === 'up', 15_000, 'the reconnect');
      expect((await c.execute('echo', { message: 'three' })).outcome).toBe('ok');
      c.release();
    } finally {
      await reg.close();
      await server.stop();
    }
  }, 40_000);
});
