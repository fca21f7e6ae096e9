/**
 * One ending path for every way a call ends. `planEnding` (pure) says, per ending, which summary, which
 * outputs and which `disconnect`; `runEnding` runs the single sequence:
 *
 *   stop call work → [provisional record to the sink] → summary (model, bounded, or the transcript
 *   fallback) → output variables → `disconnect` where the protocol allows → call record to the sink (in
 *   the background).
 *
 * The provisional record (fallback summary, transcript and usage so far, `provisional: true`) is what
 * survives a crash while the model writes the summary: a durable sink (the spool) keeps it without
 * delivering it and the final record replaces it, so the receiver sees one record per call either way.
 * Endings that use the fallback summary at once have no such window: their final record goes straight
 * to the sink.
 *
 * Endings: the bot ended the call or escalated (after its farewell), the model became unavailable, the
 * caller hung up (or the socket dropped), the server is shutting down, or the call failed.
 */
import type { Logger } from 'pino';
import type { ResponseCreateEvent } from 'openai/resources/realtime/realtime';
import type { CallContext, CallControl, CloseCause } from '../audiohook/handler.js';
import type { DisconnectReason } from '../audiohook/schemas.js';
import type { SummaryOutcome } from '../realtime/model-session.js';
import type { Clock } from '../util/clock.js';
import { buildOutputVariables, SERVER_SHUTDOWN, SHUTDOWN_OUTPUT_VARIABLES } from './outputs.js';
import type { ToolCallRecord } from '../tools/registry.js';
import { buildCallRecord } from './record.js';
import { buildSummaryRequest, fallbackSummary, parseSummaryText, responseText, type SummaryResult } from './summary.js';
import type { Transcript } from './transcript.js';
import type { UsageTotals } from './usage.js';
import type { CallEndReason, CallRecord, CallRecordSink, DeliveryResult } from './webhook.js';

/**
 * At server shutdown the session gives onShutdown 3 s to disconnect: the model's summary gets at most this
 * long, leaving room for the disconnect itself on a loaded machine.
 */
export const SHUTDOWN_SUMMARY_TIMEOUT_MS = 1500;

export type Ending =
  /** The bot's end_call / transfer_to_agent / max call duration, after the farewell. */
  | { kind: 'bot_ended' | 'escalated'; reason: string; detail?: string }
  /** The model is gone for good after the caller talked with the bot. */
  | { kind: 'model_unavailable'; cause: string }
  /** Genesys closed the session (caller hang-up, flow end) or the socket dropped. */
  | { kind: 'closed'; cause: CloseCause }
  /** Server shutdown, drain time up. */
  | { kind: 'shutdown' }
  /** The call cannot go on (bad input variable, no model configured, model never ready). */
  | { kind: 'failure'; info: string };

export interface EndingPlan {
  endReason: CallEndReason;
  /** Ask the model for the summary (bounded by summaryTimeoutMs) or use the transcript fallback at once. */
  summary: 'model' | 'fallback';
  summaryTimeoutMs: number;
  /** The `disconnect` to send; none when Genesys already closed. */
  disconnect?: { reason: DisconnectReason; info?: string; outputs: boolean };
  escalationReason?: string;
  /** The record's end_detail. */
  detail?: string;
  /** Added to the output variables (shutdown). */
  extraOutputs?: Readonly<Record<string, string>>;
}

/**
 * What each ending does (pure). `pendingEscalation`: the reason of a transfer the bot had started when
 * another ending took over (hang-up or failure mid-farewell): the record still says the caller needs a human.
 */
