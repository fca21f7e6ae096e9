/**
 * The call bridge: one AudioHook call ↔ one Realtime model session. It is the CallHandlerFactory the
 * protocol session plugs in (src/audiohook/call.ts).
 *
 * Shape of a call:
 * - the model socket opens after `opened` (asynchronously); caller audio is buffered (bounded) until the
 *   model confirms μ-law both ways, then flushed in order and relayed as `input_audio_buffer.append`;
 * - model audio goes through the pacer to Genesys; barge-in drops unsent audio, sends `barge_in` and
 *   truncates the model's items to what the caller heard;
 * - end_call / transfer_to_agent: the farewell plays out, then the summary is awaited from this async flow
 *   (never from inside a model-event callback the summary depends on), then `disconnect` with outputs;
 * - caller hang-up: onClose returns at once; summary + webhook continue in the background;
 * - every ending posts a call record to the webhook sink.
 *
 * Model resilience (issue 5):
 * - a refused or failed handshake (408/429/5xx, timeout, transport) is retried with exponential backoff and
 *   full jitter within MODEL_RETRY_BUDGET_MS while the call is held; then `disconnect` error with the cause;
 * - a mid-call drop (1001/1005/1006/1011/1012/1013) opens a new session at once, re-sends the session
 *   configuration and the conversation so far (src/realtime/replay.ts), and flushes the caller audio held
 *   meanwhile (bounded); reconnects are capped per call (MODEL_MAX_RECONNECTS);
 * - the session is renewed before the 60-minute cap at a quiet moment (src/realtime/renewal.ts);
 * - a failed (rate-limited) response is retried once after the wait the server names (bounded);
 * - once the caller has talked with the bot, losing the model for good ends the call `completed` with
 *   ESCALATION_REQUIRED=true / ESCALATION_REASON=model_unavailable and the summary so far: outputs only
 *   travel with `completed`, and the flow's escalation branch already transfers to a human with context.
 *   Before any session was ready there is no context to keep: `disconnect` error (the failure path).
 */
import type { Logger } from 'pino';
import type { RealtimeServerEvent, ResponseCreateEvent } from 'openai/resources/realtime/realtime';
import type { CallContext, CallControl, CallHandler, CallHandlerFactory, ClientErrorInfo, CloseCause } from '../audiohook/handler.js';
import { OutboundPacer, type OutboundPacerOptions } from '../audio/pacer.js';
import { planBargeInTruncation } from '../audio/truncation.js';
import { ModelBackpressure } from '../realtime/backpressure.js';
import { isFinalErrorCode, isRetryableCloseCode, isRetryableConnectFailure, parseRetryAfterMs, RetryBudget, type BackoffPolicy } from '../realtime/backoff.js';
import { connectRealtime, ModelConnectionError, type ConnectSettings, type ModelConnection } from '../realtime/connection.js';
import type { RealtimeEnv } from '../realtime/env.js';
import { renewalDecision } from '../realtime/renewal.js';
import { buildReplayItems, callerAwaitsReply } from '../realtime/replay.js';
import { errorCodeLabel, type Metrics } from '../server/metrics.js';
import {
  buildSessionUpdate,
  checkSessionUpdated,
  END_CALL_TOOL,
  serverInterruptsResponses,
  TRANSFER_TOOL,
} from '../realtime/session-config.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { DtmfCollector, dtmfItemEvent } from './dtmf.js';
import type { BridgeEnv } from './env.js';
import { buildOutputVariables } from './outputs.js';
import { buildCallRecord } from './record.js';
import {
  buildSummaryRequest,
  fallbackSummary,
  isSummaryResponse,
  parseSummaryText,
  responseText,
  type SummaryResult,
} from './summary.js';
import { Transcript } from './transcript.js';
import { addUsage, emptyUsage, type UsageTotals } from './usage.js';
import { InputVariableError, resolveCallConfig, type CallConfig, type CallDefaults } from './variables.js';
import type { CallEndReason, CallRecord, CallRecordSink, DeliveryResult } from './webhook.js';

/** Caller audio held while the model connects: 10 s of μ-law (oldest dropped beyond it). */
const MAX_PENDING_AUDIO_BYTES = 10 * 8000;
/** Bound on waiting for a cancelled response to finish before asking for the summary. */
const CANCEL_SETTLE_MS = 2000;
/** How often a due session renewal looks again for a quiet moment. */
const RENEWAL_POLL_MS = 250;
/** Wait before retrying a failed response whose message names no wait. */
const FAILED_RESPONSE_RETRY_MS = 1000;
/** First handshake of a call: the caller is waiting in silence, so a few quick tries. */
const HANDSHAKE_BACKOFF: Omit<BackoffPolicy, 'budgetMs'> = { initialDelayMs: 250, maxDelayMs: 2000, maxAttempts: 5 };
/** Mid-call: the first attempt goes out at once; retries stay short so the gap stays near 2 s. */
const RECONNECT_BACKOFF: Omit<BackoffPolicy, 'budgetMs'> = { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 4 };
/** Errors that are expected races, not failures (OPENAI_REALTIME.md §9). */
const BENIGN_MODEL_ERRORS = new Set(['response_cancel_not_active', 'conversation_already_has_active_response']);

const FAREWELL_PURPOSE = 'farewell';
/**
 * At server shutdown the session gives onShutdown 3 s to disconnect: the model's summary gets at most this
 * long, leaving room for the disconnect itself on a loaded machine.
 */
const SHUTDOWN_SUMMARY_TIMEOUT_MS = 1500;
/** ESCALATION_REASON / END_REASON at server shutdown (same values as the session's own shutdown outputs). */
const SERVER_SHUTDOWN = 'server_shutdown';

/** The model-resilience settings (src/realtime/env.ts) the bridge reads. */
export type ResilienceEnv = Pick<
  RealtimeEnv,
  | 'MODEL_RETRY_BUDGET_MS'
  | 'MODEL_MAX_RECONNECTS'
  | 'MODEL_SESSION_RENEW_AFTER_MS'
  | 'MODEL_RESPONSE_TIMEOUT_MS'
  | 'MODEL_RATE_LIMIT_MAX_WAIT_MS'
>;

