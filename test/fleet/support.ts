/** Shared by the fleet tests: real Valkey/Redis clients on a test server, a webhook receiver, waiting. */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createRedisClient, destroyQuietly, type RedisClient } from '../../src/fleet/redis.js';

export const silent = pino({ level: 'silent' });

const clients: RedisClient[] = [];

export async function connectClient(url: string, name = 'test'): Promise<RedisClient> {
  const client = createRedisClient({ url, logger: silent, name });
  clients.push(client);
  await client.connect();
  return client;
}

/** For afterEach/afterAll: drops every client made by connectClient. */
export function destroyClients(): void {
  for (const c of clients.splice(0)) destroyQuietly(c);
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export type HookMode = 'up' | 'down' | 'reject';

export interface Receiver {
  url: string;
  mode: HookMode;
  /** Idempotency keys answered 2xx, in order, with the body's key and its provisional flag if any. */
  accepted: Array<{ header: string; body: string; record: Record<string, unknown> }>;
  /** Every request, whatever the answer. */
  requests: number;
  /** Idempotency keys of every request, whatever the answer. */
  seen: string[];
  /** The record's session_id of every request, whatever the answer. */
  seenSessions: string[];
  close(): Promise<void>;
}

/** A summary webhook receiver: `up` answers 200, `down` 503, `reject` 422. */
export async function startReceiver(mode: HookMode = 'up'): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    mode,
    accepted: [],
    requests: 0,
    seen: [],
    seenSessions: [],
    close: async () => undefined,
  };
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      receiver.requests++;
      receiver.seen.push(String(req.headers['idempotency-key']));
      try {
        receiver.seenSessions.push(String((JSON.parse(body) as { session_id?: unknown }).session_id));
      } catch {
        receiver.seenSessions.push('(not JSON)');
      }
      if (receiver.mode === 'down') return void res.writeHead(503).end();
      if (receiver.mode === 'reject') return void res.writeHead(422).end();
      const record = JSON.parse(body) as Record<string, unknown>;
      receiver.accepted.push({ header: String(req.headers['idempotency-key']), body: String(record.idempotency_key), record });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/summary`;
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return receiver;
}
