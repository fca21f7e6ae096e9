/**
 * The console's memory: live calls, the last N ended calls and each call's timeline, fed by the bridge's
 * CallEvents. Every part is bounded (calls tracked, events per call, text per event, ended calls kept), so a
 * long or chatty call, or a flood of calls, cannot grow it without limit. The webhook stays the system of
 * record; this is a window.
 *
 * Privacy happens here, at the edge: transcript events are dropped on entry (and the ended record's
 * transcript removed) unless transcripts are enabled, so no later stage can leak them.
 */
import { z } from 'zod';
import type { CallEvent } from '../bridge/call-events.js';
import { buildOutputVariables, SHUTDOWN_OUTPUT_VARIABLES } from '../bridge/outputs.js';
import type { CallRecord, DeliveryResult } from '../bridge/webhook.js';
import type { BatchItem, CallRow, EndedCall, TimelineEvent, ToolOutcome, WatchedCall, WebhookOutcome } from './wire.js';

export interface ConsoleStoreOptions {
  /** Show transcript text (CONSOLE_TRANSCRIPTS). Off: it never enters the store. */
  transcripts: boolean;
  /** Ended calls kept (CONSOLE_MAX_ENDED_CALLS). */
  maxEnded: number;
  /** Live calls tracked at once; beyond it new calls are counted, not shown. */
  maxLive?: number;
  /** Timeline events kept per call. */
  maxEventsPerCall?: number;
  /** Where every change goes (the feed); must be cheap and must not throw. */
  publish?: (item: BatchItem) => void;
}

export const STORE_DEFAULTS = { maxLive: 2000, maxEventsPerCall: 2000 } as const;
/** Longest caller-influenced text kept per field (transcript turn, summary, reasons, details). */
export const MAX_TEXT = 2000;
const MAX_SHORT = 200;

const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/**
 * Why a live call left this console without its call.ended (fleet mode, src/fleet/console-channel.ts):
 * its instance went silent (died, or this console lost its link), or its instance no longer announces it
 * (the ending was lost on the way). The call's real outcome is in its webhook record.
 */
export const LOST_REASONS = ['instance_lost', 'ending_missed'] as const;
export type LostReason = (typeof LOST_REASONS)[number];
const isLost = (endReason: string) => (LOST_REASONS as readonly string[]).includes(endReason);

