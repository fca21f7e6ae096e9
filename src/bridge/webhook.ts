/**
 * Delivers the call record to SUMMARY_WEBHOOK_URL for every ending (bot-ended, caller hang-up, error).
 * JSON body; `X-Signature: sha256=<hex HMAC-SHA256 of the exact body>` when a secret is set; an
 * `Idempotency-Key` header equal to the payload's key so receivers can drop retried duplicates.
 * Bounded: a per-attempt timeout and a few retries with exponential backoff; on its own this is best-effort.
 * With SUMMARY_SPOOL_DIR, src/bridge/spool.ts wraps it (same `CallRecordSink` seam) for at-least-once delivery.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from 'pino';
import { intInRange, msInRange } from '../config/env-fields.js';
import type { Clock } from '../util/clock.js';
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
  idempotency_key: string;
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
  usage: UsageTotals;
  model: string;
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
}

export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Delay before retry `attempt` (1-based): 500 ms, 1 s, 2 s … capped at 8 s. */
export function retryDelayMs(attempt: number): number {
  return exponentialDelayMs(attempt, 500, 8000);
}

/** Retry network failures, timeouts, 408, 429 and 5xx; not other 4xx (the receiver rejected the record). */
export const isRetryableStatus: (status: number) => boolean = isRetryableHttpStatus;

export interface WebhookSenderOptions {
  url: string;
  secret?: string;
  timeoutMs: number;
  retries: number;
  clock: Clock;
  logger: Logger;
  fetchImpl?: typeof fetch;
}

export function createWebhookSender(options: WebhookSenderOptions): CallRecordSink {
  const doFetch = options.fetchImpl ?? fetch;
  const pause = (ms: number) => sleep(options.clock, ms);

  async function attempt(body: string, headers: Record<string, string>): Promise<{ status?: number; error?: string }> {
    const controller = new AbortController();
    const timer = options.clock.setTimeout(() => controller.abort(), options.timeoutMs);
    try {
      const res = await doFetch(options.url, { method: 'POST', headers, body, signal: controller.signal });
      await res.arrayBuffer().catch(() => undefined);
      return { status: res.status };
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
      if (options.secret) headers['x-signature'] = signBody(body, options.secret);
      let last: { status?: number; error?: string } = {};
      for (let n = 1; n <= options.retries + 1; n++) {
        last = await attempt(body, headers);
        if (last.status !== undefined && last.status >= 200 && last.status < 300) {
          return { delivered: true, attempts: n, status: last.status };
        }
        const retryable = last.status === undefined || isRetryableStatus(last.status);
        options.logger.warn(
          { idempotencyKey: record.idempotency_key, sessionId: record.session_id, attempt: n, status: last.status, error: last.error, retryable },
          'summary webhook delivery failed',
        );
        if (!retryable || n > options.retries) return { delivered: false, attempts: n, ...last };
        await pause(retryDelayMs(n));
      }
      return { delivered: false, attempts: options.retries + 1, ...last };
    },
  };
}
