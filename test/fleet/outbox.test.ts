/**
 * The Redis Streams outbox against a real redis-server, in process: append before the first attempt,
 * ack after delivery, takeover of a dead consumer's entries (XAUTOCLAIM), dead letters, the cap,
 * provisional records, and Valkey being down when a record must be appended.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createWebhookSender, type CallRecord } from '../../src/bridge/webhook.js';
import { createFleetMetrics } from '../../src/fleet/metrics.js';
import {
  decideAfterAttempt,
  decideProvisional,
  entryFields,
  formatAttempts,
  MAX_RETRY_DELAY_MS,
  parseAttempts,
  parseEntry,
} from '../../src/fleet/outbox-entry.js';
import { createRedisOutbox, GROUP, outboxKeys, type RedisOutbox } from '../../src/fleet/outbox.js';
import type { RedisClient } from '../../src/fleet/redis.js';
import { systemClock } from '../../src/util/clock.js';
import { callRecord, recordingMetrics } from '../bridge/spool-support.js';
import { startRedis, stopAllRedis, type RedisServer } from '../support/redis.js';
import { connectClient, destroyClients, silent, startReceiver, waitFor, type Receiver } from './support.js';

let server: RedisServer;
const cleanups: Array<() => Promise<void>> = [];
beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  destroyClients();
});
afterAll(async () => {
  await server?.stop();
  stopAllRedis();
});

let prefixes = 0;
const newPrefix = () => `ob${Date.now()}-${++prefixes}`;

interface Options {
  prefix: string;
  instanceId: string;
  hook: Receiver;
  claimIdleMs?: number;
  maxAttempts?: number;
  maxLen?: number;
  provisionalGraceMs?: number;
  alive?: (id: string) => Promise<boolean>;
  url?: string;
}

async function makeOutbox(o: Options) {
  const url = o.url ?? server.url;
  const redis = await connectClient(url, `${o.instanceId}-main`);
  const reader = await connectClient(url, `${o.instanceId}-reader`);
  const spoolMetrics = recordingMetrics();
  const registry = new Registry();
  const fleetMetrics = createFleetMetrics(registry, () => undefined);
  const sender = createWebhookSender({ url: o.hook.url, timeoutMs: 2000, retries: 0, clock: systemClock, logger: silent });
  const outbox = createRedisOutbox({
    redis: redis as RedisClient,
    reader: reader as RedisClient,
    prefix: o.prefix,
    instanceId: o.instanceId,
    inner: sender,
    logger: silent,
    metrics: { ...spoolMetrics.metrics, ...fleetMetrics },
    claimIdleMs: o.claimIdleMs ?? 1000,
    maxAttempts: o.maxAttempts ?? 5,
    maxLen: o.maxLen ?? 1000,
    provisionalGraceMs: o.provisionalGraceMs ?? 60_000,
    isInstanceAlive: o.alive ?? (async () => true),
  });
  cleanups.push(() => outbox.close());
  await outbox.start();
  return { outbox, redis, reader, outcomes: spoolMetrics.outcomes, registry };
}

async function hook(mode: 'up' | 'down' | 'reject' = 'up'): Promise<Receiver> {
  const r = await startReceiver(mode);
  cleanups.push(() => r.close());
  return r;
}

describe('outbox decisions (pure)', () => {
  const record = callRecord('s1');
  it('round-trips an entry and refuses damaged ones', () => {
    const fields = entryFields('provisional', record, 'inst-a', 1234);
    const parsed = parseEntry('1-0', fields);
    expect(parsed).toEqual({ ok: true, entry: { id: '1-0', kind: 'provisional', key: record.idempotency_key, producer: 'inst-a', at: 1234, record } });
    expect(parseEntry('1-0', { ...fields, kind: 'other' }).ok).toBe(false);
    expect(parseEntry('1-0', { ...fields, record: '{not json' }).ok).toBe(false);
    expect(parseEntry('1-0', { ...fields, key: 'another' }).ok).toBe(false);
    expect(parseEntry('1-0', { ...fields, record: '{"a":1}' }).ok).toBe(false);
  });

  it('provisional: superseded by a final, waits for a live producer within the grace, else delivered', () => {
    expect(decideProvisional({ finalWritten: true, producerAlive: false, ageMs: 1e9, graceMs: 10 })).toBe('supersede');
    expect(decideProvisional({ finalWritten: false, producerAlive: true, ageMs: 5, graceMs: 10 })).toBe('wait');
    expect(decideProvisional({ finalWritten: false, producerAlive: true, ageMs: 10, graceMs: 10 })).toBe('deliver');
    expect(decideProvisional({ finalWritten: false, producerAlive: false, ageMs: 0, graceMs: 10 })).toBe('deliver');
  });

  it('after an attempt: ack, dead letter on 4xx or after N failures, else back off from the claim idle time', () => {
    const opts = { maxAttempts: 3, claimIdleMs: 1000, now: 50_000 };
    expect(decideAfterAttempt({ delivered: true, attempts: 1, status: 200 }, 0, opts)).toEqual({ action: 'ack' });
    expect(decideAfterAttempt({ delivered: false, attempts: 1, status: 422 }, 1, opts)).toEqual({ action: 'dead', cause: 'rejected' });
    expect(decideAfterAttempt({ delivered: false, attempts: 1, status: 503 }, 1, opts)).toEqual({ action: 'retry', nextAttemptAt: 51_000 });
    expect(decideAfterAttempt({ delivered: false, attempts: 1, status: 429 }, 2, opts)).toEqual({ action: 'retry', nextAttemptAt: 52_000 });
    expect(decideAfterAttempt({ delivered: false, attempts: 1, error: 'ECONNREFUSED' }, 3, opts)).toEqual({ action: 'dead', cause: 'max_attempts' });
    const far = decideAfterAttempt({ delivered: false, attempts: 1 }, 30, { ...opts, maxAttempts: 100 });
    expect(far).toEqual({ action: 'retry', nextAttemptAt: 50_000 + MAX_RETRY_DELAY_MS });
    expect(parseAttempts(formatAttempts(4, 99))).toEqual({ failed: 4, nextAttemptAt: 99 });
    expect(parseAttempts(null)).toEqual({ failed: 0, nextAttemptAt: 0 });
    expect(parseAttempts('junk')).toEqual({ failed: 0, nextAttemptAt: 0 });
  });
});

describe('outbox on a real redis-server', () => {
  it('appends before the first attempt, delivers with the idempotency key, acks and deletes', async () => {
    const receiver = await hook('up');
    const prefix = newPrefix();
    const { outbox, redis, outcomes } = await makeOutbox({ prefix, instanceId: 'a', hook: receiver });
    const result = await outbox.deliver(callRecord('s1'));
    expect(result).toMatchObject({ delivered: false, spooled: true });
    await waitFor(() => receiver.accepted.length === 1, 'delivery');
    expect(receiver.accepted[0]).toMatchObject({ header: 's1:conv-s1', body: 's1:conv-s1' });
    await waitFor(async () => (await redis.xLen(outboxKeys(prefix).stream)) === 0, 'entry deleted after ack');
    const pending = await redis.xPending(outboxKeys(prefix).stream, GROUP);
    expect(pending.pending).toBe(0);
    expect(outcomes).toContain('delivered');
  });

  it("a dead instance's pending entries are claimed by another after the idle time and delivered (0 lost)", async () => {
    const receiver = await hook('down');
    const prefix = newPrefix();
    const a = await makeOutbox({ prefix, instanceId: 'a', hook: receiver, claimIdleMs: 1000 });
    const keys = Array.from({ length: 6 }, (_, i) => callRecord(`dead-${i}`).idempotency_key);
    for (let i = 0; i < 6; i++) await a.outbox.deliver(callRecord(`dead-${i}`));
    await waitFor(() => receiver.requests >= 6, 'first attempts (failing)');
    // a dies: its connections drop, nothing is acked or released.
    a.reader.destroy();
    a.redis.destroy();
    receiver.mode = 'up';
    const b = await makeOutbox({ prefix, instanceId: 'b', hook: receiver, claimIdleMs: 1000 });
    await waitFor(() => new Set(receiver.accepted.map((x) => x.header)).size === 6, 'every record delivered by b', 15_000);
    expect([...new Set(receiver.accepted.map((x) => x.header))].sort()).toEqual([...keys].sort());
    expect(receiver.accepted.every((x) => x.header === x.body)).toBe(true);
    await waitFor(async () => (await b.redis.xLen(outboxKeys(prefix).stream)) === 0, 'stream empty');
  });

  it('a receiver rejecting (4xx) sends the entry to the dead-letter stream at once; N failures do too', async () => {
    const receiver = await hook('reject');
    const prefix = newPrefix();
    const { outbox, redis, registry, outcomes } = await makeOutbox({ prefix, instanceId: 'a', hook: receiver, claimIdleMs: 1000, maxAttempts: 2 });
    await outbox.deliver(callRecord('rej'));
    const dead = outboxKeys(prefix).dead;
    await waitFor(async () => (await redis.xLen(dead)) === 1, 'dead letter');
    const [entry] = (await redis.xRange(dead, '-', '+')) ?? [];
    expect(entry!.message).toMatchObject({ cause: 'rejected', key: 'rej:conv-rej', kind: 'final' });
    expect(JSON.parse(entry!.message.record!).idempotency_key).toBe('rej:conv-rej');

    receiver.mode = 'down';
    await outbox.deliver(callRecord('down'));
    await waitFor(async () => (await redis.xLen(dead)) === 2, 'dead letter after 2 failed attempts', 15_000);
    const entries = (await redis.xRange(dead, '-', '+')) ?? [];
    expect(entries[1]!.message).toMatchObject({ cause: 'max_attempts', attempts: '2', status: '503' });
    expect(receiver.requests).toBe(3);
    expect(await redis.xLen(outboxKeys(prefix).stream)).toBe(0);
    expect(await registry.metrics()).toMatch(/audiohook_outbox_dead_letters_total\{cause="max_attempts"\} 1/);
    expect(outcomes.filter((o) => o === 'failed')).toHaveLength(2);
  });

  it('a provisional record is superseded by its final one: one delivery, the final', async () => {
    const receiver = await hook('up');
    const prefix = newPrefix();
    const { outbox, redis } = await makeOutbox({ prefix, instanceId: 'a', hook: receiver, claimIdleMs: 1000 });
    const provisional: CallRecord = { ...callRecord('p1'), end_detail: 'provisional' };
    await outbox.holdProvisional(provisional);
    await new Promise((r) => setTimeout(r, 300)); // read by a consumer: it waits (producer alive)
    await outbox.deliver({ ...callRecord('p1'), end_detail: 'final' });
    await waitFor(() => receiver.accepted.length === 1, 'final delivered');
    await new Promise((r) => setTimeout(r, 2500)); // past the claim idle time: nothing else arrives
    expect(receiver.accepted.map((x) => x.record.end_detail)).toEqual(['final']);
    expect(receiver.accepted[0]!.record.provisional).toBeUndefined();
    expect(await redis.xLen(outboxKeys(prefix).stream)).toBe(0);
    expect((await redis.xPending(outboxKeys(prefix).stream, GROUP)).pending).toBe(0);
  });

  it("a dead producer's provisional record is delivered by another instance once it is known dead", async () => {
    const receiver = await hook('up');
    const prefix = newPrefix();
    const a = await makeOutbox({ prefix, instanceId: 'a', hook: receiver, claimIdleMs: 1000 });
    await a.outbox.holdProvisional({ ...callRecord('p2'), end_detail: 'provisional' });
    let aAlive = true;
    const b = await makeOutbox({ prefix, instanceId: 'b', hook: receiver, claimIdleMs: 1000, alive: async (id) => id !== 'a' || aAlive });
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.accepted).toEqual([]); // producer alive: waits for the final
    a.reader.destroy();
    a.redis.destroy();
    aAlive = false; // its heartbeat expired (registry.test covers the expiry itself)
    await waitFor(() => receiver.accepted.length === 1, 'provisional delivered', 10_000);
    expect(receiver.accepted[0]!.record).toMatchObject({ end_detail: 'provisional', provisional: true });
    await waitFor(async () => (await b.redis.xLen(outboxKeys(prefix).stream)) === 0, 'stream empty');
  });

  it('cap: with OUTBOX_MAX_LEN entries waiting a record gets one direct attempt and is counted dropped if it fails', async () => {
    const receiver = await hook('down');
    const prefix = newPrefix();
    const { outbox, outcomes } = await makeOutbox({ prefix, instanceId: 'a', hook: receiver, claimIdleMs: 60_000, maxLen: 100 });
    const raw = await connectClient(server.url);
    for (let i = 0; i < 100; i++) await raw.xAdd(outboxKeys(prefix).stream, '*', entryFields('final', callRecord(`f${i}`), 'x', Date.now()));
    const result = await outbox.deliver(callRecord('over'));
    expect(result).toMatchObject({ delivered: false });
    expect(result.spooled).toBeUndefined();
    expect(outcomes).toContain('dropped');
  });

  it('Valkey down at call end: direct attempt, else held in memory and appended when Valkey is back', async () => {
    const own = await startRedis({ appendonly: true });
    cleanups.push(() => own.stop());
    const receiver = await hook('down');
    const prefix = newPrefix();
    const { outbox, redis } = await makeOutbox({ prefix, instanceId: 'a', hook: receiver, claimIdleMs: 1000, url: own.url });
    await own.kill();
    await waitFor(() => !redis.isReady, 'client notices');
    const result = await outbox.deliver(callRecord('mem'));
    expect(result).toMatchObject({ delivered: false, spooled: true });
    expect(outbox.backlog()).toBe(1);
    receiver.mode = 'up';
    await own.restart();
    await waitFor(() => receiver.accepted.length === 1, 'delivered after Valkey came back', 20_000);
    expect(receiver.accepted[0]!.header).toBe('mem:conv-mem');
    expect(outbox.backlog()).toBe(0);
  });

  it('Valkey restarted empty (no persistence): the group is recreated and new records are delivered', async () => {
    const own = await startRedis();
    cleanups.push(() => own.stop());
    const receiver = await hook('up');
    const prefix = newPrefix();
    const { outbox, redis } = await makeOutbox({ prefix, instanceId: 'a', hook: receiver, claimIdleMs: 1000, url: own.url });
    await outbox.deliver(callRecord('before'));
    await waitFor(() => receiver.accepted.length === 1, 'first delivery');
    await own.kill();
    await own.restart(); // nothing persisted: stream and group are gone
    await waitFor(() => redis.isReady, 'reconnected', 15_000);
    await outbox.deliver(callRecord('after'));
    await waitFor(() => receiver.accepted.some((x) => x.header === 'after:conv-after'), 'delivery after the group was recreated', 20_000);
  });

  it('close: stops consuming, releases a consumer holding nothing, keeps one that still holds entries', async () => {
    const receiver = await hook('up');
    const prefix = newPrefix();
    const a = await makeOutbox({ prefix, instanceId: 'a', hook: receiver });
    await a.outbox.deliver(callRecord('c1'));
    await waitFor(() => receiver.accepted.length === 1, 'delivered');
    await a.outbox.idle();
    await a.outbox.close();
    const raw = await connectClient(server.url);
    const consumers = await raw.xInfoConsumers(outboxKeys(prefix).stream, GROUP);
    expect(consumers.map((c) => c.name)).not.toContain('a');

    receiver.mode = 'down';
    const b = await makeOutbox({ prefix, instanceId: 'b', hook: receiver, claimIdleMs: 60_000 });
    await b.outbox.deliver(callRecord('c2'));
    await waitFor(() => receiver.requests >= 2, 'failed attempt');
    await b.outbox.idle();
    await b.outbox.close();
    const after = await raw.xInfoConsumers(outboxKeys(prefix).stream, GROUP);
    expect(after.find((c) => c.name === 'b')?.pending).toBe(1);
  });
});

export type { RedisOutbox };
