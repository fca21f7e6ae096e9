/**
 * The narrow, framework-agnostic surface between one AudioHook protocol session and the call logic
 * plugged into it (the Realtime bridge). The session owns the protocol; the handler owns the call.
 */
import type { Logger } from 'pino';
import type { DisconnectReason, EventEntity, MediaOffer, OpenParameters, UsableMedia } from './schemas.js';

/** Everything a call handler learns when `open` has been accepted. Values are already validated. */
export interface CallContext {
  sessionId: string;
  correlationId: string;
  organizationId: string;
  conversationId: string;
  /** The URL path below AUDIOHOOK_PATH (Genesys appends the Connector ID), '' when none. */
  connectorId: string;
  participant: OpenParameters['participant'];
  language: string | undefined;
  inputVariables: Record<string, string>;
  customConfig: Record<string, unknown>;
  /** The negotiated media, exactly as offered and echoed in `opened`. */
  media: MediaOffer;
  /** The same media, typed for audio handling. */
  layout: UsableMedia;
  /** Child logger keyed by session, correlation and conversation id. */
  logger: Logger;
  /** When `open` arrived (ms, the session clock). */
  openedAt: number;
}

export type SessionState =
  | 'preparing'
  | 'opening'
  | 'active'
  | 'paused'
  | 'disconnecting'
  | 'closing'
  | 'closed';

/** What the call logic may do to the session. All methods are safe to call in any state. */
export interface CallControl {
  readonly state: SessionState;
  /**
   * Sends caller-bound audio given as μ-law 8 kHz mono; the session converts it to the negotiated
   * layout and splits it so no binary message exceeds 64,000 bytes. Returns false (and sends nothing)
   * when audio may not be sent now: not active, paused, disconnecting, closing or closed, or during a
   * Genesys 429 hold (see rateLimitedUntil), or while the socket is over its back-pressure bound
   * (ProtocolSocket.acceptsAudio); the caller keeps its audio and retries.
   */
  sendAudio(ulaw: Uint8Array): boolean;
  /**
   * Sends an `event` with these entities (allowed in active, paused and closing). Returns false when not
   * sent. During a 429 hold the event is queued (bounded, in order) and sent when the hold ends: true.
   */
  sendEvent(entities: EventEntity[]): boolean;
  /** Sends `disconnect` once; string-only output variables. Nothing but the close transaction follows. */
  disconnect(reason: DisconnectReason, info?: string, outputVariables?: Record<string, string>): void;
  /** Server-initiated pause / resume (AudioHook spec: `pause`/`resume`). */
  pause(): void;
  resume(): void;
  /** Bytes queued on the socket, for back-pressure. */
  readonly bufferedAmount: number;
  /**
   * End (session-clock ms) of the outbound hold after a Genesys `error` 429, or 0 when none is in force.
   * Until then sendAudio returns false and sendEvent queues (bounded) for automatic delivery.
   * Optional so test doubles of CallControl need not implement it.
   */
  readonly rateLimitedUntil?: number;
}

export interface ClientErrorInfo {
  code: number;
  message: string;
  /** Parsed `retryAfter` in ms (429 rate limiting), when present. */
  retryAfterMs?: number;
}

export type CloseCause =
  /** The client sent `close` with this reason (end, disconnect, error, reconnect…). */
  | { kind: 'close'; reason: string }
  /** The socket dropped without a `close` message. */
  | { kind: 'socket'; code: number };

/**
 * Implemented by the call logic. Every callback is optional except onClose. Callbacks must not throw;
 * if one does, the session logs it and ends the call with `disconnect` error.
 */
export interface CallHandler {
  /** Caller audio (external channel) as μ-law 8 kHz mono, in arrival order. Only in the active state. */
  onAudio?(ulaw: Uint8Array, positionMs: number): void;
  onDtmf?(digit: string, positionMs: number): void;
  onPlaybackStarted?(): void;
  onPlaybackCompleted?(): void;
  /** The stream is paused (server- or client-initiated). */
  onPaused?(): void;
  onResumed?(info: { startMs: number; discardedMs: number }): void;
  onUpdate?(params: { language?: string }): void;
  onDiscarded?(info: { startMs: number; discardedMs: number }): void;
  onClientError?(error: ClientErrorInfo): void;
  /**
   * The session is ending. Called exactly once, for `close` or a dropped socket. The session awaits it
   * (bounded by its close-handler timeout) before sending `closed`; final events may be sent meanwhile.
   */
  onClose(cause: CloseCause): void | Promise<void>;
  /**
   * The server is shutting down and this call's drain time is up: end the call politely now, normally
   * with `control.disconnect('completed', …, outputVariables)` so the Architect flow continues (e.g. to
   * an agent). The session awaits it (bounded by the close-handler timeout); if no disconnect has been
   * sent by then, the session sends `disconnect completed` with SessionOptions.shutdownOutputVariables itself.
   * Without this callback the session does that at once. Called at most once, only while a disconnect
   * is still sendable.
   */
  onShutdown?(): void | Promise<void>;
}

/**
 * Called synchronously when `open` is accepted, after `opened` has been sent. Must not block:
 * slow work (model connection) starts asynchronously. Not called for connection probes.
 */
