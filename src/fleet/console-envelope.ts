/**
 * The pure parts of the fleet console channel (src/fleet/console-channel.ts): the envelope every message on
 * the Redis channel travels in, and which calls of which process this console holds, with their expiry.
 *
 * Envelope (JSON, at most MAX_ENVELOPE_CHARS):
 *   {"v":1,"sender":"<process id>","instance":"<fleet instance id>","kind":"event","event":{CallEvent}}
 *   …"kind":"presence","rows":[CallRow…],"complete":true   every process, every interval: its live calls' rows
 *   …"kind":"hello"     a console (re)joined the channel: everyone announces their rows now
 *   …"kind":"bye"       a process leaves in order (after its calls drained)
 * `sender` is unique per process (the fleet instance id, which already names the worker, plus a random
 * suffix), so a process recognises its own messages (Redis delivers them back to their publisher) and a
 * restarted instance with the same INSTANCE_ID does not keep its predecessor's rows alive. `sender` comes
 * first in the JSON so an own message is recognised by its prefix, before any parsing.
 *
 * The event is the console codec's (src/console/event-codec.ts): with CONSOLE_TRANSCRIPTS off, transcript
 * text is never encoded, so it never reaches Redis.
 */
import { z } from 'zod';
import type { CallEvent } from '../bridge/call-events.js';
import { encodeConsoleEvent, MAX_CONSOLE_EVENT_CHARS, parseConsoleEvent } from '../console/event-codec.js';
import type { CallRow } from '../console/wire.js';

export const ENVELOPE_VERSION = 1;
/** Rows of one presence message, in JSON characters (a row is a few hundred; MAX_SESSIONS per process fits). */
export const MAX_PRESENCE_CHARS = 256 * 1024;
/** Longest message read from the channel: the largest event plus the envelope. */
export const MAX_ENVELOPE_CHARS = MAX_CONSOLE_EVENT_CHARS + 4096;
/** Processes one console follows at once, and live calls per process: a bound whatever the channel carries. */
export const MAX_SENDERS = 1000;
export const MAX_CALLS_PER_SENDER = 10_000;

export interface Origin {
  /** Unique per process. */
  sender: string;
  /** The fleet instance id (per worker when clustered). */
  instance: string;
}

export type ConsoleEnvelope = Origin &
  (
    | { kind: 'event'; event: CallEvent }
    | { kind: 'presence'; rows: CallRow[]; complete: boolean }
    | { kind: 'hello' }
    | { kind: 'bye' }
  );

export type InboundDropReason = 'malformed' | 'too_large' | 'capacity';

export type Decoded = { own: true } | { own: false; dropped: InboundDropReason } | { own: false; envelope: ConsoleEnvelope };

const head = (origin: Origin) => `{"v":${ENVELOPE_VERSION},"sender":${JSON.stringify(origin.sender)},"instance":${JSON.stringify(origin.instance)}`;

/** The start of every message this process publishes (the own-message check). */
export const ownPrefix = (sender: string) => `{"v":${ENVELOPE_VERSION},"sender":${JSON.stringify(sender)},`;

/** The event's message; undefined when it must not leave the process (transcripts off) or is too large. */
export function encodeEventEnvelope(origin: Origin, event: CallEvent, transcripts: boolean): string | undefined {
  const json = encodeConsoleEvent(event, transcripts);
  return json === undefined ? undefined : `${head(origin)},"kind":"event","event":${json}}`;
}

/** This process's live rows; as many as fit MAX_PRESENCE_CHARS (then `complete` is false). */
export function encodePresence(origin: Origin, rows: readonly CallRow[], maxChars = MAX_PRESENCE_CHARS): string {
  const parts: string[] = [];
  let size = 0;
  for (const row of rows) {
    const json = JSON.stringify(row);
    if (size + json.length + 1 > maxChars) break;
    parts.push(json);
    size += json.length + 1;
  }
  return `${head(origin)},"kind":"presence","complete":${parts.length === rows.length},"rows":[${parts.join(',')}]}`;
}

export function encodeSignal(origin: Origin, kind: 'hello' | 'bye'): string {
  return `${head(origin)},"kind":"${kind}"}`;
}