export function planEnding(ending: Ending, facts: { pendingEscalation?: string; summaryTimeoutMs: number }): EndingPlan {
  const pending = facts.pendingEscalation !== undefined ? { escalationReason: facts.pendingEscalation } : {};
  switch (ending.kind) {
    case 'bot_ended':
    case 'escalated':
      return {
        endReason: ending.kind,
        summary: 'model',
        summaryTimeoutMs: facts.summaryTimeoutMs,
        disconnect: { reason: 'completed', ...(ending.detail !== undefined ? { info: ending.detail } : {}), outputs: true },
        ...(ending.kind === 'escalated' ? { escalationReason: ending.reason } : {}),
        ...(ending.detail !== undefined ? { detail: ending.detail } : {}),
      };
    case 'model_unavailable':
      // Outputs only travel with `completed`; the flow's escalation branch transfers the caller with context.
      return {
        endReason: 'escalated',
        summary: 'fallback',
        summaryTimeoutMs: 0,
        disconnect: { reason: 'completed', info: `model unavailable: ${ending.cause}`, outputs: true },
        escalationReason: 'model_unavailable',
        detail: ending.cause,
      };
    case 'closed': {
      // `close end` is the caller (or the flow) hanging up; a client `error` close or a dropped socket is an error.
      const cause = ending.cause;
      const endReason: CallEndReason = cause.kind === 'close' && cause.reason !== 'error' ? 'caller_hangup' : 'error';
      const detail = cause.kind === 'close' ? `close ${cause.reason}` : `socket closed (code ${cause.code})`;
      return { endReason, summary: 'model', summaryTimeoutMs: facts.summaryTimeoutMs, ...pending, detail };
    }
    case 'shutdown':
      // No farewell: it needs a model round trip plus ~2 s of speech plus the playout, which does not fit in
      // the 3 s next to the summary; a farewell cut mid-word is worse than none — the agent greets the caller.
      return {
        endReason: 'shutdown',
        summary: 'model',
        summaryTimeoutMs: Math.min(SHUTDOWN_SUMMARY_TIMEOUT_MS, facts.summaryTimeoutMs),
        disconnect: { reason: 'completed', info: 'server shutting down', outputs: true },
        escalationReason: SERVER_SHUTDOWN,
        detail: SERVER_SHUTDOWN,
        extraOutputs: SHUTDOWN_OUTPUT_VARIABLES,
      };
    case 'failure':
      // `disconnect error`: Architect's failure path routes the caller.
      return { endReason: 'error', summary: 'fallback', summaryTimeoutMs: 0, disconnect: { reason: 'error', info: ending.info, outputs: false }, ...pending, detail: ending.info };
  }
}

/** What the ending needs from the call. */
export interface EndingCall {
  /** The call's unique id (CallBridge.callId), for the record once it carries one. */
  callId: string;
  log: Logger;
  clock: Clock;
  wallClock: () => Date;
  context: CallContext;
  control: CallControl;
  transcript: Transcript;
  usage: () => UsageTotals;
  startedAt: Date;
  startedMs: number;
  model: string;
  /** The bot profile's name ('' for the single bot from env). */
  bot?: string;
  /** The call's tool calls so far (read after stopCallWork, so cancelled ones are included). */
  tools?: () => readonly ToolCallRecord[];
  sink: CallRecordSink | undefined;
  /** Stops everything the call does (audio, keys, timers, model retries); the model stays for the summary. */
  stopCallWork(): void;
  /** An out-of-band summary response on the call's model session. */
  summarize(request: ResponseCreateEvent, timeoutMs: number): Promise<SummaryOutcome>;
  closeModel(): void;
  /** Keeps background work (the record delivery) tracked for graceful shutdown. */
  background(work: Promise<void>): void;
  /** The call is over: the record and its delivery outcome (observers, call events). */
  finished(record: CallRecord, delivery: DeliveryResult | undefined): void;
}

/**
 * Runs the ending sequence. Resolves once the `disconnect` is sent (or would have been); the record
 * delivery continues in the background. With the fallback summary it runs synchronously up to the
 * disconnect, so the disconnect leaves in the same turn as the event that ended the call.
 */
