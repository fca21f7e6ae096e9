/**
 * Issue 13, lost records 2–4 and the replayable signature: a hostile or misconfigured webhook receiver
 * (redirects, an endless response body) and a client reusing session and conversation ids must not lose
 * a record, leak it elsewhere or grow our memory; a captured POST is refused by a receiver later.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildCallRecord } from '../../src/bridge/record.js';
import { createSpoolingSink } from '../../src/bridge/spool.js';
import { emptyUsage } from '../../src/bridge/usage.js';
import { createWebhookSender, verifyWebhookSignature } from '../../src/bridge/webhook.js';
import { systemClock } from '../../src/util/clock.js';
import { callRecord } from '../bridge/spool-support.js';

const SECRET = 'secretsecretsecret';
const servers: Server[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const requests: Array<{ method: string; body: string; headers: IncomingMessage['headers'] }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', body, headers: req.headers });
      handler(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, requests };
}

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('resilience: webhook redirects are never followed', () => {
  for (const status of [302, 303, 307, 308]) {
    it(`${status}: a failed attempt (retried, Location logged), nothing sent to the other host`, async () => {
      const elsewhere = await listen((_req, res) => res.writeHead(200).end('ok'));
      const hook = await listen((_req, res) => res.writeHead(status, { location: elsewhere.url }).end());
      const { logger, lines } = capturingLogger();
      const sender = createWebhookSender({ url: hook.url, secret: SECRET, timeoutMs: 3000, retries: 1, clock: systemClock, logger });
      const result = await sender.deliver(callRecord('redirected'));
      expect(result).toMatchObject({ delivered: false, attempts: 2, status });
      expect(hook.requests).toHaveLength(2);
      expect(elsewhere.requests).toEqual([]);
      const warn = lines.find((l) => l.msg === 'summary webhook delivery failed');
      expect(warn).toMatchObject({ status, location: elsewhere.url, retryable: true });
    });
  }

  it('with the spool, a redirected record stays on disk for retry instead of counting as delivered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webhook-redirect-'));
    dirs.push(dir);
    const elsewhere = await listen((_req, res) => res.writeHead(200).end());
    const hook = await listen((_req, res) => res.writeHead(302, { location: elsewhere.url }).end());
    const logger = pino({ level: 'silent' });
    const sender = createWebhookSender({ url: hook.url, timeoutMs: 3000, retries: 0, clock: systemClock, logger });
    const spool = createSpoolingSink({ dir, inner: sender, clock: systemClock, logger, retrySchedule: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } });
    const result = await spool.deliver(callRecord('redirect-spooled'));
    await spool.close();
    expect(result).toMatchObject({ delivered: false, spooled: true, status: 302 });
    expect((await readdir(dir)).filter((n) => n.endsWith('.json'))).toHaveLength(1);
    expect(elsewhere.requests).toEqual([]);
  });
});

describe('resilience: the receiver’s response body is read only a few KB', () => {
  it('a 200 with an endless body is delivered at once and the connection dropped', async () => {
    let closedEarly = false;
    let written = 0;
    const hook = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (!res.destroyed && written < 2 * 1024 ** 3) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => (closedEarly = !res.writableFinished));
      pump();
    });
    const sender = createWebhookSender({ url: hook.url, timeoutMs: 4000, retries: 0, clock: systemClock, logger: pino({ level: 'silent' }) });
    const started = Date.now();
    const result = await sender.deliver(callRecord('endless-body'));
    expect(result).toEqual({ delivered: true, attempts: 1, status: 200 });
    expect(Date.now() - started).toBeLessThan(3000);
    await new Promise((r) => setTimeout(r, 200));
    expect(closedEarly).toBe(true);
    expect(written).toBeLessThan(64 * 1024 ** 2);
  });
});

describe('resilience: a captured signed POST cannot be replayed later', () => {
  it('the receiver accepts it now and refuses the same bytes ten minutes later', async () => {
    const hook = await listen((_req, res) => res.writeHead(204).end());
    const sender = createWebhookSender({ url: hook.url, secret: SECRET, timeoutMs: 3000, retries: 0, clock: systemClock, logger: pino({ level: 'silent' }) });
    expect((await sender.deliver(callRecord('replayed'))).delivered).toBe(true);
    const captured = hook.requests[0]!;
    const check = (nowMs: number) =>
      verifyWebhookSignature({
        body: captured.body,
        signature: captured.headers['x-signature'] as string | undefined,
        timestamp: captured.headers['x-signature-timestamp'] as string | undefined,
        secret: SECRET,
        nowMs,
      });
    expect(check(Date.now())).toEqual({ ok: true });
    expect(check(Date.now() + 10 * 60_000)).toMatchObject({ ok: false, reason: expect.stringContaining('timestamp') });
  });
});

describe('resilience: two calls reusing a session id and conversation id', () => {
  it('both records are spooled side by side and both delivered (none overwritten)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webhook-identity-'));
    dirs.push(dir);
    let up = false;
    const hook = await listen((_req, res) => res.writeHead(up ? 200 : 503).end());
    const logger = pino({ level: 'silent' });
    const sender = createWebhookSender({ url: hook.url, timeoutMs: 3000, retries: 0, clock: systemClock, logger });
    const context = {
      sessionId: '11111111-1111-4111-8111-111111111111',
      conversationId: '22222222-2222-4222-8222-222222222222',
      correlationId: 'corr',
      organizationId: 'org',
      connectorId: '',
    };
    const record = (summary: string) =>
      buildCallRecord({
        context,
        startedAt: new Date(0),
        endedAt: new Date(1000),
        endReason: 'caller_hangup',
        summary: { summary, sentiment: 'neutral', resolved: true, follow_ups: [], source: 'fallback' },
        transcript: [],
        usage: emptyUsage(),
        model: 'm',
      });
    const first = createSpoolingSink({ dir, inner: sender, clock: systemClock, logger, retrySchedule: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } });
    await first.deliver(record('first call'));
    await first.deliver(record('second call'));
    await first.close();
    expect((await readdir(dir)).filter((n) => n.endsWith('.json'))).toHaveLength(2);

    up = true;
    const second = createSpoolingSink({ dir, inner: sender, clock: systemClock, logger });
    await second.start();
    while (second.depth() > 0) await second.idle().then(() => new Promise((r) => setTimeout(r, 20)));
    await second.close();
    const delivered = hook.requests.filter((r) => r.body).map((r) => (JSON.parse(r.body) as { summary: { summary: string } }).summary.summary);
    expect(new Set(delivered.slice(-2))).toEqual(new Set(['first call', 'second call']));
    const keys = new Set(hook.requests.map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(2);
  });
});
