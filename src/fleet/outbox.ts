/**
 * Durable summary delivery for a fleet: a CallRecordSink that appends each call record to a Redis Stream
 * (`<prefix>:outbox`) before any delivery attempt, and a consumer on every instance (one consumer group) that
 * delivers entries through the webhook sender and acknowledges them after the receiver's 2xx.
 *
 * - deliver(): appends (with `MAXLEN ~` as the stream's cap) and returns `spooled`; whichever instance reads
 *   the entry first makes the first attempt (usually at once: consumers block on XREADGROUP).
 * - A failed attempt leaves the entry pending with its next attempt time; an entry pending longer than
 *   OUTBOX_CLAIM_IDLE_MS — its attempt failed, or its instance died — is taken over by any instance
 *   (XAUTOCLAIM), so a record outlives the instance that wrote it. An instance keeps the entries it is
 *   delivering right now fresh (XCLAIM … JUSTID), so a slow receiver does not get the same record twice.
 * - At-least-once: a crash between the receiver's 2xx and XACK delivers again with the same idempotency key.
 * - Entries rejected by the receiver (4xx), failing OUTBOX_MAX_ATTEMPTS times, or unreadable go to the
 *   dead-letter stream (`<prefix>:outbox:dead`, capped too) with the cause: error log + metric.
 * - Provisional records (holdProvisional, see outbox-entry.ts): appended at call end, removed when the final
 *   one is appended, delivered only if their producer died without writing the final one.
 * - Valkey unreachable when a record must be appended: one direct attempt; if that fails too, the record
 *   waits in memory (bounded) and is appended when the connection is back. Lost only if the process dies
 *   while Valkey AND the webhook are down; `audiohook_outbox_memory_backlog` shows it.
 * - Cap: with OUTBOX_MAX_LEN entries waiting, a new record gets one attempt and is counted dropped if that fails.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { SpoolMetrics } from '../bridge/spool.js';
import type { CallRecord, CallRecordSink, DeliveryResult } from '../bridge/webhook.js';
import {
  decideAfterAttempt,
  decideProvisional,
  entryFields,
  formatAttempts,
  parseAttempts,
  parseEntry,
  type EntryKind,
  type OutboxEntry,
} from './outbox-entry.js';
import type { FleetMetrics } from './metrics.js';
import { destroyQuietly, withTimeout, type RedisClient } from './redis.js';

export const GROUP = 'delivery';
const APPEND_TIMEOUT_MS = 2_000;
const BLOCK_MS = 5_000;
const MEMORY_BACKLOG_MAX = 10_000;
const BACKLOG_RETRY_MS = 1_000;
/** Consumers with nothing pending and idle this long (instances gone) are removed from the group. */
const STALE_CONSUMER_MS = 60 * 60_000;

export interface OutboxKeys {
  stream: string;
  dead: string;
  attempts: string;
  final(key: string): string;
}

export function outboxKeys(prefix: string): OutboxKeys {
  return {
    stream: `${prefix}:outbox`,
    dead: `${prefix}:outbox:dead`,
    attempts: `${prefix}:outbox:attempts`,
    final: (key) => `${prefix}:outbox:final:${createHash('sha256').update(key).digest('base64url')}`,
  };
}

export interface RedisOutboxOptions {
  redis: RedisClient;
  /** A dedicated connection for the blocking XREADGROUP (closed by close()). */
  reader: RedisClient;
  prefix: string;
  instanceId: string;
  /** The webhook sender (its own per-attempt timeout and few quick retries). */
  inner: CallRecordSink;
  logger: Logger;
  metrics?: SpoolMetrics & Partial<Pick<FleetMetrics, 'outboxDeadLetters' | 'outboxTrimmed' | 'outboxBacklog'>>;
  claimIdleMs: number;
  maxAttempts: number;
  maxLen: number;
  provisionalGraceMs: number;
  isInstanceAlive(instanceId: string): Promise<boolean>;
  /** Deliveries in flight at once on this instance. Default 4. */
  concurrency?: number;
  /** Wall clock in epoch ms (default Date.now). */
  now?: () => number;
}