export async function runEnding(call: EndingCall, ending: Ending, plan: EndingPlan): Promise<void> {
  call.stopCallWork();
  const endedAt = call.wallClock();
  let summary: SummaryResult;
  if (plan.summary === 'model') {
    await holdProvisional(call, plan, endedAt);
    summary = await modelSummary(call, plan);
  } else {
    summary = fallbackOf(call, plan);
  }
  if (plan.disconnect) {
    const outputs = plan.disconnect.outputs
      ? {
          ...buildOutputVariables({
            summary,
            ...(plan.escalationReason !== undefined ? { escalation: { reason: plan.escalationReason } } : {}),
            durationMs: call.clock.now() - call.startedMs,
            usage: call.usage(),
          }),
          ...plan.extraOutputs,
        }
      : undefined;
    call.control.disconnect(plan.disconnect.reason, plan.disconnect.info, outputs);
  }
  call.background(deliverRecord(call, plan, summary, ending, endedAt));
}

function fallbackOf(call: EndingCall, plan: EndingPlan): SummaryResult {
  return fallbackSummary(call.transcript.turns(), {
    endReason: plan.endReason,
    ...(plan.escalationReason !== undefined ? { escalationReason: plan.escalationReason } : {}),
  });
}

/** The model's summary when the session is usable, else (or on timeout) the transcript-only fallback. */
async function modelSummary(call: EndingCall, plan: EndingPlan): Promise<SummaryResult> {
  const request = buildSummaryRequest(call.context.conversationId, plan.endReason);
  const result = await call.summarize(request, plan.summaryTimeoutMs);
  if (result.outcome === 'timeout') call.log.warn({ timeoutMs: plan.summaryTimeoutMs }, 'model summary timed out; using the transcript fallback');
  const parsed = result.outcome === 'done' ? parseSummaryText(responseText(result.response)) : undefined;
  return parsed ?? fallbackOf(call, plan);
}

/** The call's record; the provisional and the final one share the key (the call's callId). */
function recordOf(call: EndingCall, plan: EndingPlan, summary: SummaryResult, endedAt: Date): CallRecord {
  return buildCallRecord({
    callId: call.callId,
    context: call.context,
    startedAt: call.startedAt,
    endedAt,
    endReason: plan.endReason,
    ...(plan.detail !== undefined ? { endDetail: plan.detail } : {}),
    ...(plan.escalationReason !== undefined ? { escalationReason: plan.escalationReason } : {}),
    summary,
    transcript: call.transcript.turns(),
    transcriptTurnsDropped: call.transcript.droppedTurns,
    usage: call.usage(),
    model: call.model,
    ...(call.bot !== undefined ? { bot: call.bot } : {}),
    ...(call.tools ? { tools: call.tools() } : {}),
  });
}

/**
 * THE PROVISIONAL STEP: before the model is asked, the record with the fallback summary goes to a durable
 * sink (awaited: it must be on disk before the window opens). A sink without durability has nothing that
 * could outlive the process, so there is nothing to do. A failure is logged and the call goes on.
 */
async function holdProvisional(call: EndingCall, plan: EndingPlan, endedAt: Date): Promise<void> {
  if (!call.sink?.holdProvisional) return;
  try {
    await call.sink.holdProvisional(recordOf(call, plan, fallbackOf(call, plan), endedAt));
  } catch (err) {
    call.log.error({ err, callId: call.callId }, 'provisional call record could not be kept');
  }
}

/**
 * THE RECORD STEP: the one place a final call record goes to the sink; it replaces the provisional one
 * (same key) when holdProvisional kept one.
 */
async function deliverRecord(call: EndingCall, plan: EndingPlan, summary: SummaryResult, ending: Ending, endedAt: Date): Promise<void> {
  call.closeModel();
  const record = recordOf(call, plan, summary, endedAt);
  let delivery: DeliveryResult | undefined;
  if (call.sink) {
    try {
      delivery = await call.sink.deliver(record);
    } catch (err) {
      delivery = { delivered: false, attempts: 0, error: (err as Error).message };
    }
  }
  call.log.info(
    { callId: call.callId, ending: ending.kind, endReason: plan.endReason, summarySource: summary.source, webhookDelivered: delivery?.delivered, responses: call.usage().responses },
    'call finished',
  );
  call.finished(record, delivery);
}
