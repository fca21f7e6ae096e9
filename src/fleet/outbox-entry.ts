/**
 * The outbox's entry format and its decisions, pure (no Redis, no clock of their own), so every rule is
 * tested without a server.
 *
 * An entry is one call record: `kind` final (the record a finished call produced) or provisional (written
 * at call end before the summary, so a record exists even if the instance dies while producing the final
 * one), the record's idempotency `key`, the `producer` instance and the wall time it was written (`at`).
 * The receiver must see one delivery per call: the final one if the producer lived, the provisional one if
 * it died. So a provisional entry is delivered only when no final entry was written for its key and its
 * producer is gone (or the grace period ran out: a producer that lives but never finishes the record).
 */
import { z } from 'zod';
import { isRetryableStatus, type CallRecord, type DeliveryResult } from '../bridge/webhook.js';

export const ENTRY_KINDS = ['final', 'provisional'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export interface OutboxEntry {
  id: string;
  kind: EntryKind;
  key: string;
  producer: string;
  /** Epoch ms when the producer wrote it. */
  at: number;
  record: CallRecord;
}

const fieldsSchema = z.object({
  kind: z.enum(ENTRY_KINDS),
  key: z.string().min(1),
  producer: z.string().min(1),
  at: z.coerce.number().int().nonnegative(),
  record: z.string().min(2),
});

// The record was written by this program from a typed CallRecord; its identity fields are checked so a
// foreign or damaged entry is dead-lettered, and the rest passes through (an older version's entry still delivers).
const recordSchema = z.looseObject({ idempotency_key: z.string().min(1), session_id: z.string(), conversation_id: z.string() });

export function entryFields(kind: EntryKind, record: CallRecord, producer: string, at: number): Record<string, string> {
  return { kind, key: record.idempotency_key, producer, at: String(at), record: JSON.stringify(record) };
}

export type ParsedEntry = { ok: true; entry: OutboxEntry } | { ok: false; id: string; reason: string };

export function parseEntry(id: string, fields: Record<string, string>): ParsedEntry {
  const parsed = fieldsSchema.safeParse(fields);
  if (!parsed.success) return { ok: false, id, reason: `bad fields: ${parsed.error.issues[0]?.path.join('.') ?? '?'}` };
  let json: unknown;
  try {
    json = JSON.parse(parsed.data.record);
  } catch {
    return { ok: false, id, reason: 'record is not JSON' };
  }
  const record = recordSchema.safeParse(json);
  if (!record.success) return { ok: false, id, reason: 'record lacks its identity fields' };
  if (record.data.idempotency_key !== parsed.data.key) return { ok: false, id, reason: 'key does not match the record' };
  const { kind, key, producer, at } = parsed.data;
  return { ok: true, entry: { id, kind, key, producer, at, record: record.data as unknown as CallRecord } };
}

export type ProvisionalDecision = 'supersede' | 'wait' | 'deliver';

/**
 * What to do with a provisional entry: drop it when a final one exists for its key; wait while its
 * producer is alive (it is still producing the final one) and the grace period lasts; deliver otherwise.
 */
export function decideProvisional(facts: { finalWritten: boolean; producerAlive: boolean; ageMs: number; graceMs: number }): ProvisionalDecision {
  if (facts.finalWritten) return 'supersede';
  if (facts.producerAlive && facts.ageMs < facts.graceMs) return 'wait';
  return 'deliver';
}

export type AttemptDecision =
  | { action: 'ack' }
  | { action: 'retry'; nextAttemptAt: number }
  | { action: 'dead'; cause: 'rejected' | 'max_attempts' };

/** Longest wait between two attempts on one entry. */
export const MAX_RETRY_DELAY_MS = 30 * 60_000;

/**
 * After a delivery attempt: delivered → ack; rejected by the receiver (a 4xx other than 408/429) → dead
 * letter at once (it will not change on retry); otherwise retry after claimIdle·2^(attempts−1) (capped),
 * until `maxAttempts` attempts failed → dead letter.
 */
export function decideAfterAttempt(
  result: DeliveryResult,
  failedAttempts: number,
  options: { maxAttempts: number; claimIdleMs: number; now: number },
): AttemptDecision {
  if (result.delivered) return { action: 'ack' };
  if (result.status !== undefined && !isRetryableStatus(result.status)) return { action: 'dead', cause: 'rejected' };
  if (failedAttempts >= options.maxAttempts) return { action: 'dead', cause: 'max_attempts' };
  const delay = Math.min(MAX_RETRY_DELAY_MS, options.claimIdleMs * 2 ** Math.min(20, Math.max(0, failedAttempts - 1)));
  return { action: 'retry', nextAttemptAt: options.now + delay };
}

/** The attempts bookkeeping kept per entry id in one hash: `<failed attempts>:<next attempt epoch ms>`. */
export function formatAttempts(failed: number, nextAttemptAt: number): string {
  return `${failed}:${nextAttemptAt}`;
}

export function parseAttempts(value: string | null | undefined): { failed: number; nextAttemptAt: number } {
  const m = /^(\d+):(\d+)$/.exec(value ?? '');
  return m ? { failed: Number(m[1]), nextAttemptAt: Number(m[2]) } : { failed: 0, nextAttemptAt: 0 };
}