const short = z.string().max(1_000);
const count = z.number().int().nonnegative();
const rowSchema = z.object({
  callId: short.min(1),
  bot: short,
  connectorId: short,
  conversationId: short,
  instance: short,
  startedAt: z.number().finite(),
  activity: z.enum(['connecting', 'greeting', 'listening', 'caller_speaking', 'bot_speaking', 'tool_running', 'ending']),
  bargeIns: count,
  toolCalls: count,
  reconnects: count,
  dtmfEntries: count,
});
const originShape = { v: z.literal(ENVELOPE_VERSION), sender: short.min(1), instance: short };
const envelopeSchema = z.discriminatedUnion('kind', [
  // The event is checked by the console codec's own schema.
  z.object({ ...originShape, kind: z.literal('event'), event: z.unknown() }),
  z.object({ ...originShape, kind: z.literal('presence'), complete: z.boolean(), rows: z.array(rowSchema).max(MAX_CALLS_PER_SENDER) }),
  z.object({ ...originShape, kind: z.literal('hello') }),
  z.object({ ...originShape, kind: z.literal('bye') }),
]);

/** A message from the channel, parsed at the edge: this process's own, dropped (why), or an envelope. Pure. */
export function decodeEnvelope(text: string, ownSender: string): Decoded {
  if (text.startsWith(ownPrefix(ownSender))) return { own: true };
  if (text.length > MAX_ENVELOPE_CHARS) return { own: false, dropped: 'too_large' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { own: false, dropped: 'malformed' };
  }
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) return { own: false, dropped: 'malformed' };
  const { v: _v, ...message } = parsed.data;
  if (message.sender === ownSender) return { own: true };
  if (message.kind !== 'event') return { own: false, envelope: message };
  const event = parseConsoleEvent(message.event);
  return event ? { own: false, envelope: { ...message, event } } : { own: false, dropped: 'malformed' };
}

interface Sender {
  instance: string;
  /** Monotonic ms of the last message. */
  lastHeard: number;
  /** Its live calls as this console knows them. */
  calls: Set<string>;
}

export interface SilentSender {
  sender: string;
  instance: string;
  calls: string[];
  silentMs: number;
}

/**
 * Which live calls this console holds for which other process, and when each process was last heard.
 * Pure and clock-injected (every method takes `now`, monotonic ms). Bounded: MAX_SENDERS processes and
 * MAX_CALLS_PER_SENDER calls each; a message beyond the bound is refused (false).
 */
export class FleetPresence {
  private readonly senders = new Map<string, Sender>();

  constructor(
    /** A process not heard from for longer than this is gone: its calls are lost. */
    readonly timeoutMs: number,
    private readonly maxSenders = MAX_SENDERS,
    private readonly maxCallsPerSender = MAX_CALLS_PER_SENDER,
  ) {}

  get size(): number {
    return this.senders.size;
  }

  /** Any message of `sender`; false when a new process is beyond the bound. */
  heard(sender: string, instance: string, now: number): boolean {
    const known = this.senders.get(sender);
    if (known) {
      known.lastHeard = now;
      return true;
    }
    if (this.senders.size >= this.maxSenders) return false;
    this.senders.set(sender, { instance, lastHeard: now, calls: new Set() });
    return true;
  }

  /** An event of `sender`'s call: its call until its ending. False when refused (bounds). */
  onEvent(sender: string, instance: string, event: CallEvent, now: number): boolean {
    if (!this.heard(sender, instance, now)) return false;
    const calls = this.senders.get(sender)!.calls;
    if (event.type === 'call.ended') calls.delete(event.callId);
    else if (!calls.has(event.callId)) {
      if (calls.size >= this.maxCallsPerSender) return false;
      calls.add(event.callId);
    }
    return true;
  }

  /**
   * `sender`'s announced live calls. Returns the calls it carried here that it no longer announces (their
   * ending never arrived), or undefined when refused. An incomplete announcement only adds calls.
   */
  onPresence(sender: string, instance: string, callIds: readonly string[], complete: boolean, now: number): string[] | undefined {
    if (!this.heard(sender, instance, now)) return undefined;
    const known = this.senders.get(sender)!;
    const announced = new Set(callIds.slice(0, this.maxCallsPerSender));
    const missing = complete ? [...known.calls].filter((id) => !announced.has(id)) : [];
    known.calls = complete ? announced : new Set([...known.calls, ...announced].slice(0, this.maxCallsPerSender));
    return missing;
  }

  /** The process left (bye): its remaining calls. */
  forget(sender: string): string[] {
    const known = this.senders.get(sender);
    this.senders.delete(sender);
    return known ? [...known.calls] : [];
  }

  /** Processes silent for longer than the timeout, removed; their calls are to be marked lost. */
  expire(now: number): SilentSender[] {
    const silent: SilentSender[] = [];
    for (const [sender, known] of this.senders) {
      const silentMs = now - known.lastHeard;
      if (silentMs <= this.timeoutMs) continue;
      this.senders.delete(sender);
      silent.push({ sender, instance: known.instance, calls: [...known.calls], silentMs });
    }
    return silent;
  }
}