export interface BridgeDeps {
  env: CallDefaults & ResilienceEnv & BridgeEnv;
  /** From connectSettingsFromEnv at start-up; an Error (no model configured) ends every call with it. */
  connect: Omit<ConnectSettings, 'model'> | Error;
  connectModel?: (settings: ConnectSettings, logger: Logger) => Promise<ModelConnection>;
  createPacer?: (options: OutboundPacerOptions) => OutboundPacer;
  /** Where call records go (the summary webhook); none → records are only logged as delivered=false. */
  sink?: CallRecordSink;
  clock?: Clock;
  wallClock?: () => Date;
  /** Observes each finished call (after the webhook attempt): metrics, tests. */
  onCallFinished?: (record: CallRecord, delivery: DeliveryResult | undefined) => void;
  /** Per-call counters and latencies (barge-ins, model connect time, reconnects, errors…). */
  metrics?: Metrics;
  /** [0, 1) for backoff jitter; Math.random by default. */
  random?: () => number;
}

/** Why a model session is being opened: the call's first, after a drop, or a renewal before the cap. */
type SessionPurpose = 'initial' | 'reconnect' | 'renewal';

type AttemptOutcome = { ok: true } | { ok: false; retryable: boolean; message: string };

export interface BridgeFactory extends CallHandlerFactory {
  /** Resolves when every call's background work (summary, webhook) is done: graceful shutdown. */
  drain(): Promise<void>;
}

export function createBridgeFactory(deps: BridgeDeps): BridgeFactory {
  const background = new Set<Promise<void>>();
  const factory = ((context: CallContext, control: CallControl): CallHandler => {
    const bridge = new CallBridge(context, control, deps, (work) => {
      background.add(work);
      void work.finally(() => background.delete(work));
    });
    return bridge.handler();
  }) as BridgeFactory;
  factory.drain = async () => {
    while (background.size > 0) await Promise.allSettled([...background]);
  };
  return factory;
}

interface Ending {
  kind: 'bot_ended' | 'escalated';
  reason: string;
  /** Sent as `disconnect.info` and kept in the record (e.g. max_call_duration). */
  detail?: string;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

class CallBridge {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly wallClock: () => Date;
  private readonly metrics: Metrics | undefined;
  private readonly startedAt: Date;
  private readonly startedMs: number;
  private readonly pacer: OutboundPacer;
  private readonly dtmf: DtmfCollector;
  private readonly transcript = new Transcript();
  private usage: UsageTotals = emptyUsage();

  private config: CallConfig | undefined;
  private connectSettings: ConnectSettings | undefined;
  /** The current model session's connection; events of any other (replaced) connection are ignored. */
  private conn: ModelConnection | undefined;
  /** The current connection's socket is open (its handshake succeeded). */
  private socketOpen = false;
  /** The current session confirmed μ-law both ways. */
  private modelReady = false;
  /** Some session of this call was ready: the caller has been in conversation with the bot. */
  private everReady = false;
  private sessionReadyAt = 0;
  /** A connection attempt in progress, settled by session.updated, a failure, a timeout or the call's end. */
  private attempt: { purpose: SessionPurpose; settle: (outcome: AttemptOutcome) => void } | undefined;
  /** Set while a session is being replaced (drop or renewal). */
  private replacing: SessionPurpose | undefined;
  private reconnects = 0;
  private readonly timers = new Set<TimerHandle>();
  private wakeSleeper: (() => void) | undefined;
  private renewalTimer: TimerHandle | undefined;
  private responseTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private failedResponseRetried = false;
  private callerSpeaking = false;
  /** VAD speech_stopped time, until the first bot audio frame after it goes out (latency metric). */
  private speechStoppedAt: number | undefined;
  private pendingAudio: Uint8Array[] = [];
  /** Caller audio is dropped while the model socket's send queue is over its mark (fault 11). */
  private readonly modelBackpressure: ModelBackpressure;
  private pendingAudioBytes = 0;

  /** Default-conversation responses in progress (created, not done). */
  private readonly activeResponses = new Set<string>();
  /** Responses whose audio must never reach the caller (barged in). */
  private readonly discarded = new Set<string>();
  private readonly truncatedItems = new Set<string>();
  /** response.create events waiting for the active response to finish. */
  private readonly queuedResponseCreates: ResponseCreateEvent[] = [];
  private readonly sentResponseCreates = new Map<string, ResponseCreateEvent>();
  private eventSeq = 0;
  private idle: Deferred<void> | undefined;

  private ending: Ending | undefined;
  private farewellDone: Deferred<void> | undefined;
  private farewellResponseId: string | undefined;
  private summaryWaiter: { eventId: string; responseId?: string; done: Deferred<SummaryResult | undefined> } | undefined;
  /** Set once the call's end is decided; the ending path owns the rest. */
  private finalizing = false;

  constructor(
    private readonly context: CallContext,
    private readonly control: CallControl,
    private readonly deps: BridgeDeps,
    private readonly track: (work: Promise<void>) => void,
  ) {
    this.log = context.logger.child({ component: 'bridge' });
    this.clock = deps.clock ?? systemClock;
    this.wallClock = deps.wallClock ?? (() => new Date());
    this.metrics = deps.metrics;
    this.startedAt = this.wallClock();
    this.startedMs = this.clock.now();
    const createPacer = deps.createPacer ?? ((o: OutboundPacerOptions) => new OutboundPacer(o));
    this.pacer = createPacer({
      clock: this.clock,
      send: (frame) => this.sendBotAudio(frame),
      onOverflow: (info) => this.log.warn(info, 'outbound audio queue full; oldest audio dropped'),
    });
    this.modelBackpressure = new ModelBackpressure({ clock: this.clock });
    this.dtmf = new DtmfCollector({
      clock: this.clock,
      interDigitTimeoutMs: deps.env.DTMF_INTER_DIGIT_TIMEOUT_MS,
      onDigits: (digits) => this.onDtmfEntry(digits),
    });
    this.start();
  }

