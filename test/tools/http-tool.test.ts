/** HTTP tools and the executor's bounds (cap, arguments, redaction, output size, cancellation). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody, verifyWebhookSignature } from '../../src/bridge/webhook.js';
import { freePort, quietLogger, registry } from './support.js';

type Seen = { path: string; headers: IncomingMessage['headers']; body: string };
const seen: Seen[] = [];
let server: Server;
let base = '';

const routes: Record<string, (body: unknown, res: ServerResponse) => void> = {
  '/refunds': (body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ refund_id: 'R-1', order: body, card_number: '4111111111111111', items: [{ card_number: 'x', sku: 'a' }] }));
  },
  '/redirect': (_b, res) => res.writeHead(302, { location: `${base}/refunds` }).end(),
  '/huge': (_b, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('x'.repeat(400 * 1024));
  },
  '/long': (_b, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ text: 'y'.repeat(10_000) }));
  },
  '/fail': (_b, res) => res.writeHead(503).end('Traceback (most recent call last)'),
  '/slow': (_b, res) => {
    setTimeout(() => res.writeHead(200).end('{}'), 3000);
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ path: req.url ?? '', headers: req.headers, body });
      const route = routes[req.url ?? ''];
      if (!route) return res.writeHead(404).end();
      route(body === '' ? undefined : JSON.parse(body), res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const SECRET = 'a-refund-hook-secret-0123';
const params = { type: 'object' as const, properties: { order_id: { type: 'string' } }, required: ['order_id'] };
const tool = (path: string, extra: Record<string, unknown> = {}) => ({
  type: 'http' as const,
  url: `${base}${path}`,
  description: `POST ${path}`,
  parameters: params,
  ...extra,
});

describe('HTTP tools', () => {
  it('POSTs the arguments as signed JSON with an idempotency key, and redacts the answer at any depth', async () => {
    const reg = registry({ refund: tool('/refunds', { secret: SECRET, redact: ['card_number'] }) });
    const c = await reg.forCall({ bot: 'sales', toolNames: ['refund'], logger: quietLogger });
    expect(c.definitions).toEqual([{ type: 'function', name: 'refund', description: 'POST /refunds', parameters: params }]);
    const r = await c.execute('refund', '{"order_id":"4471"}', { toolCallId: 'call_abc' });
    expect(r.outcome).toBe('ok');
    expect(JSON.parse(r.output).result).toEqual({
      refund_id: 'R-1',
      order: { order_id: '4471' },
      card_number: '[redacted]',
      items: [{ card_number: '[redacted]', sku: 'a' }],
    });
    const request = seen.at(-1)!;
    expect(request.body).toBe('{"order_id":"4471"}');
    expect(request.headers['content-type']).toBe('application/json');
    const timestamp = request.headers['x-signature-timestamp'] as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(request.headers['x-signature']).toBe(signBody(request.body, SECRET, timestamp));
    // The receiver's check of the summary webhook accepts it as is: one scheme for both.
    expect(
      verifyWebhookSignature({ body: request.body, signature: request.headers['x-signature'] as string, timestamp, secret: SECRET, nowMs: Date.now() }),
    ).toEqual({ ok: true });
    expect(request.headers['idempotency-key']).toBe('call_abc');
    c.release();
  });

  it('does not follow redirects', async () => {
    const reg = registry({ hop: tool('/redirect') });
    const c = await reg.forCall({ bot: 'b', toolNames: ['hop'], logger: quietLogger });
    const before = seen.length;
    const r = await c.execute('hop', { order_id: '1' });
    expect(r.errorCode).toBe('tool_error');
    expect(seen.slice(before).map((s) => s.path)).toEqual(['/redirect']);
    c.release();
  });

  it('refuses an oversized response body and cuts long output', async () => {
    const reg = registry({ huge: tool('/huge'), long: tool('/long') }, { settings: { maxOutputChars: 500 } });
    const c = await reg.forCall({ bot: 'b', toolNames: ['huge', 'long'], logger: quietLogger });
    expect((await c.execute('huge', { order_id: '1' })).errorCode).toBe('tool_error');
    const long = await c.execute('long', { order_id: '1' });
    expect(long.outcome).toBe('ok');
    expect(long.output.length).toBeLessThanOrEqual(500);
    expect(JSON.parse(long.output)).toMatchObject({ ok: true, truncated: true });
    c.release();
  });

  it('turns a 5xx into an error result without upstream text', async () => {
    const reg = registry({ fail: tool('/fail') });
    const c = await reg.forCall({ bot: 'b', toolNames: ['fail'], logger: quietLogger });
    const r = await c.execute('fail', { order_id: '1' });
    expect(r.errorCode).toBe('unknown_outcome');
    expect(r.output).not.toContain('Traceback');
    c.release();
  });

  it('reports an unreachable endpoint as unavailable', async () => {
    const port = await freePort();
    const reg = registry({ gone: { type: 'http', url: `http://127.0.0.1:${port}/x`, description: 'gone' } });
    const c = await reg.forCall({ bot: 'b', toolNames: ['gone'], logger: quietLogger });
    expect((await c.execute('gone', {})).errorCode).toBe('unavailable');
    c.release();
  });
});

describe('the executor', () => {
  it('caps tool calls per call', async () => {
    const reg = registry({ refund: tool('/refunds') }, { settings: { maxCallsPerCall: 2 } });
    const c = await reg.forCall({ bot: 'b', toolNames: ['refund'], logger: quietLogger });
    expect((await c.execute('refund', { order_id: '1' })).outcome).toBe('ok');
    expect((await c.execute('refund', { order_id: '2' })).outcome).toBe('ok');
    const third = await c.execute('refund', { order_id: '3' });
    expect(third.outcome).toBe('limited');
    expect(JSON.parse(third.output).error.code).toBe('call_limit_reached');
    // Another call has its own budget.
    const other = await reg.forCall({ bot: 'b', toolNames: ['refund'], logger: quietLogger });
    expect((await other.execute('refund', { order_id: '4' })).outcome).toBe('ok');
    c.release();
    other.release();
  });

  it('answers bad arguments and unknown tools with error results', async () => {
    const reg = registry({ refund: tool('/refunds') });
    const c = await reg.forCall({ bot: 'b', toolNames: ['refund'], logger: quietLogger });
    expect((await c.execute('refund', '{not json')).errorCode).toBe('invalid_arguments');
    expect((await c.execute('refund', '[1,2]')).errorCode).toBe('invalid_arguments');
    expect((await c.execute('refund', 'x'.repeat(20_000))).errorCode).toBe('invalid_arguments');
    expect((await c.execute('nope', '{}')).errorCode).toBe('unknown_tool');
    c.release();
  });

  it('keeps memory bounded when the model keeps calling past the cap or makes names up', async () => {
    const reg = registry({ refund: tool('/refunds') }, { settings: { maxCallsPerCall: 1 } });
    const c = await reg.forCall({ bot: 'b', toolNames: ['refund'], logger: quietLogger });
    for (let i = 0; i < 200; i++) await c.execute(`made_up_${'x'.repeat(100)}_${i}`, '{}');
    expect(c.records.length).toBeLessThanOrEqual(21);
    expect(c.records[0]!.tool.length).toBe(64);
    c.release();
  });

  it('cancels on the caller signal, and on timeout, quickly', async () => {
    const reg = registry({ slow: tool('/slow') });
    const c = await reg.forCall({ bot: 'b', toolNames: ['slow'], logger: quietLogger });
    const controller = new AbortController();
    const pending = c.execute('slow', { order_id: '1' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect((await pending).outcome).toBe('cancelled');
    const timed = await c.execute('slow', { order_id: '1' }, { timeoutMs: 300 });
    expect(timed.outcome).toBe('timeout');
    expect(timed.durationMs).toBeLessThan(1500);
    c.release();
    expect((await c.execute('slow', { order_id: '1' })).outcome).toBe('cancelled');
  });

  it('records arguments and results only with TOOL_LOG_ARGUMENTS', async () => {
    const reg = registry({ refund: tool('/refunds') }, { settings: { logArguments: true } });
    const c = await reg.forCall({ bot: 'b', toolNames: ['refund'], logger: quietLogger });
    await c.execute('refund', { order_id: '9' });
    expect(c.records[0]).toMatchObject({ tool: 'refund', bot: 'b', outcome: 'ok', arguments: { order_id: '9' }, result: expect.stringContaining('R-1') });
    c.release();
  });

  it('never gives a configured tool a call-control name', async () => {
    const reg = registry({ end_call: tool('/refunds') });
    const c = await reg.forCall({ bot: 'b', toolNames: ['end_call'], logger: quietLogger });
    expect(c.definitions.map((d) => d.name)).toEqual(['end_call_2']);
    c.release();
  });
});