/**
 * Error texts (end detail, webhook error) come from peers: an API error may quote a masked key or a bearer
 * token. Anything key-shaped is replaced before it is kept.
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(/\b(?:sk|rk|pk)-[A-Za-z0-9_*-]{6,}/g, '[redacted]')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, '$1 [redacted]');
}

interface TrackedCall {
  row: CallRow;
  events: TimelineEvent[];
  truncated: boolean;
  nextSeq: number;
}

export class ConsoleStore {
  private readonly live = new Map<string, TrackedCall>();
  /** Oldest first; at most maxEnded. */
  private readonly ended: Array<{ call: EndedCall; tracked: TrackedCall }> = [];
  private readonly maxLive: number;
  private readonly maxEvents: number;
  /** Calls not shown because maxLive was reached. */
  untracked = 0;
  publish: (item: BatchItem) => void;

  constructor(private readonly options: ConsoleStoreOptions) {
    this.maxLive = options.maxLive ?? STORE_DEFAULTS.maxLive;
    this.maxEvents = options.maxEventsPerCall ?? STORE_DEFAULTS.maxEventsPerCall;
    this.publish = options.publish ?? (() => {});
  }

  get transcripts(): boolean {
    return this.options.transcripts;
  }

  /** `origin.instance`: the process that relayed the event carries the call (names a row adopted mid-call). */
  onCallEvent(event: CallEvent, origin?: { instance: string }): void {
    if (event.type === 'transcript' && !this.options.transcripts) return;
    if (event.type === 'call.started') return this.start(event);
    const call = this.live.get(event.callId) ?? this.adopt(event, origin?.instance ?? '');
    if (call === undefined) return;
    const row = call.row;
    switch (event.type) {
      case 'activity':
        row.activity = event.activity;
        this.record(call, { kind: 'activity', activity: event.activity }, event.at);
        return this.publish({ kind: 'row', row: { ...row } });
      case 'barge_in':
        row.bargeIns++;
        this.record(call, { kind: 'barge_in' }, event.at);
        return this.publish({ kind: 'row', row: { ...row } });
      case 'dtmf':
        row.dtmfEntries++;
        this.record(call, { kind: 'dtmf', count: event.count }, event.at);
        return this.publish({ kind: 'row', row: { ...row } });
      case 'tool.started':
        row.toolCalls++;
        this.record(call, { kind: 'tool.started', toolCallId: clip(event.toolCallId, MAX_SHORT), name: clip(event.name, MAX_SHORT) }, event.at);
        return this.publish({ kind: 'row', row: { ...row } });
      case 'tool.finished':
        return this.record(call, {
          kind: 'tool.finished',
          toolCallId: clip(event.toolCallId, MAX_SHORT),
          name: clip(event.name, MAX_SHORT),
          outcome: event.outcome,
          durationMs: event.durationMs,
        }, event.at);
      case 'model.reconnected':
        row.reconnects++;
        this.record(call, { kind: 'model.reconnected', purpose: event.purpose }, event.at);
        return this.publish({ kind: 'row', row: { ...row } });
      case 'transcript':
        return this.record(call, { kind: 'transcript', role: event.role, text: clip(event.text, MAX_TEXT) }, event.at);
      case 'caller.speech_started':
      case 'caller.speech_stopped':
      case 'bot.speech_started':
      case 'bot.speech_stopped':
        return this.record(call, { kind: event.type }, event.at);
      case 'call.ended':
        return this.end(call, event.record, event.delivery, event.at);
    }
  }

  /** Rows of the live calls, oldest first. */
  liveRows(): CallRow[] {
    return [...this.live.values()].map((c) => ({ ...c.row }));
  }

  /** One live call's row (a copy), or undefined. */
  liveRow(callId: string): CallRow | undefined {
    const tracked = this.live.get(callId);
    return tracked ? { ...tracked.row } : undefined;
  }

  /**
   * A live call's row as the process carrying it announces it (fleet presence): a console that started, or
   * reconnected, mid-call gets the row; one that missed events gets the current figures; a call this console
   * had marked lost is live again. An announced call that ended here for real stays ended.
   */
  upsertRow(announced: CallRow): void {
    const row: CallRow = {
      ...announced,
      callId: clip(announced.callId, MAX_SHORT),
      bot: clip(announced.bot, MAX_SHORT),
      connectorId: clip(announced.connectorId, MAX_SHORT),
      conversationId: clip(announced.conversationId, MAX_SHORT),
      instance: clip(announced.instance, MAX_SHORT),
    };
    const tracked = this.live.get(row.callId) ?? this.restoreLost(row.callId);
    if (tracked) {
      const before = tracked.row;
      if ((Object.keys(row) as Array<keyof CallRow>).every((k) => before[k] === row[k])) return;
      tracked.row = row;
      return this.publish({ kind: 'row', row: { ...row } });
    }
    if (this.ended.some((e) => e.call.callId === row.callId)) return;
    if (this.live.size >= this.maxLive) {
      this.untracked++;
      return;
    }
    this.live.set(row.callId, { row, events: [], truncated: false, nextSeq: 0 });
    this.publish({ kind: 'row', row: { ...row } });
  }

  /** A live call whose ending will not reach this console: ended here as `reason` (no record: its outcome is unknown here). */
  lose(callId: string, reason: LostReason, at: number, detail?: string): void {
    const call = this.live.get(callId);
    if (!call) return;
    call.row.activity = 'ending';
    this.record(call, { kind: 'ended', endReason: reason }, at, true);
    this.live.delete(callId);
    const ended = lostCall(call.row, reason, at, detail);
    this.ended.push({ call: ended, tracked: call });
    while (this.ended.length > this.options.maxEnded) this.ended.shift();
    this.publish({ kind: 'ended', call: ended });
  }

  /** A call marked lost that turns out alive: back to the live calls, without the lost ending on its timeline. */
  private restoreLost(callId: string): TrackedCall | undefined {
    const index = this.ended.findIndex((e) => e.call.callId === callId && isLost(e.call.endReason));
    if (index < 0) return undefined;
    const [{ call, tracked }] = this.ended.splice(index, 1) as [{ call: EndedCall; tracked: TrackedCall }];
    const last = tracked.events[tracked.events.length - 1];
    if (last?.kind === 'ended' && last.endReason === call.endReason) tracked.events.pop();
    tracked.row.activity = tracked.events.findLast((e) => e.kind === 'activity')?.activity ?? 'listening';
    this.live.set(callId, tracked);
    this.publish({ kind: 'row', row: { ...tracked.row } });
    return tracked;
  }

  /** Ended calls, newest first. */
  endedCalls(): EndedCall[] {
    return this.ended.map((e) => e.call).reverse();
  }

  /** A call's timeline so far (live or ended), or undefined when not (or no longer) held. */
  watched(callId: string): WatchedCall | undefined {
    const tracked = this.live.get(callId) ?? this.ended.find((e) => e.call.callId === callId)?.tracked;
    if (!tracked) return undefined;
    return { callId, events: tracked.events.slice(), truncated: tracked.truncated };
  }

  get liveCount(): number {
    return this.live.size;
  }

  private start(event: Extract<CallEvent, { type: 'call.started' }>): void {
    if (this.live.has(event.callId)) return;
    if (this.live.size >= this.maxLive) {
      this.untracked++;
      return;
    }
    const row: CallRow = {
      callId: clip(event.callId, MAX_SHORT),
      bot: clip(event.bot, MAX_SHORT),
      connectorId: clip(event.connectorId, MAX_SHORT),
      conversationId: clip(event.conversationId, MAX_SHORT),
      instance: clip(event.instance, MAX_SHORT),
      startedAt: event.at,
      activity: 'connecting',
      bargeIns: 0,
      toolCalls: 0,
      reconnects: 0,
      dtmfEntries: 0,
    };
    this.live.set(event.callId, { row, events: [], truncated: false, nextSeq: 0 });
    this.publish({ kind: 'row', row: { ...row } });
  }

  /** An event for a call whose start we did not see (console started mid-call): show it with what we know. */
  private adopt(event: CallEvent, instance: string): TrackedCall | undefined {
    const restored = this.restoreLost(event.callId);
    if (restored) return restored;
    if (event.type === 'call.ended') {
      // Known from its record; no timeline.
      const r = event.record;
      this.start({ type: 'call.started', callId: event.callId, at: Date.parse(r.started_at) || event.at, sessionId: r.session_id, conversationId: r.conversation_id, connectorId: r.connector_id, bot: '', instance });
    } else {
      this.start({ type: 'call.started', callId: event.callId, at: event.at, sessionId: '', conversationId: '', connectorId: '', bot: '', instance });
    }
    return this.live.get(event.callId);
  }

  private record(call: TrackedCall, body: DistributiveOmit<TimelineEvent, 'seq' | 'at'>, at: number, always = false): void {
    if (call.events.length >= this.maxEvents && !always) {
      call.truncated = true;
      return;
    }
    const event = { ...body, seq: call.nextSeq++, at } as TimelineEvent;
    call.events.push(event);
    this.publish({ kind: 'event', callId: call.row.callId, event });
  }

  private end(call: TrackedCall, record: CallRecord, delivery: DeliveryResult | undefined, at: number): void {
    call.row.activity = 'ending';
    const tools = recordTools(record);
    // Tool calls the bridge did not publish as events still reach the timeline, from the record.
    if (tools.length > 0 && !call.events.some((e) => e.kind === 'tool.started' || e.kind === 'tool.finished')) {
      tools.forEach((t, i) => {
        if (t.startedAt > 0) this.record(call, { kind: 'tool.finished', toolCallId: `record-${i}`, name: t.name, outcome: t.outcome, durationMs: t.durationMs }, t.startedAt + t.durationMs);
      });
      call.row.toolCalls = Math.max(call.row.toolCalls, tools.length);
    }
    this.record(call, { kind: 'ended', endReason: record.end_reason }, at, true);
    this.live.delete(call.row.callId);
    const ended = endedCall(call.row, record, delivery, at, this.options.transcripts);
    // A call marked lost earlier and adopted again by its ending is listed once.
    const earlier = this.ended.findIndex((e) => e.call.callId === call.row.callId);
    if (earlier >= 0) this.ended.splice(earlier, 1);
    this.ended.push({ call: ended, tracked: call });
    while (this.ended.length > this.options.maxEnded) this.ended.shift();
    this.publish({ kind: 'ended', call: ended });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The record's tool list, when the bridge includes one (names, times and outcomes only). Parsed at the edge. */
const recordToolsSchema = z.array(
  z.looseObject({
    tool: z.string(),
    started_at: z.string(),
    duration_ms: z.number().nonnegative(),
    outcome: z.enum(['ok', 'error', 'timeout', 'cancelled', 'limited']),
    error_code: z.string().optional(),
  }),
);
const MAX_TOOLS_SHOWN = 50;

function recordTools(record: CallRecord): EndedCall['tools'] {
  const parsed = recordToolsSchema.safeParse((record as { tools?: unknown }).tools ?? []);
  if (!parsed.success) return [];
  return parsed.data.slice(0, MAX_TOOLS_SHOWN).map((t) => ({
    name: clip(t.tool, MAX_SHORT),
    startedAt: Date.parse(t.started_at) || 0,
    durationMs: t.duration_ms,
    outcome: t.outcome as ToolOutcome,
    ...(t.error_code !== undefined ? { errorCode: clip(t.error_code, MAX_SHORT) } : {}),
  }));
}

/** What the console shows of a call it lost track of: the row, when it was lost and why; no record facts. */
export function lostCall(row: CallRow, reason: LostReason, at: number, detail?: string): EndedCall {
  return {
    ...row,
    activity: 'ending',
    endedAt: at,
    durationSeconds: Math.max(0, Math.round((at - row.startedAt) / 1000)),
    endReason: reason,
    ...(detail ? { endDetail: clip(detail, MAX_SHORT) } : {}),
    summary: '',
    sentiment: '',
    resolved: false,
    followUps: [],
    summarySource: '',
    escalation: { required: false },
    outputVariables: null,
    usage: { responses: 0, totalTokens: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0 },
    model: '',
    tools: [],
    webhook: { state: 'not_reported' },
  };
}

/** Endings that send `disconnect` with output variables (caller hang-up and errors send none). */
const ENDINGS_WITH_OUTPUTS = new Set(['bot_ended', 'escalated', 'shutdown']);

function webhookOutcome(delivery: DeliveryResult | undefined): WebhookOutcome {
  if (!delivery) return { state: 'not_reported' };
  const state = delivery.delivered ? 'delivered' : delivery.spooled ? 'spooled' : 'failed';
  return {
    state,
    attempts: delivery.attempts,
    ...(delivery.status !== undefined ? { status: delivery.status } : {}),
    ...(delivery.error !== undefined ? { error: clip(scrubSecrets(delivery.error), MAX_SHORT) } : {}),
  };
}

/** The ended call as the console shows it: the record's facts, clipped, without the transcript unless enabled. */
export function endedCall(row: CallRow, record: CallRecord, delivery: DeliveryResult | undefined, at: number, transcripts: boolean): EndedCall {
  const s = record.summary;
  const endedAt = Date.parse(record.ended_at) || at;
  const escalation = record.escalation.required
    ? { required: true, ...(record.escalation.reason ? { reason: clip(record.escalation.reason, MAX_TEXT) } : {}) }
    : { required: false };
  // Recomputed with the bridge's own function from the record's facts (the record does not carry them);
  // CONVERSATION_DURATION may differ by a second from the one sent (taken at the disconnect).
  const outputVariables = ENDINGS_WITH_OUTPUTS.has(record.end_reason)
    ? {
        ...buildOutputVariables({
          summary: s,
          ...(record.escalation.required ? { escalation: { reason: record.escalation.reason ?? '' } } : {}),
          durationMs: record.duration_seconds * 1000,
          usage: record.usage,
        }),
        ...(record.end_reason === 'shutdown' ? SHUTDOWN_OUTPUT_VARIABLES : {}),
      }
    : null;
  return {
    ...row,
    activity: 'ending',
    endedAt,
    durationSeconds: record.duration_seconds,
    endReason: record.end_reason,
    ...(record.end_detail ? { endDetail: clip(scrubSecrets(record.end_detail), MAX_SHORT) } : {}),
    summary: clip(s.summary, MAX_TEXT),
    sentiment: s.sentiment,
    resolved: s.resolved,
    followUps: s.follow_ups.slice(0, 20).map((f) => clip(f, MAX_SHORT)),
    summarySource: s.source,
    escalation,
    outputVariables,
    usage: {
      responses: record.usage.responses,
      totalTokens: record.usage.totalTokens,
      inputTokens: record.usage.inputTokens,
      outputTokens: record.usage.outputTokens,
      cachedTokens: record.usage.cachedTokens,
    },
    model: clip(record.model, MAX_SHORT),
    tools: recordTools(record),
    webhook: webhookOutcome(delivery),
    ...(transcripts
      ? { transcript: record.transcript.slice(-200).map((t) => ({ role: t.role, text: clip(t.text, MAX_TEXT), ...(t.truncated ? { truncated: true } : {}) })) }
      : {}),
  };
}