  handler(): CallHandler {
    const guard =
      <A extends unknown[]>(name: string, fn: (...args: A) => void) =>
      (...args: A): void => {
        try {
          fn(...args);
        } catch (err) {
          this.log.error({ err, callback: name }, 'bridge callback failed');
        }
      };
    return {
      onAudio: guard('onAudio', (ulaw: Uint8Array) => this.onCallerAudio(ulaw)),
      onDtmf: guard('onDtmf', (digit: string) => {
        if (!this.finalizing && !this.ending) this.dtmf.push(digit);
      }),
      onPlaybackStarted: guard('onPlaybackStarted', () => this.pacer.playbackStarted()),
      onPlaybackCompleted: guard('onPlaybackCompleted', () => this.pacer.playbackCompleted()),
      onClientError: guard('onClientError', (error: ClientErrorInfo) => this.onClientError(error)),
      onUpdate: guard('onUpdate', (params: { language?: string }) => this.onLanguageUpdate(params.language)),
      onShutdown: async () => {
        try {
          await this.onServerShutdown();
        } catch (err) {
          this.log.error({ err }, 'bridge onShutdown failed');
        }
      },
      onClose: (cause: CloseCause) => {
        try {
          this.onCallClosed(cause);
        } catch (err) {
          this.log.error({ err }, 'bridge onClose failed');
        }
      },
    };
  }

  // ---------------------------------------------------------------- start-up and model sessions

  private start(): void {
    try {
      this.config = resolveCallConfig(this.context.inputVariables, this.deps.env, this.context.language);
    } catch (err) {
      if (err instanceof InputVariableError) {
        this.log.warn({ variable: err.variable }, 'invalid input variable; ending the call');
        this.failCall(err.message);
        return;
      }
      throw err;
    }
    if (this.deps.connect instanceof Error) {
      this.failCall(this.deps.connect.message);
      return;
    }
    const { settings } = this.config;
    this.connectSettings = { ...this.deps.connect, model: settings.model };
    this.log.info(
      { model: settings.model, voice: settings.voice, vad: settings.vad.type, greeting: this.config.greeting.kind },
      'call bridge started',
    );
    const maxSeconds = this.deps.env.MAX_CALL_DURATION;
    if (maxSeconds !== undefined) this.after(maxSeconds * 1000, () => this.onMaxCallDuration());
    void this.openSession('initial');
  }

  /** Opens a model session, retrying transient failures within the budget; gives up via modelUnavailable. */
  private async openSession(purpose: SessionPurpose): Promise<void> {
    const policy = purpose === 'initial' ? HANDSHAKE_BACKOFF : RECONNECT_BACKOFF;
    const budget = new RetryBudget({ ...policy, budgetMs: this.deps.env.MODEL_RETRY_BUDGET_MS }, this.clock, this.deps.random);
    for (;;) {
      if (this.finalizing) return;
      budget.attemptStarted();
      const outcome = await this.attemptSession(purpose);
      if (this.finalizing || outcome.ok) return;
      const delayMs = outcome.retryable ? budget.nextDelayMs() : undefined;
      if (delayMs === undefined) {
        const attempts = budget.attemptsMade;
        this.modelUnavailable(attempts > 1 ? `${outcome.message} (after ${attempts} attempts)` : outcome.message);
        return;
      }
      this.log.warn({ purpose, attempt: budget.attemptsMade, delayMs, cause: outcome.message }, 'model connection failed; retrying');
      await this.sleep(delayMs);
    }
  }

  /** One connection attempt: socket, session.update, verified session.updated — within the connect timeout. */
  private attemptSession(purpose: SessionPurpose): Promise<AttemptOutcome> {
    const settings = this.connectSettings!;
    return new Promise<AttemptOutcome>((resolve) => {
      const startedAt = this.clock.now();
      let conn: ModelConnection | undefined;
      let settled = false;
      const timer = this.after(settings.connectTimeoutMs, () =>
        settle({ ok: false, retryable: true, message: `model not ready within ${settings.connectTimeoutMs} ms` }),
      );
      const settle = (outcome: AttemptOutcome) => {
        if (settled) return;
        settled = true;
        this.cancel(timer);
        this.attempt = undefined;
        if (outcome.ok) {
          this.metrics?.modelConnectSeconds.observe((this.clock.now() - startedAt) / 1000);
        } else if (conn) {
          if (this.conn === conn) this.detachConnection();
          conn.close();
        }
        resolve(outcome);
      };
      this.attempt = { purpose, settle };
      this.socketOpen = false;
      void (async () => {
        try {
          conn = await (this.deps.connectModel ?? connectRealtime)(settings, this.log);
        } catch (err) {
          const retryable = err instanceof ModelConnectionError && isRetryableConnectFailure(err.handshake);
          settle({ ok: false, retryable, message: `model connection failed: ${(err as Error).message}` });
          return;
        }
        if (settled) {
          conn.close();
          return;
        }
        this.conn = conn;
        this.listen(conn);
        try {
          await conn.ready;
        } catch (err) {
          const e = err as ModelConnectionError;
          settle({ ok: false, retryable: isRetryableConnectFailure(e.handshake), message: e.message });
          return;
        }
        if (settled) return;
        this.socketOpen = true;
        this.log.debug({ purpose, ms: Math.round(this.clock.now() - startedAt) }, 'model socket open');
        conn.send(buildSessionUpdate(this.config!.settings));
      })();
    });
  }

  private listen(conn: ModelConnection): void {
    conn.onEvent((event) => {
      if (conn !== this.conn) return;
      try {
        this.onModelEvent(event);
      } catch (err) {
        this.log.error({ err, type: event.type }, 'model event handling failed');
      }
    });
    conn.onError((error) => {
      if (conn === this.conn) this.onModelError(error);
    });
    conn.onClose((code) => {
      if (conn === this.conn) this.onModelClosed(code);
    });
  }

  /** Forgets the current connection (it is closed or being replaced) and what depended on it. */
  private detachConnection(): void {
    this.conn = undefined;
    this.socketOpen = false;
    this.modelReady = false;
    this.modelBackpressure.reset();
    this.cancel(this.renewalTimer);
    this.cancel(this.responseTimer);
    this.cancel(this.retryTimer);
    this.summaryWaiter?.done.resolve(undefined);
    this.idle?.resolve();
  }

