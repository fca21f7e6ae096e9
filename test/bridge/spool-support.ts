/** Shared by the webhook and spool tests: a call record factory, a scripted sink and a metrics recorder. */
import { existsSync } from 'node:fs';
import type { WebhookOutcome } from '../../src/server/metrics.js';
import type { SpoolMetrics } from '../../src/bridge/spool.js';
import { emptyUsage } from '../../src/bridge/usage.js';
import type { CallRecord, CallRecordSink, DeliveryResult } from '../../src/bridge/webhook.js';

export function callRecord(sessionId: string): CallRecord {
  return {
    idempotency_key: `${sessionId}:conv-${sessionId}`,
    conversation_id: `conv-${sessionId}`,
    session_id: sessionId,
    correlation_id: 'corr',
    organization_id: 'org',
    connector_id: '',
    started_at: '2026-01-01T00:00:00.000Z',
    ended_at: '2026-01-01T00:01:00.000Z',
    duration_seconds: 60,
    end_reason: 'caller_hangup',
    escalation: { required: false },
    summary: { summary: 'ok', sentiment: 'neutral', resolved: true, follow_ups: [], source: 'model' },
    transcript: [],
    usage: emptyUsage(),
    model: 'gpt-realtime',
  };
}

export interface SinkCall {
  record: CallRecord;
  /** Whether the spool file existed on disk when the attempt started. */
  fileExisted: boolean;
}

/**
 * A sink answering from a script (one result per attempt; `ok` when the script runs out). `fileFor`
 * maps a record to the spool path to check at attempt time.
 */
export function scriptedSink(script: DeliveryResult[], fileFor: (record: CallRecord) => string) {
  const calls: SinkCall[] = [];
  const sink: CallRecordSink = {
    async deliver(record) {
      calls.push({ record, fileExisted: existsSync(fileFor(record)) });
      return script.shift() ?? { delivered: true, attempts: 1, status: 200 };
    },
  };
  return { sink, calls };
}

export const down: DeliveryResult = { delivered: false, attempts: 1, status: 503 };

export function recordingMetrics() {
  const outcomes: WebhookOutcome[] = [];
  const depths: number[] = [];
  const metrics: SpoolMetrics = {
    webhookDeliveries: { inc: (outcome) => outcomes.push(outcome) },
    webhookSpoolDepth: { set: (depth) => depths.push(depth) },
  };
  return { metrics, outcomes, depths };
}
