/**
 * Validation of one client text message up to its envelope (AudioHook spec: message envelope, mirroring the reference
 * server): size, JSON, envelope shape (version "2", UUID id, seq, serverseq, position grammar,
 * parameters), id == session id, seq == last + 1, serverseq <= our last sent seq.
 * Pure: the caller owns the counters. Reasons are short and never echo message content. Also: a client
 * `error` read into what the call hears.
 */
import { parseDurationMs } from './duration.js';
import type { ClientErrorInfo } from './handler.js';
import { clientEnvelopeSchema, clientMessageSchema, describeZodError, isKnownClientType, MAX_TEXT_MESSAGE_CHARS, type ClientEnvelope, type ClientMessage } from './schemas.js';
import { clientMessageDisposition, type SessionState } from './state.js';

export interface EnvelopeExpectations {
  sessionId: string;
  /** Seq of the last client message accepted (0 before any). */
  lastClientSeq: number;
  /** Seq of the last server message sent (0 before any). */
  lastServerSeq: number;
}

export type EnvelopeProblem =
  | 'too-large'
  | 'not-json'
  | 'bad-envelope'
  | 'wrong-id'
  | 'seq-gap'
  | 'serverseq-ahead';

export type EnvelopeCheck =
  | { ok: true; envelope: ClientEnvelope; raw: Record<string, unknown> }
  | {
      ok: false;
      problem: EnvelopeProblem;
      reason: string;
      /** The parsed envelope when only the sequencing/id checks failed (lets a lenient caller resync). */
      envelope?: ClientEnvelope;
      raw?: Record<string, unknown>;
    };

export function checkClientText(text: string, expect: EnvelopeExpectations): EnvelopeCheck {
  if (text.length > MAX_TEXT_MESSAGE_CHARS) {
    return { ok: false, problem: 'too-large', reason: `text message exceeds ${MAX_TEXT_MESSAGE_CHARS} characters` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not-json', reason: 'text message is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'bad-envelope', reason: 'message is not a JSON object' };
  }
  const raw = value as Record<string, unknown>;
  const parsed = clientEnvelopeSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, problem: 'bad-envelope', reason: `invalid message envelope: ${describeZodError(parsed.error)}` };
  }
  const envelope = parsed.data;
  if (envelope.id.toLowerCase() !== expect.sessionId.toLowerCase()) {
    return { ok: false, problem: 'wrong-id', reason: 'message id does not match the session id', envelope, raw };
  }
  if (envelope.seq !== expect.lastClientSeq + 1) {
    return {
      ok: false,
      problem: 'seq-gap',
      reason: `seq ${envelope.seq} does not follow ${expect.lastClientSeq}`,
      envelope,
      raw,
    };
  }
  if (envelope.serverseq > expect.lastServerSeq) {
    return {
      ok: false,
      problem: 'serverseq-ahead',
      reason: `serverseq ${envelope.serverseq} is ahead of the last server seq ${expect.lastServerSeq}`,
      envelope,
      raw,
    };
  }
  return { ok: true, envelope, raw };
}

/** A client `error`'s parameters as the call hears them, `retryAfter` in ms when it is a valid duration. */
export function clientErrorInfo(parameters: { code: number; message: string; retryAfter?: string | undefined }): ClientErrorInfo {
  const info: ClientErrorInfo = { code: parameters.code, message: parameters.message };
  const retryAfterMs = parameters.retryAfter === undefined ? null : parseDurationMs(parameters.retryAfter);
  if (retryAfterMs !== null) info.retryAfterMs = retryAfterMs;
  return info;
}

/**
 * What a well-sequenced client message gets in the session's current state: `unknown` (a type Genesys added
 * later: never fatal), `ignore` (`unexpected` when the call is up: worth a warning), a `violation`, or the
 * message parsed by its schema.
 */
export type Admission =
  | { kind: 'unknown' }
  | { kind: 'ignore'; unexpected: boolean }
  | { kind: 'violation'; reason: string }
  | { kind: 'message'; message: ClientMessage };

export function admitClientMessage(type: string, state: SessionState, raw: Record<string, unknown>): Admission {
  if (!isKnownClientType(type)) return { kind: 'unknown' };
  const disposition = clientMessageDisposition(type, state);
  if (disposition === 'ignore') return { kind: 'ignore', unexpected: state === 'active' || state === 'paused' };
  if (disposition === 'violation') return { kind: 'violation', reason: `unexpected ${type} message in state ${state}` };
  const parsed = clientMessageSchema.safeParse(raw);
  if (!parsed.success) return { kind: 'violation', reason: `invalid ${type} message: ${describeZodError(parsed.error)}` };
  return { kind: 'message', message: parsed.data };
}