  private onModelClosed(code: number): void {
    const socketWasOpen = this.socketOpen;
    this.detachConnection();
    if (this.attempt) {
      // Before the socket opened, `ready` rejects with the better reason (e.g. the HTTP status).
      if (socketWasOpen) {
        this.attempt.settle({ ok: false, retryable: isRetryableCloseCode(code), message: `model connection closed (code ${code})` });
      }
      return;
    }
    if (this.finalizing) return;
    this.metrics?.modelErrors.inc(`close_${code}`);
    if (this.ending) {
      // The bot is already ending the call: finish it with the transcript summary, no new session.
      this.farewellDone?.resolve();
      return;
    }
    const cause = `model connection closed (code ${code})`;
    if (isRetryableCloseCode(code)) this.replaceSession('reconnect', cause);
    else this.modelUnavailable(cause);
  }

  /**
   * Replaces the model session: after a drop (counted against MODEL_MAX_RECONNECTS) or as a renewal before
   * the 60-minute cap. Meanwhile the call is held: caller audio is buffered, no bot audio is sent.
   */
  private replaceSession(purpose: 'reconnect' | 'renewal', cause: string): void {
    if (this.finalizing || this.replacing) return;
    if (purpose === 'reconnect') {
      if (this.reconnects >= this.deps.env.MODEL_MAX_RECONNECTS) {
        this.modelUnavailable(`${cause}; no reconnects left (${this.reconnects} used)`);
        return;
      }
      this.reconnects += 1;
    }
    this.log.warn({ purpose, cause, reconnects: this.reconnects }, 'replacing the model session');
    this.replacing = purpose;
    const old = this.conn;
    this.detachConnection();
    old?.close();
    // The old session's responses can no longer finish: their unsent audio must not play into the gap,
    // and a reply cut before its end is marked so the replay says so.
    this.pacer.dropAll();
    for (const item of this.pacer.playingItems()) {
      if (this.activeResponses.has(item.responseId)) this.transcript.markTruncated(item.itemId);
    }
    this.activeResponses.clear();
    this.queuedResponseCreates.length = 0;
    this.sentResponseCreates.clear();
    this.callerSpeaking = false;
    void this.openSession(purpose);
  }

  private onSessionUpdated(event: RealtimeServerEvent): void {
    const attempt = this.attempt;
    if (this.modelReady || !attempt) return;
    const problem = checkSessionUpdated(event);
    if (problem) {
      attempt.settle({ ok: false, retryable: false, message: problem.message });
      return;
    }
    this.modelReady = true;
    this.sessionReadyAt = this.clock.now();
    attempt.settle({ ok: true });
    const conn = this.conn!;
    if (attempt.purpose === 'initial') {
      this.log.info({ bufferedMs: this.pendingAudioBytes / 8 }, 'model session ready');
      this.flushPendingAudio();
      this.greet();
    } else {
      // A new session knows nothing: give it the conversation so far, then the caller audio held meanwhile.
      const turns = this.transcript.turns();
      for (const item of buildReplayItems(turns)) conn.send(item);
      this.replacing = undefined;
      this.metrics?.modelReconnects.inc();
      this.log.info({ purpose: attempt.purpose, turns: turns.length, bufferedMs: this.pendingAudioBytes / 8 }, 'model session replaced');
      if (callerAwaitsReply(turns)) this.requestResponse({ type: 'response.create' });
      this.flushPendingAudio();
    }
    this.everReady = true;
    this.renewalTimer = this.after(this.deps.env.MODEL_SESSION_RENEW_AFTER_MS, () => this.checkRenewal());
  }

  private flushPendingAudio(): void {
    for (const chunk of this.pendingAudio) this.appendAudio(chunk);
    this.pendingAudio = [];
    this.pendingAudioBytes = 0;
  }

  /** Renews the session once it is old enough, at a moment when nobody is speaking. */
  private checkRenewal(): void {
    this.renewalTimer = undefined;
    if (this.finalizing || this.ending || !this.modelReady) return;
    const decision = renewalDecision({
      sessionAgeMs: this.clock.now() - this.sessionReadyAt,
      renewAfterMs: this.deps.env.MODEL_SESSION_RENEW_AFTER_MS,
      botAudioOutstanding: this.pacer.isPlaying(),
      responseActive: this.activeResponses.size > 0 || this.queuedResponseCreates.length > 0 || this.summaryWaiter !== undefined,
      callerSpeaking: this.callerSpeaking,
    });
    if (decision === 'renew_now') this.replaceSession('renewal', 'session age limit approaching');
    else this.renewalTimer = this.after(RENEWAL_POLL_MS, () => this.checkRenewal());
  }

