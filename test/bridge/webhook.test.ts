import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { systemClock } from '../../src/util/clock.js';
import { createWebhookSender, isRetryableStatus, retryDelayMs, signBody, verifyWebhookSignature } from '../../src/bridge/webhook.js';
import { callRecord } from './spool-support.js';

const logger = pino({ level: 'silent' });
const record = callRecord('sess-1');

const servers: Array<ReturnType<typeof createServer>> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function receiver(statuses: number[]) {
  const received: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

describe('webhook', () => {
  it('signs "<timestamp>.<exact body>" with HMAC-SHA256', () => {
    expect(signBody('{"a":1}', 'secretsecretsecret', '1700000000')).toBe(
      `sha256=${createHmac('sha256', 'secretsecretsecret').update('1700000000.{"a":1}').digest('hex')}`,
    );
  });

  it('verifies a fresh signature and refuses an old, future, altered or unsigned one', () => {
    const secret = 'secretsecretsecret';
    const body = '{"a":1}';
    const nowMs = 1_700_000_100_000;
    const check = (timestamp: string | undefined, signature: string | undefined, b = body) =>
      verifyWebhookSignature({ body: b, timestamp, signature, secret, nowMs });
    const ts = '1700000000';
    expect(check(ts, signBody(body, secret, ts))).toEqual({ ok: true });
    expect(check('1699999000', signBody(body, secret, '1699999000'))).toMatchObject({ ok: false, reason: expect.stringContaining('timestamp') });
    expect(check('1700001000', signBody(body, secret, '1700001000'))).toMatchObject({ ok: false });
    expect(check(ts, signBody(body, secret, ts), '{"a":2}')).toEqual({ ok: false, reason: 'bad signature' });
    expect(check(ts, signBody(body, secret, '1700000001'))).toEqual({ ok: false, reason: 'bad signature' });
    expect(check(undefined, signBody(body, secret, ts))).toMatchObject({ ok: false });
    expect(check('17e8', signBody(body, secret, '17e8'))).toMatchObject({ ok: false });
    expect(check(ts, undefined)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('backs off exponentially and retries only transient statuses', () => {
    expect([1, 2, 3, 10].map(retryDelayMs)).toEqual([500, 1000, 2000, 8000]);
    expect([408, 429, 500, 503].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 404, 422].some(isRetryableStatus)).toBe(false);
    expect([301, 302, 303, 307, 308].every(isRetryableStatus)).toBe(true);
  });

  it('posts JSON with signature and idempotency key, retrying a 503', async () => {
    const { url, received } = await receiver([503, 200]);
    const sender = createWebhookSender({
      url,
      secret: 'secretsecretsecret',
      timeoutMs: 5000,
      retries: 2,
      clock: systemClock,
      logger,
      wallClockMs: () => 1_700_000_000_500,
    });
    const result = await sender.deliver(record);
    expect(result).toEqual({ delivered: true, attempts: 2, status: 200 });
    expect(received).toHaveLength(2);
    const last = received[1]!;
    expect(JSON.parse(last.body)).toEqual(record);
    expect(last.headers['content-type']).toBe('application/json');
    expect(last.headers['idempotency-key']).toBe(record.idempotency_key);
    expect(last.headers['x-signature-timestamp']).toBe('1700000000');
    expect(last.headers['x-signature']).toBe(signBody(last.body, 'secretsecretsecret', '1700000000'));
  });

  it('gives up on a non-retryable status without retrying, and sends no signature without a secret', async () => {
    const { url, received } = await receiver([400]);
    const sender = createWebhookSender({ url, timeoutMs: 5000, retries: 2, clock: systemClock, logger });
    expect(await sender.deliver(record)).toMatchObject({ delivered: false, attempts: 1, status: 400 });
    expect(received[0]!.headers['x-signature']).toBeUndefined();
    expect(received[0]!.headers['x-signature-timestamp']).toBeUndefined();
  });

  it('reports a network failure after the retries', async () => {
    const sender = createWebhookSender({
      url: 'http://127.0.0.1:9/hook',
      timeoutMs: 1000,
      retries: 1,
      clock: systemClock,
      logger,
      fetchImpl: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    const result = await sender.deliver(record);
    expect(result).toMatchObject({ delivered: false, attempts: 2, error: 'connect ECONNREFUSED' });
  });
});
