/**
 * What the console server sends to the browser (Server-Sent Events, JSON). Types only and no imports: the
 * front end (web/console) compiles against this same file, so the two sides cannot drift apart.
 *
 * Privacy: no caller number, no secret, no DTMF digits (only how many). Transcript text appears only in
 * `transcript` timeline events and `EndedCall.transcript`, and only when CONSOLE_TRANSCRIPTS=true.
 */

export type Activity = 'connecting' | 'greeting' | 'listening' | 'caller_speaking' | 'bot_speaking' | 'tool_running' | 'ending';

/** 'limited': refused by a per-call limit (from the call record's tool list). */
export type ToolOutcome = 'ok' | 'error' | 'timeout' | 'cancelled' | 'limited';

/** One row of the live calls table (also the head of an ended call). */
export interface CallRow {
  callId: string;
  bot: string;
  connectorId: string;
  conversationId: string;
  instance: string;
  /** Epoch ms. */
  startedAt: number;
  activity: Activity;
  bargeIns: number;
  toolCalls: number;
  reconnects: number;
  dtmfEntries: number;
}

/** A milestone on a call's timeline; `seq` counts from 0 per call, `at` is epoch ms. */
export type TimelineEvent = { seq: number; at: number } & (
  | { kind: 'caller.speech_started' }
  | { kind: 'caller.speech_stopped' }
  | { kind: 'bot.speech_started' }
  | { kind: 'bot.speech_stopped' }
  | { kind: 'barge_in' }
  | { kind: 'dtmf'; count: number }
  | { kind: 'tool.started'; toolCallId: string; name: string }
  | { kind: 'tool.finished'; toolCallId: string; name: string; outcome: ToolOutcome; durationMs: number }
  | { kind: 'model.reconnected'; purpose: 'reconnect' | 'renewal' }
  | { kind: 'activity'; activity: Activity }
  | { kind: 'transcript'; role: 'caller' | 'bot'; text: string }
  | { kind: 'ended'; endReason: string }
);

export interface WebhookOutcome {
  /** not_reported: the bridge published the ending before (or without) a delivery attempt. */
  state: 'delivered' | 'failed' | 'spooled' | 'not_reported';
  attempts?: number;
  status?: number;
  error?: string;
}

export interface EndedCall extends CallRow {
  endedAt: number;
  durationSeconds: number;
  endReason: string;
  endDetail?: string;
  summary: string;
  sentiment: string;
  resolved: boolean;
  followUps: string[];
  summarySource: string;
  escalation: { required: boolean; reason?: string };
  /** The Architect output variables of the `disconnect`; null when the call ended without one (caller hung up, error). */
  outputVariables: Record<string, string> | null;
  usage: { responses: number; totalTokens: number; inputTokens: number; outputTokens: number; cachedTokens: number };
  model: string;
  /** The call's tool calls from its record (name, start, duration, outcome; never arguments or results). */
  tools: Array<{ name: string; startedAt: number; durationMs: number; outcome: ToolOutcome; errorCode?: string }>;
  webhook: WebhookOutcome;
  /** Only when CONSOLE_TRANSCRIPTS=true. */
  transcript?: Array<{ role: 'caller' | 'bot'; text: string; truncated?: boolean }>;
}

/** One per interval (a minute by default), oldest first; counts are per minute. */
export interface HealthPoint {
  /** Epoch ms at the end of the interval. */
  t: number;
  liveCalls: number;
  callsPerMinute: number;
  /** Mean first-bot-audio latency in the interval; null without a sample. */
  firstBotAudioMs: number | null;
  bargeIns: number;
  modelErrors: number;
  webhookFailures: number;
}

export interface HealthView {
  intervalMs: number;
  points: HealthPoint[];
}

/** The calls a stream follows in detail: its own timeline events (live or ended). */
export interface WatchedCall {
  callId: string;
  events: TimelineEvent[];
  /** The per-call cap was reached: later events were not recorded (the ending always is). */
  truncated: boolean;
}

export type BatchItem =
  | { kind: 'row'; row: CallRow }
  | { kind: 'event'; callId: string; event: TimelineEvent }
  | { kind: 'ended'; call: EndedCall }
  | { kind: 'health'; health: HealthView };

export type StreamMessage =
  | {
      type: 'snapshot';
      transcripts: boolean;
      live: CallRow[];
      ended: EndedCall[];
      health: HealthView;
      watched?: WatchedCall;
    }
  | { type: 'batch'; items: BatchItem[] };