export type CallHandlerFactory = (context: CallContext, control: CallControl) => CallHandler;

// ---------------------------------------------------------------- the session and its socket

/** The minimal socket a protocol session needs; the server adapts a `ws` WebSocket to it. */
export interface ProtocolSocket {
  sendText(text: string): void;
  sendBinary(data: Uint8Array): void;
  /** Closes the transport (after `closed`, or to abandon a peer that broke the protocol). */
  close(): void;
  readonly bufferedAmount: number;
  /**
   * False while the peer is not reading fast enough (the server's back-pressure bound): the session then
   * refuses outbound audio (CallControl.sendAudio returns false, the caller keeps it and retries) while
   * control messages still flow. Absent: audio is always accepted.
   */
  readonly acceptsAudio?: boolean;
}

export interface SessionOptions {
  socket: ProtocolSocket;
  /** Values of the upgrade headers, already checked to be UUIDs by the server. */
  sessionId: string;
  organizationId: string;
  correlationId: string;
  connectorId: string;
  logger: Logger;
  /** The call logic; when absent, sessions open and ignore audio (monitor-like). */
  createCall?: CallHandlerFactory;
  /**
   * Runs the call's setup after `opened` is sent (default `setImmediate`: once the loop has answered the
   * other `open`s it has read). The session builds the call sooner, synchronously, when anything else
   * reaches it first (a message, the socket's close, a timeout, shutdown).
   */
  deferCallSetup?: (run: () => void) => void;
  clock?: import('../util/clock.js').Clock;
  /** Upper bound on awaiting CallHandler.onClose before `closed` is sent (default 3000 ms). */
  closeHandlerTimeoutMs?: number;
  /** Close the socket when nothing at all arrives from the client for this long (default 60000 ms). */
  idleTimeoutMs?: number;
  /** Close the socket when no `open` arrives this long after connect (default 10000 ms). */
  openTimeoutMs?: number;
  /** After our `disconnect`, close the socket if the client's `close` does not arrive in time (default 10000 ms). */
  disconnectCloseTimeoutMs?: number;
  /** At server shutdown, how long CallHandler.onShutdown may take to disconnect (default 3000 ms). */
  shutdownHandlerTimeoutMs?: number;
  /** Languages listed in `opened` when the client asks (`supportedLanguages: true`); default none ([]). */
  supportedLanguages?: string[];
  /** Watches the session's milestones (metrics); never affects the protocol. */
  observer?: SessionObserver;
  /**
   * Output variables of the `disconnect completed` the session sends itself at server shutdown (the handler
   * has no onShutdown, or did not disconnect in time). The call logic's names, given by the composition
   * root (src/bridge/outputs.ts SHUTDOWN_OUTPUT_VARIABLES); default none.
   */
  shutdownOutputVariables?: Readonly<Record<string, string>>;
}

/**
 * How a session ended, in protocol terms (what Genesys and the Architect flow saw), for metrics and logs.
 * Derived by the session itself, so it is the same with or without call logic.
 */
export interface SessionOutcome {
  /** `opened` was sent. */
  opened: boolean;
  /** It was a connection probe (null conversation id). */
  probe: boolean;
  /** A call handler was created for it. */
  call: boolean;
  /** The `disconnect` we sent, if any. */
  disconnect?: {
    reason: DisconnectReason;
    /** Its output variables asked the flow to transfer (ESCALATION_REQUIRED "true", docs/ARCHITECT.md). */
    escalation: boolean;
  };
  /** The client's `close` reason, when it sent one (end, error, disconnect, reconnect…). */
  closeReason?: string;
  /** The socket's close code when it dropped without a `close` (or we closed it on a timeout). */
  socketCode?: number;
  /** The server's shutdown ended it (ProtocolSession.shutdown() found a live call). */
  shutdown: boolean;
}

/**
 * Optional observer of one session. Its callbacks must be cheap; an exception is logged and ignored.
 */
export interface SessionObserver {
  /** `opened` was sent, latencyMs after the `open` message arrived (probes too). */
  onOpened?(info: { latencyMs: number; probe: boolean }): void;
  /** The client sent `error` (e.g. 429 rate limiting). */
  onClientError?(error: ClientErrorInfo): void;
  /** The session finished (exactly once), after the close handler. */
  onEnded?(outcome: SessionOutcome): void;
}

/** One AudioHook session over one socket. The server feeds it socket events. */
export interface ProtocolSession {
  readonly state: SessionState;
  handleText(text: string): void;
  handleBinary(data: Uint8Array): void;
  /** The transport closed (with or without a `close` message before it). */
  handleSocketClosed(code: number): void;
  /** Resolves when the session is fully finished (handlers done, socket closed). */
  readonly finished: Promise<void>;
  /**
   * Server shutdown, drain time up: end the call politely (CallHandler.onShutdown, else `disconnect
   * completed` with SessionOptions.shutdownOutputVariables) and let the close transaction run. Returns true when the
   * session is now ending on its own (just asked, or already disconnecting or closing), false when there
   * is no call to end politely (not opened yet, or closed): the server closes those sockets directly.
   * Optional so test doubles need not implement it.
   */
  shutdown?(): boolean;
}
