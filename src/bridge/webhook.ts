/**
 * Delivers the call record to SUMMARY_WEBHOOK_URL for every ending (bot-ended, caller hang-up, error).
 * JSON body; with a secret, `X-Signature-Timestamp: <unix seconds>` and
 * `X-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<exact body>">`, fresh on every attempt, so a
 * receiver rejecting old timestamps (verifyWebhookSignature) cannot be fed a captured POST later; an
 * `Idempotency-Key` header equal to the payload's key so receivers can drop retried duplicates.
 * Bounded: a per-attempt timeout, a few retries with exponential backoff, redirects never followed (a 3xx
 * is a failed attempt: following one would turn the POST into a GET or re-POST the record elsewhere), and
 * at most RESPONSE_BODY_LIMIT bytes of the receiver's answer read. On its own this is best-effort; with
 * SUMMARY_SPOOL_DIR, src/bridge/spool.ts wraps it (same `CallRecordSink` seam) for at-least-once delivery.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import { intInRange, msInRange } from '../config/env-fields.js';
import type { ToolCallRecord } from '../tools/registry.js';
import type { Clock } from '../util/clock.js';
import { signBody } from '../util/signing.js';
import { exponentialDelayMs, isRetryableHttpStatus } from '../util/backoff.js';
import { sleep } from '../util/timers.js';
import type { SummaryResult } from './summary.js';
import type { Turn } from './transcript.js';
import type { UsageTotals } from './usage.js';

export const webhookEnvShape = {
  SUMMARY_WEBHOOK_URL: z.string().url({ message: 'must be an http(s) URL' }).optional(),
  /** Enables the X-Signature header. */
  SUMMARY_WEBHOOK_SECRET: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  SUMMARY_WEBHOOK_TIMEOUT_MS: msInRange(500, 60_000).default(5000),
  SUMMARY_WEBHOOK_RETRIES: intInRange(0, 5).default(2),
};

/** `shutdown`: the server's drain time ended the call (escalated to an agent, src/bridge/call.ts). */
/** How a record's delivery went, as the webhook metric counts it (src/server/metrics.ts). */
export const WEBHOOK_OUTCOMES = ['delivered', 'retry', 'failed', 'spooled', 'dropped'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

export type CallEndReason = 'bot_ended' | 'escalated' | 'caller_hangup' | 'error' | 'shutdown';

export interface CallRecord {
  /** `<session id>:<conversation id>:<call id>`: the call id is unique per call (src/bridge/record.ts). */
  idempotency_key: string;
  /**
   * true: written when the call ended, before the model's summary (fallback summary, transcript so far),
   * and delivered only because this process died before the final record replaced it (spool.ts).
   * Absent on the final record.
   */
  provisional?: true;
  conversation_id: string;
  session_id: string;
  correlation_id: string;
  organization_id: string;
  connector_id: string;
  started_at: string;
  ended_at: string;
  duration_seconds: number;
  end_reason: CallEndReason;
  /** The close reason, socket code or error message behind end_reason. */
  end_detail?: string;
  escalation: { required: boolean; reason?: string };
  summary: SummaryResult;
  transcript: Turn[];
  /** The oldest turns left out of `transcript` (it keeps the last 200,000 characters); absent: none. */
  transcript_turns_dropped?: number;
  usage: UsageTotals;
  model: string;
  /** The bot profile (BOTS_FILE) the Connector ID selected; '' for the single bot from env. */
  bot?: string;
  /**
   * Each tool call of the call, in order: tool, bot, start, duration, outcome (ok, error, timeout,
   * cancelled — e.g. by the hang-up —, limited), error code; arguments and results only with
   * TOOL_LOG_ARGUMENTS=true.
   */
  tools?: ToolCallRecord[];
}

export interface DeliveryResult {
  delivered: boolean;
  attempts: number;
  status?: number;
  error?: string;
  /** Not delivered yet, but kept in the durable spool (src/bridge/spool.ts) for retry. */
  spooled?: boolean;
}

/** Where call records go: the webhook sender, or the durable spool wrapping it (spool.ts). */
export interface CallRecordSink {
  deliver(record: CallRecord): Promise<DeliveryResult>;
  /**
   * Keeps a provisional record durably, NOT delivered while this process lives; a later deliver() of the
   * same idempotency key replaces it. Only a durable sink (the spool) has it: without one there is
   * nothing that could outlive the process.
   */
  holdProvisional?(record: CallRecord): Promise<void>;
}

/** Bytes of the receiver's response body read at most (then the connection is dropped); we never use it. */
export const RESPONSE_BODY_LIMIT = 4096;
/** Characters of a redirect's Location kept in the log line. */
const LOCATION_LOG_LIMIT = 300;

// The signing scheme is shared with HTTP tools (src/tools), so it lives below both (src/util/signing.ts).
export { signBody, signedPayload, verifyWebhookSignature, type SignatureCheck, type SignatureCheckInput } from '../util/signing.js';

/** Delay before retry `attempt` (1-based): 500 ms, 1 s, 2 s … capped at 8 s. */
export function retryDelayMs(attempt: number): number {
  return exponentialDelayMs(attempt, 500, 8000);
}

/**
 * Retry network failures, timeouts, 3xx (a redirect is never followed: the URL needs fixing), 408, 429
 * and 5xx; not other 4xx (the receiver rejected the record).
 */
export function isRetryableStatus(status: number): boolean {
  return (status >= 300 && status < 400) || isRetryableHttpStatus(status);
}

/** Reads at most `limit` bytes of a response body, then cancels the rest (the connection is dropped). */
async function drainBounded(res: Response, limit: number): Promise<void> {
  const reader = res.body?.getReader();
  if (!reader) return;
  let seen = 0;
  try {
    while (seen <= limit) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
    }
    await reader.cancel();
  } catch {
    await reader.cancel().catch(() => undefined);
  }
}

