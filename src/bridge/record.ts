/** Builds the webhook call record (pure), so every ending path produces the same shape. */
import { randomUUID } from 'node:crypto';
import type { CallContext } from '../audiohook/handler.js';
import type { ToolCallRecord } from '../tools/registry.js';
import type { SummaryResult } from './summary.js';
import type { Turn } from './transcript.js';
import type { UsageTotals } from './usage.js';
import type { CallEndReason, CallRecord } from './webhook.js';

export interface CallRecordFacts {
  /**
   * Unique per call (newCallRecordId()), the same for the provisional and the final record of one call.
   * Genesys ids alone are not: a client reusing a session id and conversation id would otherwise overwrite
   * another call's pending spool file.
   */
  callId?: string;
  context: Pick<CallContext, 'sessionId' | 'correlationId' | 'organizationId' | 'conversationId' | 'connectorId'>;
  startedAt: Date;
  endedAt: Date;
  endReason: CallEndReason;
  endDetail?: string;
  escalationReason?: string;
  summary: SummaryResult;
  transcript: Turn[];
  /** Earlier turns left out of `transcript` to its bound (src/bridge/transcript.ts); 0 or absent: none. */
  transcriptTurnsDropped?: number;
  usage: UsageTotals;
  model: string;
  /** The bot profile's name ('' or absent: the single bot from env). */
  bot?: string;
  tools?: readonly ToolCallRecord[];
}

/** A per-call unique part for the idempotency key (22 URL-safe characters, no `:`). */
export function newCallRecordId(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
}

/** The record's identity: receivers dedupe retries and spool redeliveries on it; it names the spool file. */
export function callRecordKey(sessionId: string, conversationId: string, callId: string): string {
  return `${sessionId}:${conversationId}:${callId}`;
}

export function buildCallRecord(facts: CallRecordFacts): CallRecord {
  return {
    // Without a callId (a caller that builds one record only) a fresh one is drawn: never a shared key.
    idempotency_key: callRecordKey(facts.context.sessionId, facts.context.conversationId, facts.callId ?? newCallRecordId()),
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
    ...(facts.transcriptTurnsDropped ? { transcript_turns_dropped: facts.transcriptTurnsDropped } : {}),
    usage: facts.usage,
    model: facts.model,
    bot: facts.bot ?? '',
    tools: [...(facts.tools ?? [])],
  };
}