export interface RedisOutbox extends CallRecordSink {
  /**
   * The call ended but its final record is not written yet: appends the record marked `provisional: true`
   * (the zero-loss seam, `CallRecordSink.holdProvisional`). Superseded by deliver() of the same key;
   * delivered only if this instance dies first (see outbox-entry.ts).
   */
  holdProvisional(record: CallRecord): Promise<void>;
  /** Creates the consumer group if needed and starts consuming and claiming. */
  start(): Promise<void>;
  /** Entries in the stream (all instances), as last seen. */
  depth(): number;
  /** Records waiting in memory for Valkey. */
  backlog(): number;
  /** Resolves when nothing is in flight on this instance. */
  idle(): Promise<void>;
  /** Stops claiming and reading, finishes deliveries in flight, releases the consumer (if it holds nothing). */
  close(): Promise<void>;
}

interface StreamMessage {
  id: string;
  message: Record<string, string>;
}

export function createRedisOutbox(options: RedisOutboxOptions): RedisOutbox {
  const { redis, reader, instanceId: me, inner, logger } = options;
  const keys = outboxKeys(options.prefix);
  const now = options.now ?? Date.now;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const janitorMs = Math.min(10_000, Math.max(250, Math.floor(options.claimIdleMs / 2)));
  const markerTtlMs = options.provisionalGraceMs * 2 + 3_600_000;
  const count = (outcome: Parameters<SpoolMetrics['webhookDeliveries']['inc']>[0]) => options.metrics?.webhookDeliveries.inc(outcome);

  const inFlight = new Map<string, Promise<void>>();
  const slotWaiters: Array<() => void> = [];
  const provisionalIds = new Map<string, string>();
  const memory: Array<{ kind: EntryKind; record: CallRecord }> = [];
  let depth = 0;
  let stopping = false;
  let started = false;
  let readLoop: Promise<void> | undefined;
  let janitorTimer: NodeJS.Timeout | undefined;
  let backlogTimer: NodeJS.Timeout | undefined;
  let claimCursor = '0-0';
  let janitorTicks = 0;

  const publishBacklog = () => options.metrics?.outboxBacklog?.set(memory.length);

  async function ensureGroup(): Promise<void> {
    try {
      // From the start of the stream: entries appended before the group existed are delivered too.
      await redis.xGroupCreate(keys.stream, GROUP, '0', { MKSTREAM: true });
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  // ------------------------------------------------------------------ producing

  async function append(kind: EntryKind, record: CallRecord): Promise<string> {
    const fields = entryFields(kind, record, me, now());
    const trim = { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: options.maxLen } };
    if (kind === 'provisional') {
      const id = await withTimeout(redis.xAdd(keys.stream, '*', fields, trim), APPEND_TIMEOUT_MS, 'outbox append');
      provisionalIds.set(record.idempotency_key, id);
      return id;
    }
    const multi = redis.multi().xAdd(keys.stream, '*', fields, trim).set(keys.final(record.idempotency_key), me, { expiration: { type: 'PX', value: markerTtlMs } });
    const provisionalId = provisionalIds.get(record.idempotency_key);
    // The final record supersedes the provisional one atomically (XACK works whoever holds it pending).
    if (provisionalId) multi.xAck(keys.stream, GROUP, provisionalId).xDel(keys.stream, provisionalId);
    const replies = (await withTimeout(multi.exec(), APPEND_TIMEOUT_MS, 'outbox append')) as unknown[];
    provisionalIds.delete(record.idempotency_key);
    return String(replies[0]);
  }

  async function deliverSafely(record: CallRecord): Promise<DeliveryResult> {
    try {
      return await inner.deliver(record);
    } catch (err) {
      return { delivered: false, attempts: 1, error: (err as Error).message };
    }
  }

  /** No outbox slot (cap reached): one attempt, loudly counted if it fails. */
  async function deliverUncapped(record: CallRecord, why: string): Promise<DeliveryResult> {
    const result = await deliverSafely(record);
    count(result.delivered ? 'delivered' : 'dropped');
    if (!result.delivered) {
      logger.error({ idempotencyKey: record.idempotency_key, why, status: result.status, error: result.error }, 'call record could not be queued and its delivery failed: dropped');
    }
    return result;
  }

  function holdInMemory(kind: EntryKind, record: CallRecord): boolean {
    if (kind === 'final') {
      // A final record replaces a provisional one still waiting here.
      const i = memory.findIndex((m) => m.record.idempotency_key === record.idempotency_key);
      if (i >= 0) memory.splice(i, 1);
    }
    if (memory.length >= MEMORY_BACKLOG_MAX) return false;
    memory.push({ kind, record });
    publishBacklog();
    scheduleBacklog();
    return true;
  }

  function scheduleBacklog(): void {
    if (backlogTimer || memory.length === 0) return;
    backlogTimer = setTimeout(() => {
      backlogTimer = undefined;
      void flushBacklog().finally(scheduleBacklog);
    }, BACKLOG_RETRY_MS);
    backlogTimer.unref();
  }

  async function flushBacklog(): Promise<void> {
    while (memory.length > 0 && redis.isReady) {
      const next = memory[0]!;
      try {
        await append(next.kind, next.record);
      } catch {
        return;
      }
      memory.shift();
      publishBacklog();
      logger.info({ idempotencyKey: next.record.idempotency_key, kind: next.kind }, 'call record held in memory appended to the outbox');
    }
  }

  async function queue(kind: EntryKind, record: CallRecord): Promise<DeliveryResult> {
    const log = { idempotencyKey: record.idempotency_key, kind };
    if (redis.isReady) {
      try {
        const length = await withTimeout(redis.xLen(keys.stream), APPEND_TIMEOUT_MS, 'outbox length');
        depth = length;
        if (length >= options.maxLen) {
          if (kind === 'provisional') return { delivered: false, attempts: 0 }; // the final record will get its attempt
          return deliverUncapped(record, `outbox full (${options.maxLen} entries)`);
        }
        await append(kind, record);
        return { delivered: false, attempts: 0, spooled: true };
      } catch (err) {
        logger.warn({ ...log, err: { message: (err as Error).message } }, 'outbox append failed');
      }
    }
    if (kind === 'final') {
      // Valkey unreachable: try the receiver directly rather than keep the record waiting.
      const result = await deliverSafely(record);
      if (result.delivered) {
        count('delivered');
        return result;
      }
    }
    if (holdInMemory(kind, record)) {
      if (kind === 'final') count('spooled');
      logger.warn(log, 'outbox unreachable: call record held in memory until Valkey is back');
      return { delivered: false, attempts: kind === 'final' ? 1 : 0, spooled: true };
    }
    count('dropped');
    logger.error(log, 'outbox unreachable and the memory backlog is full: call record dropped');
    return { delivered: false, attempts: 0 };
  }

  // ------------------------------------------------------------------ consuming

  async function ackAndDelete(id: string): Promise<void> {
    await redis.multi().xAck(keys.stream, GROUP, id).xDel(keys.stream, id).hDel(keys.attempts, id).exec();
  }

  async function deadLetter(id: string, fields: Record<string, string>, cause: 'rejected' | 'max_attempts' | 'unreadable', detail: Record<string, string>): Promise<void> {
    await redis
      .multi()
      .xAdd(keys.dead, '*', { ...fields, cause, source_id: id, dead_at: String(now()), ...detail }, {
        TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: options.maxLen },
      })
      .xAck(keys.stream, GROUP, id)
      .xDel(keys.stream, id)
      .hDel(keys.attempts, id)
      .exec();
    options.metrics?.outboxDeadLetters?.inc(cause);
    count('failed');
    logger.error({ entryId: id, idempotencyKey: fields.key, cause, ...detail }, 'call record moved to the dead-letter stream');
  }

  async function handle(message: StreamMessage): Promise<void> {
    const parsed = parseEntry(message.id, message.message);
    if (!parsed.ok) {
      await deadLetter(message.id, message.message, 'unreadable', { reason: parsed.reason });
      return;
    }
    const entry = parsed.entry;
    const bookkeeping = parseAttempts(await redis.hGet(keys.attempts, entry.id));
    if (bookkeeping.nextAttemptAt > now()) return; // backing off: stays pending, looked at again later
    if (entry.kind === 'provisional') {
      const [finalWritten, producerAlive] = await Promise.all([
        redis.exists(keys.final(entry.key)).then((n) => n > 0),
        entry.producer === me ? Promise.resolve(!stopping) : options.isInstanceAlive(entry.producer),
      ]);
      const decision = decideProvisional({ finalWritten, producerAlive, ageMs: now() - entry.at, graceMs: options.provisionalGraceMs });
      if (decision === 'supersede') {
        await ackAndDelete(entry.id);
        return;
      }
      if (decision === 'wait') return;
      logger.warn({ idempotencyKey: entry.key, producer: entry.producer, producerAlive }, 'delivering a provisional call record: no final record came');
    }
    await attempt(entry, bookkeeping.failed);
  }

  async function attempt(entry: OutboxEntry, failedBefore: number): Promise<void> {
    const result = await deliverSafely(entry.record);
    const failed = result.delivered ? failedBefore : failedBefore + 1;
    const decision = decideAfterAttempt(result, failed, { maxAttempts: options.maxAttempts, claimIdleMs: options.claimIdleMs, now: now() });
    const log = { idempotencyKey: entry.key, kind: entry.kind, entryId: entry.id, producer: entry.producer };
    switch (decision.action) {
      case 'ack':
        await ackAndDelete(entry.id);
        count('delivered');
        if (entry.producer !== me || failedBefore > 0) logger.info({ ...log, failedBefore }, 'outbox call record delivered');
        return;
      case 'retry':
        await redis.hSet(keys.attempts, entry.id, formatAttempts(failed, decision.nextAttemptAt));
        count(failedBefore === 0 ? 'spooled' : 'retry');
        logger.warn({ ...log, failed, status: result.status, error: result.error, nextAttemptInMs: decision.nextAttemptAt - now() }, 'outbox delivery failed; will retry');
        return;
      case 'dead':
        await deadLetter(entry.id, entryFields(entry.kind, entry.record, entry.producer, entry.at), decision.cause, {
          attempts: String(failed),
          ...(result.status !== undefined ? { status: String(result.status) } : {}),
          ...(result.error !== undefined ? { error: result.error.slice(0, 200) } : {}),
        });
    }
  }

  function dispatch(message: StreamMessage): void {
    if (inFlight.has(message.id)) return;
    const work = handle(message)
      .catch((err: unknown) => {
        // Valkey trouble mid-way: the entry stays pending and is claimed again after the idle time.
        logger.warn({ entryId: message.id, err: { message: (err as Error).message } }, 'outbox entry could not be processed');
      })
      .finally(() => {
        inFlight.delete(message.id);
        slotWaiters.splice(0).forEach((w) => w());
      });
    inFlight.set(message.id, work);
  }

  const freeSlots = () => concurrency - inFlight.size;
  const slotFreed = () => new Promise<void>((resolve) => slotWaiters.push(resolve));
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

  async function consume(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      if (freeSlots() <= 0) {
        await slotFreed();
        continue;
      }
      try {
        const reply = await reader.xReadGroup(GROUP, me, { key: keys.stream, id: '>' }, { COUNT: freeSlots(), BLOCK: BLOCK_MS });
        failures = 0;
        for (const stream of (reply ?? []) as Array<{ messages: StreamMessage[] }>) {
          for (const message of stream.messages) dispatch(message);
        }
      } catch (err) {
        if (stopping) break;
        failures++;
        if (/NOGROUP/.test((err as Error).message)) {
          // The stream or group was lost (a server restarted without persistence): recreate, continue.
          await ensureGroup().catch(() => undefined);
        } else {
          logger.debug({ err: { message: (err as Error).message } }, 'outbox read failed');
        }
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  async function janitor(): Promise<void> {
    if (stopping || !redis.isReady) return;
    janitorTicks++;
    // Keep entries being delivered here fresh, so no other instance takes them over meanwhile.
    if (inFlight.size > 0) await redis.xClaimJustId(keys.stream, GROUP, me, 0, [...inFlight.keys()]);
    const free = freeSlots();
    if (free > 0) {
      const claimed = await redis.xAutoClaim(keys.stream, GROUP, me, options.claimIdleMs, claimCursor, { COUNT: free });
      claimCursor = claimed.nextId;
      if (claimed.deletedMessages.length > 0) {
        options.metrics?.outboxTrimmed?.inc(claimed.deletedMessages.length);
        count('dropped');
        logger.error({ entries: claimed.deletedMessages.length }, 'outbox entries were trimmed by the stream cap before delivery: records lost');
        await redis.hDel(keys.attempts, claimed.deletedMessages as string[]);
      }
      for (const message of claimed.messages) if (message) dispatch(message as StreamMessage);
    }
    depth = await redis.xLen(keys.stream);
    options.metrics?.webhookSpoolDepth.set(depth);
    if (janitorTicks % 120 === 0) await pruneConsumers();
  }

  async function pruneConsumers(): Promise<void> {
    const consumers = await redis.xInfoConsumers(keys.stream, GROUP);
    for (const c of consumers as Array<{ name: string; pending: number; idle: number }>) {
      if (c.name !== me && c.pending === 0 && c.idle > STALE_CONSUMER_MS) await redis.xGroupDelConsumer(keys.stream, GROUP, c.name);
    }
  }

  function scheduleJanitor(): void {
    if (stopping) return;
    janitorTimer = setTimeout(() => {
      void janitor()
        .catch((err: unknown) => logger.debug({ err: { message: (err as Error).message } }, 'outbox claim sweep failed'))
        .finally(scheduleJanitor);
    }, janitorMs);
    janitorTimer.unref();
  }

  return {
    deliver: (record) => queue('final', record),

    async holdProvisional(record) {
      // Marked for the receiver, as the file spool marks it (CallRecord.provisional on the zero-loss branch).
      const marked: CallRecord & { provisional?: true } = { ...record, provisional: true };
      await queue('provisional', marked);
    },

    async start() {
      if (started) return;
      started = true;
      stopping = false;
      if (redis.isReady) {
        await ensureGroup().catch((err: unknown) => logger.warn({ err: { message: (err as Error).message } }, 'outbox group not created yet'));
      }
      readLoop = consume();
      scheduleJanitor();
      logger.info({ instanceId: me, claimIdleMs: options.claimIdleMs, maxAttempts: options.maxAttempts, maxLen: options.maxLen }, 'outbox consumer started');
    },

    depth: () => depth,
    backlog: () => memory.length,

    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight.values()]);
    },

    async close() {
      stopping = true;
      clearTimeout(janitorTimer);
      // Interrupts the blocking read; entries it had not handed over yet stay pending and are claimed elsewhere.
      destroyQuietly(reader);
      await readLoop?.catch(() => undefined);
      while (inFlight.size > 0) await Promise.all([...inFlight.values()]);
      await flushBacklog().catch(() => undefined);
      clearTimeout(backlogTimer);
      backlogTimer = undefined;
      if (memory.length > 0) logger.error({ records: memory.length }, 'outbox unreachable at shutdown: call records held in memory are lost');
      if (!redis.isReady) return;
      try {
        const pending = await redis.xPendingRange(keys.stream, GROUP, '-', '+', 1, { consumer: me });
        // A consumer deleted with entries pending would orphan them: keep it, others claim them after the idle time.
        if (pending.length === 0) await redis.xGroupDelConsumer(keys.stream, GROUP, me);
        else logger.info({ pending: pending.length }, 'outbox entries left pending for another instance to claim');
      } catch (err) {
        logger.warn({ err: { message: (err as Error).message } }, 'outbox consumer not released');
      }
    },
  };
}