export interface WebhookSenderOptions {
  url: string;
  secret?: string;
  timeoutMs: number;
  retries: number;
  clock: Clock;
  logger: Logger;
  fetchImpl?: typeof fetch;
  /** Wall clock for the signature timestamp, default Date.now. */
  wallClockMs?: () => number;
}

export function createWebhookSender(options: WebhookSenderOptions): CallRecordSink {
  const doFetch = options.fetchImpl ?? fetch;
  const pause = (ms: number) => sleep(options.clock, ms);

  const wallClockMs = options.wallClockMs ?? Date.now;

  async function attempt(body: string, baseHeaders: Record<string, string>): Promise<{ status?: number; error?: string; location?: string }> {
    const controller = new AbortController();
    const timer = options.clock.setTimeout(() => controller.abort(), options.timeoutMs);
    const headers = { ...baseHeaders };
    if (options.secret) {
      const timestamp = String(Math.floor(wallClockMs() / 1000));
      headers['x-signature-timestamp'] = timestamp;
      headers['x-signature'] = signBody(body, options.secret, timestamp);
    }
    try {
      const res = await doFetch(options.url, { method: 'POST', headers, body, signal: controller.signal, redirect: 'manual' });
      const location = res.status >= 300 && res.status < 400 ? (res.headers.get('location') ?? '') : undefined;
      await drainBounded(res, RESPONSE_BODY_LIMIT);
      return { status: res.status, ...(location !== undefined ? { location: location.slice(0, LOCATION_LOG_LIMIT) } : {}) };
    } catch (err) {
      return { error: controller.signal.aborted ? `timed out after ${options.timeoutMs} ms` : (err as Error).message };
    } finally {
      options.clock.clearTimeout(timer);
    }
  }

  return {
    async deliver(record) {
      const body = JSON.stringify(record);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'idempotency-key': record.idempotency_key,
        'user-agent': 'audiohook-realtime',
      };
      let last: { status?: number; error?: string; location?: string } = {};
      for (let n = 1; n <= options.retries + 1; n++) {
        last = await attempt(body, headers);
        if (last.status !== undefined && last.status >= 200 && last.status < 300) {
          return { delivered: true, attempts: n, status: last.status };
        }
        const retryable = last.status === undefined || isRetryableStatus(last.status);
        const { location, ...outcome } = last;
        options.logger.warn(
          {
            idempotencyKey: record.idempotency_key,
            sessionId: record.session_id,
            attempt: n,
            status: last.status,
            error: last.error,
            retryable,
            // JSON-escaped by pino and cut to LOCATION_LOG_LIMIT: the operator fixes SUMMARY_WEBHOOK_URL from it.
            ...(location !== undefined ? { location, hint: 'redirects are not followed; set SUMMARY_WEBHOOK_URL to the final URL' } : {}),
          },
          'summary webhook delivery failed',
        );
        if (!retryable || n > options.retries) return { delivered: false, attempts: n, ...outcome };
        await pause(retryDelayMs(n));
      }
      const { location: _location, ...outcome } = last;
      return { delivered: false, attempts: options.retries + 1, ...outcome };
    },
  };
}
