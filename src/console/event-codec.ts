/**
 * A CallEvent as it travels between processes for their consoles (the IPC relay between the workers of one
 * instance, src/cluster/console-relay.ts, and the fleet channel over Redis, src/fleet/console-channel.ts):
 * JSON of bounded size, parsed at the receiving edge with zod.
 *
 * Privacy at the source: with CONSOLE_TRANSCRIPTS off, transcript events and the ended record's transcript
 * are never encoded, so they never leave the process (the receiving console would drop them anyway).
 */
import { z } from 'zod';
import type { CallEvent } from '../bridge/call-events.js';
import type { CallRecord } from '../bridge/webhook.js';

/** Longest relayed event (JSON characters); the ended record dominates (the console keeps 200 turns of 2000). */
export const MAX_CONSOLE_EVENT_CHARS = 512 * 1024;
/** Turns of the ended record's transcript relayed (what the console keeps). */
const MAX_RELAYED_TURNS = 200;

const short = z.string().max(1_000);
const text = z.string().max(MAX_CONSOLE_EVENT_CHARS);
const base = { callId: short.min(1), at: z.number().finite() };

/** What the store reads of a record (src/console/store.ts); the rest passes through untouched. */
const relayedRecordSchema = z.looseObject({
  idempotency_key: short,
  session_id: short,
  conversation_id: short,
  connector_id: short,
  started_at: short,
  ended_at: short,
  duration_seconds: z.number().finite(),
  end_reason: short,
  end_detail: text.optional(),
  escalation: z.looseObject({ required: z.boolean(), reason: text.optional() }),
  summary: z.looseObject({ summary: text, sentiment: short, resolved: z.boolean(), follow_ups: z.array(text), source: short }),
  transcript: z.array(z.looseObject({ role: z.enum(['caller', 'bot']), text, truncated: z.boolean().optional() })),
  usage: z.looseObject({
    responses: z.number(),
    totalTokens: z.number(),
    inputTokens: z.number(),
    outputTokens: z.number(),
    cachedTokens: z.number(),
  }),
  model: short,
});

const deliverySchema = z.object({
  delivered: z.boolean(),
  attempts: z.number(),
  status: z.number().optional(),
  error: text.optional(),
  spooled: z.boolean().optional(),
});

const callEventSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('call.started'), sessionId: short, conversationId: short, connectorId: short, bot: short, instance: short }),
  z.object({
    ...base,
    type: z.literal('activity'),
    activity: z.enum(['connecting', 'greeting', 'listening', 'caller_speaking', 'bot_speaking', 'tool_running', 'ending']),
  }),
  z.object({ ...base, type: z.literal('caller.speech_started') }),
  z.object({ ...base, type: z.literal('caller.speech_stopped') }),
  z.object({ ...base, type: z.literal('bot.speech_started'), responseId: short }),
  z.object({ ...base, type: z.literal('bot.speech_stopped'), responseId: short }),
  z.object({ ...base, type: z.literal('barge_in'), responseId: short.optional() }),
  z.object({ ...base, type: z.literal('dtmf'), count: z.number().int().nonnegative() }),
  z.object({ ...base, type: z.literal('tool.started'), toolCallId: short, name: short }),
  z.object({
    ...base,
    type: z.literal('tool.finished'),
    toolCallId: short,
    name: short,
    outcome: z.enum(['ok', 'error', 'timeout', 'cancelled']),
    durationMs: z.number().finite(),
  }),
  z.object({ ...base, type: z.literal('model.reconnected'), purpose: z.enum(['reconnect', 'renewal']) }),
  z.object({ ...base, type: z.literal('transcript'), role: z.enum(['caller', 'bot']), text }),
  z.object({ ...base, type: z.literal('call.ended'), record: relayedRecordSchema, delivery: deliverySchema.optional() }),
]);

/**
 * The event as relayed, or undefined when it must not leave this process (a transcript with transcripts
 * off) or is too large. Pure.
 */
export function encodeConsoleEvent(event: CallEvent, transcripts: boolean): string | undefined {
  if (event.type === 'transcript' && !transcripts) return undefined;
  let relayed: CallEvent = event;
  if (event.type === 'call.ended') {
    const turns = transcripts ? event.record.transcript.slice(-MAX_RELAYED_TURNS) : [];
    relayed = { ...event, record: { ...event.record, transcript: turns } };
  }
  const json = JSON.stringify(relayed);
  return json.length <= MAX_CONSOLE_EVENT_CHARS ? json : undefined;
}

/** A relayed event parsed at the edge; undefined for anything malformed or too large. */
export function decodeConsoleEvent(json: string): CallEvent | undefined {
  if (json.length > MAX_CONSOLE_EVENT_CHARS) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return undefined;
  }
  return parseConsoleEvent(raw);
}

/** An event already parsed from JSON (e.g. inside an envelope), checked against the schema; undefined if it does not fit. */
export function parseConsoleEvent(raw: unknown): CallEvent | undefined {
  const parsed = callEventSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const event = parsed.data;
  if (event.type === 'call.ended') return { ...event, record: event.record as unknown as CallRecord } as CallEvent;
  return event as CallEvent;
}
