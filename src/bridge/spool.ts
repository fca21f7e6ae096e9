/**
 * Durable summary delivery: a CallRecordSink that wraps the webhook sender with an on-disk spool
 * (SUMMARY_SPOOL_DIR), so call records survive a slow or down webhook and a crash of this process.
 *
 * - deliver(): the record is written durably (see spool-store.ts) BEFORE the first attempt; success deletes
 *   the file; a retryable failure keeps it and retries in the background with capped exponential backoff
 *   plus jitter, until delivered (no retry limit: the file stays until the receiver takes it).
 * - holdProvisional(): the call has ended but its summary is not written yet. The record (fallback summary,
 *   transcript so far) is written durably, marked `provisional: true`, and NOT delivered; the final
 *   deliver() of the same idempotency key replaces the file. So the receiver sees one delivery per call:
 *   the final record while this process lives, the provisional one (marked) when it died first. A held
 *   record not replaced within `provisionalTimeoutMs` (the ending path failed) is delivered as it is.
 * - start(): replays every file left by an earlier run, oldest first, with bounded concurrency (provisional
 *   records included, still marked); corrupt files are renamed to `.bad` with a warning.
 * - At-least-once: a record may arrive twice (a crash between the receiver's 2xx and our delete, or a replay
 *   racing a late success). Receivers dedupe on `idempotency_key` in the JSON body (also sent as the
 *   `Idempotency-Key` header).
 * - A receiver that rejects a record (non-retryable 4xx) gets no more attempts: the file is renamed to
 *   `.rejected` and kept for an operator.
 * - Bounded: at most `maxFiles` entries. Beyond that a record is not spooled; it gets one best-effort
 *   attempt and, if that fails, is counted `dropped` and logged at error level. Nothing is dropped silently.
 * Without SUMMARY_SPOOL_DIR there is no spool: the webhook sender's own few retries are all there is, and a
 * record still undelivered after them, or pending when the process dies, is lost (best-effort delivery).
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import { intInRange } from '../config/env-fields.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { exponentialDelayMs } from '../util/backoff.js';
import {
  ensureSpoolDir,
  listSpool,
  readEnvelope,
  readyPath,
  recoverPartial,
  removeEntry,
  serializeEnvelope,
  setAside,
  SpoolCorruptError,
  spoolFileStem,
  writeDurably,
} from './spool-store.js';
import { isRetryableStatus, type CallRecord, type CallRecordSink, type DeliveryResult, type WebhookOutcome } from './webhook.js';

export const spoolEnvShape = {
  /** Directory for pending summary deliveries (created if missing). Unset: no spool, best-effort delivery. */
  SUMMARY_SPOOL_DIR: z.string().min(1).optional(),
  /** Most records kept waiting in the spool; beyond it new records get one attempt and are counted dropped. */
  SUMMARY_SPOOL_MAX_FILES: intInRange(1, 1_000_000).default(10_000),
};
export const spoolEnvSchema = z.object(spoolEnvShape);
export type SpoolEnv = z.infer<typeof spoolEnvSchema>;

export interface SpoolRetrySchedule {
  /** Delay before the first background retry. */
  initialMs: number;
  /** Cap on the delay, however many attempts failed. */
  maxMs: number;
  /** Fraction (0–1) of the delay taken off at random so a backlog does not retry in lock-step. */
  jitter: number;
}

export const DEFAULT_SPOOL_RETRY_SCHEDULE: SpoolRetrySchedule = { initialMs: 5_000, maxMs: 300_000, jitter: 0.2 };

/**
 * Delay before background retry number `failures` (1 = after the first failed attempt):
 * initialMs · 2^(failures−1), capped at maxMs, minus up to `jitter` of it. `random` returns [0, 1).
 */
export function spoolRetryDelayMs(failures: number, schedule: SpoolRetrySchedule, random: () => number): number {
  const base = exponentialDelayMs(failures, schedule.initialMs, schedule.maxMs);
  const jitter = Math.min(1, Math.max(0, schedule.jitter));
  return Math.round(base * (1 - jitter * Math.min(1, Math.max(0, random()))));
}

/** The metric series the spool feeds (a subset of src/server/metrics.ts `Metrics`). */
export interface SpoolMetrics {
  webhookDeliveries: { inc(outcome: WebhookOutcome): void };
  webhookSpoolDepth: { set(depth: number): void };
}

