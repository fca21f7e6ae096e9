/**
 * The model session's vocabulary (model-session.ts): the events it tells the conversation, typed from the
 * SDK's RealtimeServerEvent union, and the shapes of its verbs' options and results.
 */
import type { RealtimeResponse, RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import type { RealtimeEnv } from './env.js';
import type { SessionPurpose } from './model-connect.js';

/** The model-resilience settings (src/realtime/env.ts) the session reads. */
export type ResilienceEnv = Pick<
  RealtimeEnv,
  | 'MODEL_RETRY_BUDGET_MS'
  | 'MODEL_MAX_RECONNECTS'
  | 'MODEL_SESSION_RENEW_AFTER_MS'
  | 'MODEL_RESPONSE_TIMEOUT_MS'
  | 'MODEL_RATE_LIMIT_MAX_WAIT_MS'
>;

export type ServerEvent<T extends RealtimeServerEvent['type']> = Extract<RealtimeServerEvent, { type: T }>;

/**
 * What the session tells the conversation. Every method is optional: a listener implements what it uses.
 * Payloads are the SDK's own shapes (RealtimeServerEvent) where the event maps to one.
 */
export interface ModelSessionListener {
  /** A session is usable. `initial`: the first of the call (greet now); otherwise the conversation was replayed. */
  ready?(info: { purpose: SessionPurpose; heldAudioMs: number }): void;
  /**
   * The session was lost (or is being renewed) and a new one is being opened; the call is held meanwhile.
   * `unfinished`: responses that can no longer finish (their unsent audio must not play).
   */
  reconnecting?(info: { purpose: 'reconnect' | 'renewal'; cause: string; unfinished: ReadonlySet<string> }): void;
  /**
   * The model is gone. `everReady`: some session of this call was ready (the caller talked with the bot).
   * `fatal`: a final error (bad key, no model…). While winding down (see windDown) a drop or the session
   * expiry is reported here as non-fatal, with no reconnect.
   */
  unavailable?(info: { cause: string; everReady: boolean; fatal: boolean }): void;
  /** A default-conversation response started; `purpose` is its metadata.purpose when the request set one. */
  responseCreated?(info: { responseId: string; purpose: string | undefined }): void;
  /** Bot audio (μ-law 8 kHz) of one item of one response. */
  audio?(info: { responseId: string; itemId: string; audio: Uint8Array }): void;
  /** The words of one bot item; `purpose` is its response's metadata.purpose when the request set one. */
  botTranscript?(event: ServerEvent<'response.output_audio_transcript.done'>, purpose: string | undefined): void;
  /** A message item joined the conversation (ours, the caller's or the model's). */
  itemAdded?(info: { itemId: string; previousItemId: string | null | undefined; role: 'caller' | 'bot' }): void;
  speechStarted?(): void;
  speechStopped?(): void;
  /** The caller's turn was committed as item `item_id`. */
  inputCommitted?(event: ServerEvent<'input_audio_buffer.committed'>): void;
  callerTranscript?(event: ServerEvent<'conversation.item.input_audio_transcription.completed'>): void;
  /** The caller's words in item `item_id` could not be transcribed (counted and logged by the session). */
  callerTranscriptFailed?(event: ServerEvent<'conversation.item.input_audio_transcription.failed'>): void;
  /** The model called a function (any name); answer with sendToolResult. */
  toolCall?(call: { name: string; callId: string; arguments: string }): void;
  /**
   * A response finished (any status). `outOfBand`: a summarize() response, not part of the conversation.
   * Carries the usage; a text-only reply shows as output without audio here.
   */
  turnDone?(info: { response: RealtimeResponse; purpose: string | undefined; outOfBand: boolean }): void;
}


export type SummaryOutcome =
  | { outcome: 'done'; response: RealtimeResponse }
  | { outcome: 'unavailable' | 'failed' | 'timeout' };

export interface ReplyOptions {
  /** Set as metadata.purpose; a response with a purpose is a one-off: not retried when it fails. */
  purpose?: string;
  /**
   * Replaces the session's instructions for this response only: include the call's own instructions
   * (persona, language) in it, or the reply loses them.
   */
  instructions?: string;
  toolChoice?: 'none' | 'auto';
  /** `['audio']` to insist on speech (the recovery of a text-only reply). */
  outputModalities?: ['audio'];
}
