/** Builds the webhook call record (pure), so every ending path produces the same shape. */
import type { CallContext } from '../audiohook/handler.js';
import type { SummaryResult } from './summary.js';
import type { Turn } from './transcript.js';
import type { UsageTotals } from './usage.js';
import type { CallEndReason, CallRecord } from './webhook.js';

export interface CallRecordFacts {
  context: Pick<CallContext, 'sessionId' | 'correlationId' | 'organizationId' | 'conversationId' | 'connectorId'>;
  startedAt: Date;
  endedAt: Date;
  endReason: CallEndReason;
  endDetail?: string;
  escalationReason?: string;
  summary: SummaryResult;
  transcript: Turn[];
  usage: UsageTotals;
  model: string;
}

export function buildCallRecord(facts: CallRecordFacts): CallRecord {
  return {
    // One record per session: a receiver dedupes retries (and a future spool's redeliveries) by this key.
    idempotency_key: `${facts.context.sessionId}:${facts.context.conversationId}`,
    conversation_id: facts.context.conversationId,
    session_id: facts.context.sessionId,
    correlation_id: facts.context.correlationId,
    organization_id: facts.context.organizationId,
    connector_id: facts.context.connectorId,
    started_at: facts.startedAt.toISOString(),
    ended_at: facts.endedAt.toISOString(),
    duration_seconds: Math.max(0, Math.round((facts.endedAt.getTime() - facts.startedAt.getTime()) / 1000)),
    end_reason: facts.endReason,
    ...(facts.endDetail !== undefined ? { end_detail: facts.endDetail } : {}),
    escalation: {
      required: facts.escalationReason !== undefined,
      ...(facts.escalationReason !== undefined ? { reason: facts.escalationReason } : {}),
    },
    summary: facts.summary,
    transcript: facts.transcript,
    usage: facts.usage,
    model: facts.model,
  };
}
