import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { systemClock } from '../../src/util/clock.js';
import { createWebhookSender, isRetryableStatus, retryDelayMs, signBody } from '../../src/bridge/webhook.js';
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
  it('signs the exact body with HMAC-SHA256', () => {
    expect(signBody('{"a":1}', 'secretsecretsecret')).toBe(
      `sha256=${createHmac('sha256', 'secretsecretsecret').update('{"a":1}').digest('hex')}`,
    );
  });

  it('backs off exponentially and retries only transient statuses', () => {
    expect([1, 2, 3, 10].map(retryDelayMs)).toEqual([500, 1000, 2000, 8000]);
    expect([408, 429, 500, 503].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 404, 422].some(isRetryableStatus)).toBe(false);
  });

  it('posts JSON with signature and idempotency key, retrying a 503', async () => {
    const { url, received } = await receiver([503, 200]);
    const sender = createWebhookSender({ url, secret: 'secretsecretsecret', timeoutMs: 5000, retries: 2, clock: systemClock, logger });
    const result = await sender.deliver(record);
    expect(result).toEqual({ delivered: true, attempts: 2, status: 200 });
    expect(received).toHaveLength(2);
    const last = received[1]!;
    expect(JSON.parse(last.body)).toEqual(record);
    expect(last.headers['content-type']).toBe('application/json');
    expect(last.headers['idempotency-key']).toBe(record.idempotency_key);
    expect(last.headers['x-signature']).toBe(signBody(last.body, 'secretsecretsecret'));
  });

  it('gives up on a non-retryable status without retrying, and sends no signature without a secret', async () => {
    const { url, received } = await receiver([400]);
    const sender = createWebhookSender({ url, timeoutMs: 5000, retries: 2, clock: systemClock, logger });
    expect(await sender.deliver(record)).toMatchObject({ delivered: false, attempts: 1, status: 400 });
    expect(received[0]!.headers['x-signature']).toBeUndefined();
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
