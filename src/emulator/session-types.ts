/** The emulated session's options and the record tests and benchmarks read (see session.ts). */
import type { Logger } from '../log/logger.js';
import type { Clock } from '../util/clock.js';
import type { ClientEvent } from './client-events.js';
import type { ConversationEntry } from './conversation.js';
import type { RealtimeErrorBody } from './errors.js';
import type { Speed } from './pacing.js';
import type { Realism } from './realism.js';
import type { CallScript, ReplyAudioResolver } from './script.js';
import type { EffectiveSession } from './session-config.js';

export interface SessionTransport {
  send(event: Record<string, unknown>): void;
  /** Close with a close frame; code 1006 means drop the connection without one. */
  close(code: number, reason: string): void;
}

export interface SessionOptions {
  id?: string;
  model: string;
  script: CallScript;
  resolveAudio: ReplyAudioResolver;
  speed: Speed;
  /** Audio per output delta. */
  chunkMs: number;
  clock: Clock;
  /** Wall time in epoch ms, for record timestamps and expires_at. */
  wallNow: () => number;
  logger: Logger;
  transport: SessionTransport;
  /** Measurement hooks (benchmarks); called synchronously, so they must be cheap. */
  observer?: EmulatorObserver;
  /** Keep every appended input byte and its arrival record (default true); load runs turn it off to bound memory. */
  retainInputAudio?: boolean;
  /** Timing and quirks of the real API (default: tidy). */
  realism?: Realism;
  /** Azure mode: the resource's deployments; a transcription model must name one of them. */
  azureDeployments?: readonly string[];
  /** A slow model: an out-of-band summary request starts this long after it arrives (default 0). */
  summaryDelayMs?: number;
}

/** Observes a session's traffic as it happens, e.g. to timestamp hops in a benchmark. */
export interface EmulatorObserver {
  /** A valid client event, with the clock time its WebSocket message arrived (before parsing). */
  onClientEvent?(sessionId: string, event: ClientEvent, receivedAt: number): void;
  /** A server event about to be written to the socket. */
  onServerEvent?(sessionId: string, event: Readonly<Record<string, unknown>>): void;
}

export interface InputAudioArrival {
  /** Wall time (epoch ms) the append arrived. */
  at: number;
  bytes: number;
}

export interface EmulatorResponseRecord {
  id: string;
  conversation: 'auto' | 'none';
  status: 'completed' | 'cancelled' | 'failed' | 'incomplete';
  /** status_details.reason (turn_detected, client_cancelled, content_filter, max_output_tokens), if any. */
  reason: string | null;
  /** Audio streamed before it ended. */
  audioMs: number;
  /** Its output items' kinds (audio, text, function_call). */
  kinds: string[];
  /** The response.create parameters that asked for it (`{}` when VAD or the idle timeout created it). */
  request: { instructions?: string; output_modalities?: string[]; metadata?: Record<string, string> | null; tool_choice?: unknown };
}

/** What tests and benchmarks read about a session. */
export interface EmulatorSessionRecord {
  readonly id: string;
  readonly model: string;
  readonly path: string;
  readonly connectedAt: number;
  readonly config: EffectiveSession;
  readonly clientEvents: readonly { type: string; at: number }[];
  readonly serverEvents: readonly { type: string; at: number }[];
  readonly errors: readonly RealtimeErrorBody[];
  readonly inputAudio: readonly InputAudioArrival[];
  readonly conversation: readonly ConversationEntry[];
  readonly toolCalls: readonly { name: string; callId: string; arguments: string }[];
  /** Every finished response, in order. */
  readonly responses: readonly EmulatorResponseRecord[];
  readonly closed: { code: number; reason: string } | null;
  inputAudioBytes(): Buffer;
}