export interface SpoolingSinkOptions {
  dir: string;
  inner: CallRecordSink;
  clock: Clock;
  logger: Logger;
  /** Default 10,000. */
  maxFiles?: number;
  retrySchedule?: SpoolRetrySchedule;
  /** Background deliveries (replay and retries) in flight at once. Default 4. */
  concurrency?: number;
  metrics?: SpoolMetrics;
  /** Jitter source, default Math.random. */
  random?: () => number;
  /** Wall time written into each file (`spooled_at`), default now. */
  wallClock?: () => Date;
  /**
   * How long a provisional record waits for its final one before it is delivered as it is (a safety net:
   * every ending path delivers within SUMMARY_TIMEOUT_MS + FAREWELL_TIMEOUT_MS). Default 180 s.
   */
  provisionalTimeoutMs?: number;
}

export interface SpoolStartReport {
  /** Entries found on disk and queued for delivery. */
  replayed: number;
  /** Complete temporary files (crash between write and rename) moved back into the spool. */
  recovered: number;
  /** Unreadable temporary files set aside as `.bad` (corrupt `.json` files are found when read). */
  quarantined: number;
}

export interface SpoolingSink extends CallRecordSink {
  /** See the file comment: durable, marked `provisional: true`, replaced by the final deliver() of its key. */
  holdProvisional(record: CallRecord): Promise<void>;
  /** Replays what an earlier run left (without waiting for delivery). Throws if the directory is unusable. */
  start(): Promise<SpoolStartReport>;
  /** Records waiting in the spool (being attempted or waiting for a retry). */
  depth(): number;
  /** Resolves when no background delivery is queued or running (retry timers may still be pending). */
  idle(): Promise<void>;
  /** Stops retry timers and waits for running attempts; pending files stay on disk for the next start. */
  close(): Promise<void>;
}

/** `held`: a provisional record on disk, not to be delivered yet; `ready`: deliver (and retry) it. */
type EntryPhase = 'held' | 'ready';

interface Entry {
  stem: string;
  phase: EntryPhase;
  /** Writes to this entry's file, in call order (a provisional write never lands after the final one). */
  writes: Promise<unknown>;
  path: string;
  key: string | undefined;
  /** Failed attempts so far (drives the backoff). */
  failures: number;
  /** Bumped when deliver() rewrites the file, so an older attempt's success does not delete the newer file. */
  generation: number;
  timer: TimerHandle | undefined;
  queued: boolean;
}

function newEntry(stem: string, path: string, key: string | undefined, phase: EntryPhase): Entry {
  return { stem, phase, writes: Promise.resolve(), path, key, failures: 0, generation: 0, timer: undefined, queued: false };
}

type AttemptOutcome = 'delivered' | 'rejected' | 'retry';

function classify(result: DeliveryResult): AttemptOutcome {
  if (result.delivered) return 'delivered';
  // A status the receiver chose (4xx other than 408/429) will not change on retry.
  if (result.status !== undefined && !isRetryableStatus(result.status)) return 'rejected';
  return 'retry';
}