  private greet(): void {
    const greeting = this.config!.greeting;
    if (greeting.kind === 'none') return;
    const text =
      greeting.kind === 'text'
        ? `The caller has just been connected. Greet them by saying exactly: "${greeting.text}"`
        : 'The caller has just been connected. Greet them briefly and ask how you can help.';
    this.conn!.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'system', content: [{ type: 'input_text', text }] },
    });
    this.requestResponse({ type: 'response.create' });
  }

  /** AudioHook `update` with a new language: re-send the session with that language's instructions. */
  private onLanguageUpdate(language: string | undefined): void {
    if (!language || !this.config || this.finalizing) return;
    let next: CallConfig;
    try {
      next = resolveCallConfig(this.context.inputVariables, this.deps.env, language);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'language update not applied');
      return;
    }
    this.config = next;
    this.log.info({ language }, 'language updated');
    // A session being (re)opened picks the new settings up from this.config.
    if (this.modelReady) this.conn?.send(buildSessionUpdate(next.settings));
  }

  // ---------------------------------------------------------------- caller → model

  private onCallerAudio(ulaw: Uint8Array): void {
    // Once the bot is ending the call, caller audio could only start new turns that cut the farewell.
    if (this.finalizing || this.ending) return;
    if (this.modelReady) {
      this.appendAudio(ulaw);
      return;
    }
    this.pendingAudio.push(ulaw.slice());
    this.pendingAudioBytes += ulaw.length;
    while (this.pendingAudioBytes > MAX_PENDING_AUDIO_BYTES && this.pendingAudio.length > 1) {
      this.pendingAudioBytes -= this.pendingAudio.shift()!.length;
    }
  }

  private appendAudio(ulaw: Uint8Array): void {
    const conn = this.conn;
    if (!conn) return;
    const wasDropping = this.modelBackpressure.dropping;
    const decision = this.modelBackpressure.admit(conn.bufferedAmount, ulaw.length);
    if (decision === 'send') {
      if (wasDropping) {
        this.log.info({ droppedMs: this.modelBackpressure.droppedBytes / 8 }, 'model socket drained; caller audio flows again');
      }
      // PCMU passthrough: Genesys and the session both use G.711 μ-law 8 kHz.
      conn.send({ type: 'input_audio_buffer.append', audio: Buffer.from(ulaw.buffer, ulaw.byteOffset, ulaw.byteLength).toString('base64') });
      return;
    }
    if (!wasDropping) {
      // Once per episode: the queue only grows while the socket does not drain, so no per-chunk logging.
      this.metrics?.modelErrors.inc('model_socket_congested');
      this.log.warn({ bufferedAmount: conn.bufferedAmount }, 'model socket backed up; dropping caller audio');
    }
    if (decision === 'stalled') {
      // Not drained for the whole stall limit: as good as dead. The reconnect path replays the conversation.
      this.metrics?.modelErrors.inc('model_socket_stalled');
      this.replaceSession('reconnect', `model socket stalled (${conn.bufferedAmount} bytes unsent)`);
    }
  }

  private onDtmfEntry(digits: string): void {
    if (!this.modelReady || this.finalizing || this.ending) {
      this.log.debug('keypad entry before the model was ready; ignored');
      return;
    }
    this.log.info({ length: digits.length }, 'keypad entry sent to the model');
    this.conn!.send(dtmfItemEvent(digits));
    this.requestResponse({ type: 'response.create' });
  }

  private onClientError(error: ClientErrorInfo): void {
    this.log.warn({ code: error.code, retryAfterMs: error.retryAfterMs }, 'Genesys reported an error');
    if (error.retryAfterMs !== undefined) this.pacer.holdFor(error.retryAfterMs);
  }

  private sendBotAudio(frame: Uint8Array): boolean {
    const sent = this.control.sendAudio(frame);
    if (sent && this.speechStoppedAt !== undefined) {
      this.metrics?.firstBotAudioSeconds.observe((this.clock.now() - this.speechStoppedAt) / 1000);
      this.speechStoppedAt = undefined;
    }
    return sent;
  }

  // ---------------------------------------------------------------- model → caller

  private onModelEvent(event: RealtimeServerEvent): void {
    switch (event.type) {
      case 'session.updated':
        this.onSessionUpdated(event);
        return;
      case 'response.created': {
        const response = event.response;
        if (!response.id || isSummaryResponse(response)) {
          if (response.id && this.summaryWaiter) this.summaryWaiter.responseId = response.id;
          return;
        }
        this.cancel(this.responseTimer);
        this.activeResponses.add(response.id);
        if ((response.metadata as Record<string, unknown> | null | undefined)?.['purpose'] === FAREWELL_PURPOSE) {
          this.farewellResponseId = response.id;
        }
        return;
      }
      case 'response.output_audio.delta':
        if (this.discarded.has(event.response_id) || this.finalizing) return;
        this.pacer.enqueue(event.response_id, event.item_id, Buffer.from(event.delta, 'base64'));
        return;
      case 'response.output_audio_transcript.done':
        this.onBotTranscript(event.response_id, event.item_id, event.transcript);
        return;
      case 'conversation.item.added':
      case 'conversation.item.created': {
        const item = event.item;
        if (item.type === 'message' && item.id && (item.role === 'user' || item.role === 'assistant')) {
          this.transcript.itemAdded(item.id, event.previous_item_id, item.role === 'user' ? 'caller' : 'bot');
        }
        return;
      }
      case 'input_audio_buffer.committed':
        this.transcript.itemAdded(event.item_id, event.previous_item_id, 'caller');
        this.callerSpeaking = false;
        this.armResponseTimer();
        return;
      case 'input_audio_buffer.speech_stopped':
        this.callerSpeaking = false;
        this.speechStoppedAt = this.clock.now();
        return;
      case 'conversation.item.input_audio_transcription.completed':
        this.transcript.callerText(event.item_id, event.transcript);
        return;
      case 'input_audio_buffer.speech_started':
        this.callerSpeaking = true;
        this.speechStoppedAt = undefined;
        this.onSpeechStarted();
        return;
      case 'response.function_call_arguments.done':
        this.onFunctionCall(event.name, event.call_id, event.arguments);
        return;
      case 'response.done':
        this.onResponseDone(event);
        return;
      default:
        return;
    }
  }

  private onBotTranscript(responseId: string, itemId: string, text: string): void {
    this.transcript.botText(itemId, text);
    if (this.discarded.has(responseId) || this.truncatedItems.has(itemId)) {
      this.transcript.markTruncated(itemId);
      return;
    }
    if (this.deps.env.BOT_TURN_EVENTS && text.trim() !== '' && !this.finalizing) {
      this.control.sendEvent([{ type: 'bot_turn_response', data: { disposition: 'match', text: text.trim() } }]);
    }
  }

  /**
   * Barge-in (OPENAI_REALTIME.md §12.3, AUDIOHOOK.md §8.4). Only when bot audio is outstanding: playing or
   * queued in the pacer, or a response still streaming. Drops every unsent byte, tells Genesys to flush
   * (`barge_in`), truncates each interrupted item to what was heard, and ignores the responses' late deltas.
   */
  private onSpeechStarted(): void {
    if (this.finalizing) return;
    const streaming = [...this.activeResponses].filter((id) => !this.discarded.has(id));
    if (!this.pacer.isPlaying() && streaming.length === 0) return;
    // Our own discard set also covers responses that had no audio in the pacer yet.
    for (const id of streaming) this.discarded.add(id);
    // One drop for everything: playingItems() then lists the items this drop interrupted.
    const droppedBytes = this.pacer.dropAll();
    const items = this.pacer.playingItems();
    for (const item of items) this.discarded.add(item.responseId);
    this.control.sendEvent([{ type: 'barge_in', data: {} }]);
    const targets = planBargeInTruncation(items);
    for (const target of targets) {
      this.truncatedItems.add(target.itemId);
      this.transcript.markTruncated(target.itemId);
      this.conn?.send({ type: 'conversation.item.truncate', item_id: target.itemId, content_index: 0, audio_end_ms: target.audioEndMs });
    }
    if (!serverInterruptsResponses(this.config!.settings)) {
      for (const id of streaming) this.conn?.send({ type: 'response.cancel', response_id: id });
    }
    this.metrics?.bargeIns.inc();
    this.log.info({ droppedBytes, truncated: targets.length }, 'barge-in');
  }

  private onFunctionCall(name: string, callId: string, rawArguments: string): void {
    if (name !== END_CALL_TOOL && name !== TRANSFER_TOOL) {
      this.log.warn({ tool: name }, 'model called an unknown tool');
      this.conn?.send({
        type: 'conversation.item.create',
        item: { type: 'function_call_output', call_id: callId, output: JSON.stringify({ error: `unknown tool ${name}` }) },
      });
      return;
    }
    if (this.ending || this.finalizing) return;
    let reason = '';
    try {
      const parsed = JSON.parse(rawArguments) as { reason?: unknown };
      if (typeof parsed.reason === 'string') reason = parsed.reason.trim().slice(0, 500);
    } catch {
      // keep the empty reason: ending the call must not depend on well-formed arguments
    }
    const kind = name === TRANSFER_TOOL ? 'escalated' : 'bot_ended';
    this.ending = { kind, reason: reason || (kind === 'escalated' ? 'transfer requested' : 'conversation complete') };
    this.log.info({ tool: name }, 'model requested the end of the call');
    this.dtmf.stop();
    this.conn?.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: callId, output: JSON.stringify({ ok: true }) },
    });
    this.sayFarewell(
      kind === 'escalated'
        ? 'In one short sentence, tell the caller you are transferring them to a colleague now.'
        : 'In one short sentence, say goodbye to the caller.',
    );
  }

  /** Asks for the farewell, then ends the call once it has played (or at once if the model is unusable). */
  private sayFarewell(instructions: string): void {
    this.farewellDone = deferred<void>();
    if (this.modelReady) {
      this.requestResponse({
        type: 'response.create',
        response: { metadata: { purpose: FAREWELL_PURPOSE }, instructions, tool_choice: 'none' },
      });
    } else {
      this.farewellDone.resolve();
    }
    this.background(this.finishBotEnded());
  }

  /** MAX_CALL_DURATION reached: a polite goodbye, then `completed` with outputs. */
  private onMaxCallDuration(): void {
    if (this.finalizing || this.ending) return;
    this.log.info({ seconds: this.deps.env.MAX_CALL_DURATION }, 'maximum call duration reached; ending the call');
    this.ending = { kind: 'bot_ended', reason: 'max_call_duration', detail: 'max_call_duration' };
    this.dtmf.stop();
    this.sayFarewell(
      'The call has reached its maximum length. In one or two short sentences, apologise that you have to end ' +
        'the call now, and say goodbye.',
    );
  }

  /** After the caller's turn is committed, a reply should start; if none does, ask once (a silent model). */
  private armResponseTimer(): void {
    this.cancel(this.responseTimer);
    if (this.finalizing || this.ending) return;
    const timeoutMs = this.deps.env.MODEL_RESPONSE_TIMEOUT_MS;
    this.responseTimer = this.after(timeoutMs, () => {
      this.responseTimer = undefined;
      if (this.finalizing || this.ending || !this.modelReady || this.activeResponses.size > 0) return;
      this.log.warn({ timeoutMs }, 'no reply after the caller spoke; asking the model once');
      this.metrics?.modelErrors.inc('response_timeout');
      this.requestResponse({ type: 'response.create' });
    });
  }

  private onResponseDone(event: Extract<RealtimeServerEvent, { type: 'response.done' }>): void {
    const response = event.response;
    this.usage = addUsage(this.usage, response.usage);
    if (isSummaryResponse(response)) {
      if (this.summaryWaiter) {
        this.summaryWaiter.done.resolve(response.status === 'completed' ? parseSummaryText(responseText(response)) : undefined);
      }
      return;
    }
    if (response.id) {
      this.activeResponses.delete(response.id);
      this.pacer.endResponse(response.id);
      if (response.id === this.farewellResponseId) this.farewellDone?.resolve();
    }
    if (response.status === 'completed') this.failedResponseRetried = false;
    const failed = response.status === 'failed' && response.id !== this.farewellResponseId;
    if (response.status === 'failed') {
      const error = (response.status_details as { error?: { code?: string; type?: string; message?: string } } | undefined)?.error;
      this.metrics?.modelErrors.inc(errorCodeLabel(error?.code ?? error?.type));
      this.log.warn({ code: error?.code ?? error?.type }, 'model response failed');
      if (failed) this.onResponseFailed(error?.code ?? error?.type, error?.message);
    }
    if (this.activeResponses.size === 0) {
      this.idle?.resolve();
      this.idle = undefined;
      const next = failed ? undefined : this.queuedResponseCreates.shift();
      if (next) this.sendResponseCreate(next);
    }
  }

  /**
   * A reply failed (typically rate_limit_exceeded, "Please try again in 6.2s"): wait as told and retry it
   * once; a second failure, or a wait beyond MODEL_RATE_LIMIT_MAX_WAIT_MS, ends the call with escalation.
   */
  private onResponseFailed(code: string | undefined, message: string | undefined): void {
    if (this.finalizing || this.ending) return;
    const waitMs = parseRetryAfterMs(message) ?? FAILED_RESPONSE_RETRY_MS;
    const maxWaitMs = this.deps.env.MODEL_RATE_LIMIT_MAX_WAIT_MS;
    if (this.failedResponseRetried || waitMs > maxWaitMs) {
      const why = this.failedResponseRetried ? 'failed again after a retry' : `asks for a ${waitMs} ms wait (limit ${maxWaitMs} ms)`;
      this.modelUnavailable(`model response failed (${code ?? 'unknown'}) and ${why}`);
      return;
    }
    this.failedResponseRetried = true;
    this.log.info({ code, waitMs }, 'retrying the failed reply after the wait');
    this.cancel(this.retryTimer);
    this.retryTimer = this.after(waitMs, () => {
      this.retryTimer = undefined;
      if (!this.finalizing && !this.ending && this.modelReady) this.requestResponse({ type: 'response.create' });
    });
  }

  private onModelError(error: ModelConnectionError): void {
    const code = error.code;
    if (!this.socketOpen) {
      // Handshake failures are reported by `ready` (with the HTTP status); the transport echo adds nothing.
      this.log.debug({ code, message: error.message }, 'model error during handshake');
      return;
    }
    this.metrics?.modelErrors.inc(errorCodeLabel(code));
    if (!this.modelReady && this.attempt) {
      // The session was not accepted (e.g. our session.update rejected): a configuration problem,
      // unless it merely expired — then a new session is worth it.
      this.attempt.settle({ ok: false, retryable: code === 'session_expired', message: `model error: ${error.message}` });
      return;
    }
    if (code === 'conversation_already_has_active_response' && error.clientEventId) {
      // Our response.create raced a VAD-created response: retry it after that one is done.
      const event = this.sentResponseCreates.get(error.clientEventId);
      if (event) this.queuedResponseCreates.unshift(event);
      return;
    }
    if (this.summaryWaiter && error.clientEventId === this.summaryWaiter.eventId) {
      this.summaryWaiter.done.resolve(undefined);
      return;
    }
    if (code && BENIGN_MODEL_ERRORS.has(code)) {
      this.log.debug({ code }, 'benign model error');
      return;
    }
    if (code === 'session_expired') {
      // The 60-minute cap hit before a quiet moment allowed a renewal: renew now (the server closes with 1001).
      if (this.ending) this.farewellDone?.resolve();
      else this.replaceSession('renewal', 'model session expired (60-minute limit)');
      return;
    }
    if (isFinalErrorCode(code)) {
      this.modelUnavailable(`model error: ${error.message}`);
      return;
    }
    this.log.warn({ code, message: error.message }, 'model error');
  }

  private requestResponse(event: ResponseCreateEvent): void {
    if (this.activeResponses.size > 0) this.queuedResponseCreates.push(event);
    else this.sendResponseCreate(event);
  }

  private sendResponseCreate(event: ResponseCreateEvent): void {
    const eventId = `rc_${++this.eventSeq}`;
    this.sentResponseCreates.set(eventId, event);
    this.conn?.send({ ...event, event_id: eventId });
  }

  // ---------------------------------------------------------------- endings

  /** Bot-ended call: farewell played out, then summary, then `disconnect` completed with outputs. */
  private async finishBotEnded(): Promise<void> {
    const limit = this.deps.env.FAREWELL_TIMEOUT_MS;
    const deadline = this.clock.now() + limit;
    const farewellHeard = await this.within(this.farewellDone!.promise, limit);
    const drained = await this.within(this.pacer.whenDrained(), Math.max(0, deadline - this.clock.now()));
    if (!farewellHeard || !drained) this.log.warn({ farewellHeard, drained }, 'farewell did not finish in time');
    if (this.finalizing) return; // the caller hung up or the model failed meanwhile: that path reports
    this.finalizing = true;
    this.stopCallWork();
    const ending = this.ending!;
    const summary = await this.produceSummary(ending.kind);
    const outputs = buildOutputVariables({
      summary,
      ...(ending.kind === 'escalated' ? { escalation: { reason: ending.reason } } : {}),
      durationMs: this.clock.now() - this.startedMs,
      usage: this.usage,
    });
    this.control.disconnect('completed', ending.detail, outputs);
    await this.report(ending.kind, summary, ending.detail);
  }

  /**
   * The model is gone for good. Mid-call (a session was ready): `completed` with escalation
   * (model_unavailable) and the summary so far, so the flow transfers the caller with context. Before any
   * session was ready: `disconnect` error with the cause, so the flow's failure path routes the caller.
   */
  private modelUnavailable(cause: string): void {
    if (this.finalizing) return;
    if (!this.everReady) {
      this.failCall(cause);
      return;
    }
    this.finalizing = true;
    this.ending = { kind: 'escalated', reason: 'model_unavailable', detail: cause };
    this.stopCallWork();
    this.conn?.close();
    this.log.warn({ cause }, 'model unavailable mid-call; ending with escalation');
    const summary = fallbackSummary(this.transcript.turns(), { endReason: 'escalated', escalationReason: 'model_unavailable' });
    const outputs = buildOutputVariables({
      summary,
      escalation: { reason: 'model_unavailable' },
      durationMs: this.clock.now() - this.startedMs,
      usage: this.usage,
    });
    this.control.disconnect('completed', `model unavailable: ${cause}`, outputs);
    this.background(this.report('escalated', summary, cause));
  }

  /** Caller hang-up (or the client closed for another reason): returns at once; the rest runs in background. */
  private onCallClosed(cause: CloseCause): void {
    this.stopCallWork();
    if (this.finalizing) return;
    this.finalizing = true;
    // `close end` is the caller (or the flow) hanging up; a client `error` close or a dropped socket is an error.
    const endReason: CallEndReason = cause.kind === 'close' && cause.reason !== 'error' ? 'caller_hangup' : 'error';
    const detail = cause.kind === 'close' ? `close ${cause.reason}` : `socket closed (code ${cause.code})`;
    this.log.info({ endReason, detail }, 'call closed by Genesys');
    this.background(
      (async () => {
        const summary = await this.produceSummary(endReason);
        await this.report(endReason, summary, detail);
      })(),
    );
  }

  /**
   * Server shutdown, drain time up (the session awaits this for at most 3 s). The call ends at once,
   * politely and with outputs: caller audio stops reaching the model, unsent bot audio is dropped (what
   * Genesys already holds, ≤ the pacer's lead, plays out) and the flow routes the caller to an agent
   * (ESCALATION_REQUIRED=true, ESCALATION_REASON=server_shutdown) with the summary.
   * No farewell: one needs a model round trip plus ~2 s of speech plus the playout, which does not fit in
   * 3 s next to the summary, and a farewell cut mid-word is worse than none — the agent greets the caller.
   */
  private async onServerShutdown(): Promise<void> {
    // Already ending (caller hung up, error, or the bot's summary in progress): that path disconnects.
    if (this.finalizing) return;
    this.finalizing = true;
    // Replaces a bot ending in progress: its farewell would not finish in time (finishBotEnded stops here).
    this.ending = { kind: 'escalated', reason: SERVER_SHUTDOWN, detail: SERVER_SHUTDOWN };
    this.farewellDone?.resolve();
    this.stopCallWork();
    this.log.info('server shutdown: ending the call with escalation');
    const summary = await this.produceSummary('shutdown', Math.min(SHUTDOWN_SUMMARY_TIMEOUT_MS, this.deps.env.SUMMARY_TIMEOUT_MS));
    const outputs = {
      ...buildOutputVariables({
        summary,
        escalation: { reason: SERVER_SHUTDOWN },
        durationMs: this.clock.now() - this.startedMs,
        usage: this.usage,
      }),
      END_REASON: SERVER_SHUTDOWN,
    };
    this.control.disconnect('completed', 'server shutting down', outputs);
    // The webhook may take longer than the 3 s: it runs in the background (the factory's drain awaits it).
    this.background(this.report('shutdown', summary, SERVER_SHUTDOWN));
  }

  /** Ends the call with `disconnect` error (Architect's failure path) and reports from our transcript. */
  private failCall(info: string): void {
    if (this.finalizing) return;
    this.finalizing = true;
    this.farewellDone?.resolve();
    this.stopCallWork();
    this.log.warn({ info }, 'ending the call with an error');
    this.control.disconnect('error', info);
    const summary = fallbackSummary(this.transcript.turns(), {
      endReason: 'error',
      ...(this.ending?.kind === 'escalated' ? { escalationReason: this.ending.reason } : {}),
    });
    this.background(this.report('error', summary, info));
  }

  /** The model's summary when the session is usable, else (or on timeout) the transcript-only fallback. */
  private async produceSummary(endReason: CallEndReason, timeoutMs = this.deps.env.SUMMARY_TIMEOUT_MS): Promise<SummaryResult> {
    const fallback = () =>
      fallbackSummary(this.transcript.turns(), {
        endReason,
        ...(this.ending?.kind === 'escalated' ? { escalationReason: this.ending.reason } : {}),
      });
    const conn = this.conn;
    if (!conn || !this.modelReady) return fallback();
    const deadline = this.clock.now() + timeoutMs;
    this.queuedResponseCreates.length = 0;
    if (this.activeResponses.size > 0) {
      // A summary must not collide with a reply still running in the default conversation.
      this.idle = deferred<void>();
      conn.send({ type: 'response.cancel' });
      await this.within(this.idle.promise, Math.min(CANCEL_SETTLE_MS, timeoutMs));
    }
    if (!this.modelReady) return fallback();
    const eventId = `summary_${++this.eventSeq}`;
    this.summaryWaiter = { eventId, done: deferred<SummaryResult | undefined>() };
    const request = buildSummaryRequest(this.context.conversationId, endReason);
    conn.send({ ...request, event_id: eventId });
    let result: SummaryResult | undefined;
    const settled = await this.within(
      this.summaryWaiter.done.promise.then((r) => {
        result = r;
      }),
      Math.max(0, deadline - this.clock.now()),
    );
    this.summaryWaiter = undefined;
    if (!settled) this.log.warn({ timeoutMs }, 'model summary timed out; using the transcript fallback');
    return result ?? fallback();
  }

  private async report(endReason: CallEndReason, summary: SummaryResult, detail: string | undefined): Promise<void> {
    this.conn?.close();
    const record = buildCallRecord({
      context: this.context,
      startedAt: this.startedAt,
      endedAt: this.wallClock(),
      endReason,
      ...(detail !== undefined ? { endDetail: detail } : {}),
      ...(this.ending?.kind === 'escalated' ? { escalationReason: this.ending.reason } : {}),
      summary,
      transcript: this.transcript.turns(),
      usage: this.usage,
      model: this.config?.settings.model ?? this.deps.env.OPENAI_MODEL,
    });
    let delivery: DeliveryResult | undefined;
    if (this.deps.sink) {
      try {
        delivery = await this.deps.sink.deliver(record);
      } catch (err) {
        delivery = { delivered: false, attempts: 0, error: (err as Error).message };
      }
    }
    this.log.info(
      { endReason, summarySource: summary.source, webhookDelivered: delivery?.delivered, responses: this.usage.responses },
      'call finished',
    );
    this.deps.onCallFinished?.(record, delivery);
  }

  /**
   * The call is ending: no more audio, digits, retries or timers (summary waits use their own bounded
   * timers). A connection attempt in progress is abandoned.
   */
  private stopCallWork(): void {
    this.dtmf.stop();
    this.pacer.stop();
    for (const timer of this.timers) this.clock.clearTimeout(timer);
    this.timers.clear();
    this.renewalTimer = this.responseTimer = this.retryTimer = undefined;
    this.wakeSleeper?.();
    this.attempt?.settle({ ok: false, retryable: false, message: 'call ended' });
  }

  /** A tracked timer: every one of them is cleared when the call ends. */
  private after(ms: number, callback: () => void): TimerHandle {
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private cancel(timer: TimerHandle | undefined): void {
    if (timer === undefined) return;
    this.clock.clearTimeout(timer);
    this.timers.delete(timer);
  }

  /** Waits `ms`, or less if the call ends meanwhile. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.after(ms, () => {
        this.wakeSleeper = undefined;
        resolve();
      });
      this.wakeSleeper = () => {
        this.cancel(timer);
        this.wakeSleeper = undefined;
        resolve();
      };
    });
  }

  private background(work: Promise<void>): void {
    this.track(work.catch((err: unknown) => this.log.error({ err }, 'call ending failed')));
  }

  /** Resolves true when `promise` settles within `ms` (session clock), false on timeout. */
  private within(promise: Promise<unknown>, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), ms);
      promise.then(
        () => {
          this.clock.clearTimeout(timer);
          resolve(true);
        },
        () => {
          this.clock.clearTimeout(timer);
          resolve(true);
        },
      );
    });
  }
}