export function createSpoolingSink(options: SpoolingSinkOptions): SpoolingSink {
  const { dir, inner, clock, logger } = options;
  const maxFiles = options.maxFiles ?? 10_000;
  const schedule = options.retrySchedule ?? DEFAULT_SPOOL_RETRY_SCHEDULE;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const random = options.random ?? Math.random;
  const wallClock = options.wallClock ?? (() => new Date());
  const provisionalTimeoutMs = options.provisionalTimeoutMs ?? 180_000;
  const count = (outcome: WebhookOutcome) => options.metrics?.webhookDeliveries.inc(outcome);

  const entries = new Map<string, Entry>();
  const queue: Entry[] = [];
  let running = 0;
  let closed = false;
  let idleWaiters: Array<() => void> = [];
  let dirReady: Promise<void> | undefined;

  const ensureDir = () => (dirReady ??= ensureSpoolDir(dir).catch((err: unknown) => {
    dirReady = undefined;
    throw err;
  }));

  const publishDepth = () => options.metrics?.webhookSpoolDepth.set(entries.size);

  /** Writes `record` as the entry's file after any write already under way for it. */
  function writeEntry(entry: Entry, record: CallRecord): Promise<void> {
    const write = entry.writes.then(async () => {
      await ensureDir();
      await writeDurably(dir, entry.stem, serializeEnvelope(record, wallClock()));
    });
    entry.writes = write.catch(() => undefined);
    return write;
  }

  /** The provisional record's safety net: its final record never came, so deliver it as it is. */
  function releaseHeld(entry: Entry): void {
    entry.timer = undefined;
    if (entry.phase !== 'held' || entries.get(entry.stem) !== entry) return;
    entry.phase = 'ready';
    logger.warn({ idempotencyKey: entry.key, waitedMs: provisionalTimeoutMs }, 'no final call record came; delivering the provisional one');
    enqueue(entry);
  }

  function forget(entry: Entry): void {
    if (entries.get(entry.stem) !== entry) return;
    clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    entries.delete(entry.stem);
    publishDepth();
  }

  function enqueue(entry: Entry): void {
    if (closed || entry.queued) return;
    entry.queued = true;
    queue.push(entry);
    pump();
  }

  function scheduleRetry(entry: Entry): void {
    if (closed || entry.phase === 'held' || entry.timer !== undefined || entry.queued || entries.get(entry.stem) !== entry) return;
    const delayMs = spoolRetryDelayMs(entry.failures, schedule, random);
    entry.timer = clock.setTimeout(() => {
      entry.timer = undefined;
      enqueue(entry);
    }, delayMs);
    logger.debug({ idempotencyKey: entry.key, failures: entry.failures, delayMs }, 'summary delivery retry scheduled');
  }

  function pump(): void {
    while (!closed && running < concurrency && queue.length > 0) {
      const entry = queue.shift()!;
      entry.queued = false;
      running++;
      void attemptFromDisk(entry)
        .catch((err: unknown) => {
          // Disk trouble reading or renaming: keep the entry and try again later.
          logger.error({ err, file: entry.path }, 'summary spool entry could not be processed');
          entry.failures++;
          scheduleRetry(entry);
        })
        .finally(() => {
          running--;
          pump();
          if (running === 0 && queue.length === 0) {
            const waiters = idleWaiters;
            idleWaiters = [];
            for (const resolve of waiters) resolve();
          }
        });
    }
  }

  async function attemptFromDisk(entry: Entry): Promise<void> {
    const generation = entry.generation;
    let record: CallRecord;
    try {
      record = (await readEnvelope(entry.path)).record;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        forget(entry); // delivered and removed by a newer attempt
        return;
      }
      if (err instanceof SpoolCorruptError) {
        const moved = await setAside(entry.path, 'bad').catch(() => undefined);
        forget(entry);
        logger.warn({ file: entry.path, movedTo: moved, reason: err.message }, 'corrupt summary spool file set aside');
        return;
      }
      throw err;
    }
    entry.key = record.idempotency_key;
    const result = await deliverSafely(record);
    await settle(entry, generation, result, 'background');
  }

  async function deliverSafely(record: CallRecord): Promise<DeliveryResult> {
    try {
      return await inner.deliver(record);
    } catch (err) {
      return { delivered: false, attempts: 1, error: (err as Error).message };
    }
  }

  /** Acts on an attempt's result for a spooled entry; returns what happened. */
  async function settle(
    entry: Entry,
    generation: number,
    result: DeliveryResult,
    origin: 'first' | 'background',
  ): Promise<AttemptOutcome> {
    const outcome = classify(result);
    const log = { idempotencyKey: entry.key, attempts: result.attempts, status: result.status, error: result.error };
    if (outcome === 'delivered') {
      count('delivered');
      if (entry.generation === generation) {
        await removeEntry(entry.path);
        forget(entry);
      }
      if (origin === 'background') logger.info({ idempotencyKey: entry.key, failures: entry.failures }, 'spooled summary delivered');
      return outcome;
    }
    if (outcome === 'rejected') {
      count('failed');
      if (entry.generation === generation) {
        const moved = await setAside(entry.path, 'rejected').catch(() => undefined);
        forget(entry);
        logger.error({ ...log, movedTo: moved }, 'summary webhook rejected the record; kept aside, not retried');
      }
      return outcome;
    }
    entry.failures++;
    count(origin === 'first' ? 'spooled' : 'retry');
    logger.warn({ ...log, failures: entry.failures }, 'summary delivery failed; kept in the spool for retry');
    scheduleRetry(entry);
    return outcome;
  }

  /** No spool slot (cap reached or disk failing): one best-effort attempt, loudly counted if it fails. */
  async function deliverUnspooled(record: CallRecord, why: string): Promise<DeliveryResult> {
    const result = await deliverSafely(record);
    if (result.delivered) {
      count('delivered');
      return result;
    }
    count('dropped');
    logger.error(
      { idempotencyKey: record.idempotency_key, why, status: result.status, error: result.error, depth: entries.size },
      'summary record could not be spooled and its delivery failed: dropped',
    );
    return result;
  }

  return {
    async holdProvisional(record) {
      const stem = spoolFileStem(record.idempotency_key);
      const existing = entries.get(stem);
      // The final record is already in (or on its way): a provisional one must never replace it.
      if (existing) return;
      if (entries.size >= maxFiles) {
        logger.warn({ idempotencyKey: record.idempotency_key, depth: entries.size }, 'spool full: provisional call record not kept');
        return;
      }
      const entry = newEntry(stem, readyPath(dir, stem), record.idempotency_key, 'held');
      entries.set(stem, entry);
      publishDepth();
      try {
        await writeEntry(entry, { ...record, provisional: true });
      } catch (err) {
        logger.error({ err, idempotencyKey: record.idempotency_key }, 'provisional call record could not be spooled');
        if (entry.phase === 'held') forget(entry);
        return;
      }
      if (entry.phase === 'held' && !closed && entries.get(stem) === entry) {
        entry.timer = clock.setTimeout(() => releaseHeld(entry), provisionalTimeoutMs);
      }
      logger.debug({ idempotencyKey: record.idempotency_key }, 'provisional call record spooled');
    },

    async deliver(record) {
      const stem = spoolFileStem(record.idempotency_key);
      let entry = entries.get(stem);
      if (!entry && entries.size >= maxFiles) return deliverUnspooled(record, `spool full (${maxFiles} files)`);
      const created = !entry;
      entry ??= newEntry(stem, readyPath(dir, stem), record.idempotency_key, 'ready');
      if (created) {
        entries.set(stem, entry);
        publishDepth();
      }
      const wasHeld = entry.phase === 'held';
      if (wasHeld) {
        clock.clearTimeout(entry.timer);
        entry.timer = undefined;
        entry.phase = 'ready';
      }
      try {
        await writeEntry(entry, record);
      } catch (err) {
        logger.error({ err, idempotencyKey: record.idempotency_key }, 'summary spool write failed');
        // A provisional file may remain: it is removed only if this attempt delivers the final record;
        // otherwise the next start delivers the provisional one (so the call is not lost).
        const result = await deliverUnspooled(record, 'spool write failed');
        if (result.delivered && wasHeld) await removeEntry(entry.path).catch(() => undefined);
        if (result.delivered || created || wasHeld) forget(entry);
        return result;
      }
      entry.generation++;
      const generation = entry.generation;
      const result = await deliverSafely(record);
      const outcome = await settle(entry, generation, result, 'first').catch((err: unknown) => {
        logger.error({ err, idempotencyKey: record.idempotency_key }, 'summary spool update failed');
        return 'retry' as const;
      });
      return outcome === 'retry' ? { ...result, delivered: false, spooled: true } : result;
    },

    async start() {
      await ensureDir();
      const first = await listSpool(dir);
      let recovered = 0;
      let quarantined = 0;
      for (const tmp of first.partial) {
        const result = await recoverPartial(dir, tmp);
        if (result.stem) recovered++;
        if (result.corrupt) {
          quarantined++;
          logger.warn({ file: tmp, reason: result.corrupt.message }, 'incomplete summary spool file set aside');
        }
      }
      const listing = recovered > 0 ? await listSpool(dir) : first;
      let replayed = 0;
      for (const { stem, path } of listing.ready) {
        if (entries.has(stem)) continue;
        const entry = newEntry(stem, path, undefined, 'ready');
        entries.set(stem, entry);
        replayed++;
        enqueue(entry);
      }
      publishDepth();
      logger.info(
        { dir, replayed, recovered, quarantined, setAside: listing.setAside },
        replayed > 0 ? 'replaying spooled summary deliveries' : 'summary spool ready',
      );
      return { replayed, recovered, quarantined };
    },

    depth: () => entries.size,

    idle() {
      if (running === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },

    async close() {
      closed = true;
      for (const entry of entries.values()) {
        clock.clearTimeout(entry.timer);
        entry.timer = undefined;
      }
      for (const entry of queue.splice(0)) entry.queued = false;
      if (running > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
