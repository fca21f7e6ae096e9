/**
 * One call's model session, kept alive behind domain verbs and typed events. The bridge talks in
 * conversation terms (append caller audio, request a reply, say something, truncate, summarize, send a
 * tool result) and hears conversation events (ready, audio, speech started, tool call, turn done,
 * unavailable); it never sees a connection object, a close code or a retry.
 *
 * What this object owns:
 * - connect, handshake retry with backoff and full jitter within MODEL_RETRY_BUDGET_MS (the call is held);
 * - mid-call reconnect after a retryable drop (1001/1005/1006/1011/1012/1013, capped per call by
 *   MODEL_MAX_RECONNECTS), with the session configuration and the conversation so far replayed
 *   (src/realtime/replay.ts) and the caller audio held meanwhile (bounded) flushed after it;
 * - renewal before the 60-minute cap at a quiet moment (src/realtime/renewal.ts);
 * - model-socket back-pressure on caller audio (src/realtime/backpressure.ts);
 * - response scheduling (src/realtime/response-scheduler.ts) and one retry of a failed (rate-limited)
 *   reply after the wait the server names (bounded by MODEL_RATE_LIMIT_MAX_WAIT_MS);
 * - a nudge when the caller's turn was committed but no reply starts (MODEL_RESPONSE_TIMEOUT_MS);
 * - a reply the caller would not hear (text only, or `incomplete`) is counted, logged and recovered once
 *   (reply-recovery.ts); a Genesys pause drops a half-utterance; at hang-up the caller's last words are
 *   committed (last-words.ts); failed caller transcriptions are counted and logged.
 */
import type { Logger } from 'pino';
import type {
  ConversationItemCreateEvent,
  RealtimeResponse,
  RealtimeServerEvent,
  ResponseCreateEvent,
} from 'openai/resources/realtime/realtime';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { TimerScope, within } from '../util/timers.js';
import { isRetryableCloseCode } from './backoff.js';
import { failedReplyPlan, modelErrorVerdict } from './model-errors.js';
import { connectRealtime, type ConnectSettings, type ModelConnection, type ModelConnectionError } from './connection.js';
import type { ModelSessionListener, ReplyOptions, ResilienceEnv, ServerEvent, SummaryOutcome } from './model-events.js';
import { openSessionWithRetry, type Attempt, type SessionPurpose } from './model-connect.js';
import { errorCodeLabel, type ModelSessionMetrics } from './model-metrics.js';
import { renewalDecision } from './renewal.js';
import { resumePlan, type ResumeConversation } from './replay.js';
import { CallerInput } from './caller-input.js';
import { LastWords } from './last-words.js';
import { OutOfBandRequests } from './out-of-band.js';
import { ReplyRecoveryGate } from './reply-recovery.js';
import { ResponseScheduler } from './response-scheduler.js';
import { buildSessionUpdate, checkSessionUpdated, serverInterruptsResponses, type CallSettings } from './session-config.js';

export type { ModelSessionListener, ReplyOptions, ResilienceEnv, SessionPurpose, SummaryOutcome };
export { errorCodeLabel, type ModelSessionMetrics };

/** Bound on waiting for a cancelled response to finish before asking for the summary. */
const CANCEL_SETTLE_MS = 2000;
/** How often a due session renewal looks again for a quiet moment. */
const RENEWAL_POLL_MS = 250;
/** How long the caller's last words (committed at hang-up) may take to be transcribed before the summary. */
const LAST_WORDS_TRANSCRIPT_WAIT_MS = 1500;

export interface ModelSessionOptions {
  connect: ConnectSettings;
  /** The session configuration (voice, instructions, VAD, tools…), sent on every (re)connect. */
  settings: CallSettings;
  env: ResilienceEnv;
  logger: Logger;
  listener: ModelSessionListener;
  /** The conversation so far (and whether a tool's result is still owed), replayed into a replacement session. */
  conversation: () => ResumeConversation;
  /** Bot audio still outstanding to the caller: a renewal waits for a quiet moment. */
  botAudioOutstanding: () => boolean;
  connectModel?: (settings: ConnectSettings, logger: Logger) => Promise<ModelConnection>;
  clock?: Clock;
  /** [0, 1) for backoff jitter; Math.random by default. */
  random?: () => number;
  metrics?: ModelSessionMetrics;
}

export class ModelSession {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly timers: TimerScope;
  private readonly listener: ModelSessionListener;
  private readonly input: CallerInput;
  private readonly scheduler: ResponseScheduler;
  private settings: CallSettings;

  private conn: ModelConnection | undefined;
  private ready = false;
  private everReady = false;
  private sessionReadyAt = 0;
  private replacing: SessionPurpose | undefined;
  private reconnects = 0;
  private callerSpeaking = false;
  private renewalTimer: TimerHandle | undefined;
  private responseTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private failedResponseRetried = false;
  private readonly recovery = new ReplyRecoveryGate();
  private readonly lastWords = new LastWords();
  /** metadata.purpose of running responses that set one. */
  private readonly purposes = new Map<string, string>();
  private readonly outOfBand = new OutOfBandRequests();
  private windingDown = false;
  private stopped = false;
  /** Settles the connection attempt in progress (the call ended meanwhile). */
  private abandonAttempt: (() => void) | undefined;

  constructor(private readonly options: ModelSessionOptions) {
    this.log = options.logger;
    this.clock = options.clock ?? systemClock;
    this.timers = new TimerScope(this.clock);
    this.listener = options.listener;
    this.settings = options.settings;
    this.input = new CallerInput({
      clock: this.clock,
      log: this.log,
      metrics: options.metrics,
      readyConnection: () => (this.ready ? this.conn : undefined),
      // The reconnect path replays the conversation.
      onStalled: (cause) => this.replace('reconnect', cause),
    });
    this.scheduler = new ResponseScheduler({
      clock: this.clock,
      inFlightTimeoutMs: options.env.MODEL_RESPONSE_TIMEOUT_MS,
      send: (event) => this.conn?.send(event),
    });
  }

  // ---------------------------------------------------------------- verbs

  /** Opens the call's first session (asynchronously; `ready` or `unavailable` follows). */
  start(): void {
    void this.open('initial');
  }

  /** The current session is usable. */
  get isReady(): boolean {
    return this.ready;
  }

  /** Caller audio: relayed when ready (subject to back-pressure), else held (bounded, oldest dropped). */
  appendAudio(ulaw: Uint8Array): void {
    if (!this.stopped) this.input.append(ulaw);
  }

  /** Genesys paused the stream (e.g. secure pause): stop relaying; a half-utterance never becomes a turn. */
  pauseInput(): void {
    if (this.stopped || !this.input.pause()) return;
    this.callerSpeaking = false;
    this.timers.cancel(this.responseTimer);
  }

  /** The stream resumed: caller audio flows again from here. */
  resumeInput(): void {
    this.input.resume();
  }

  /** The call ends mid-utterance: commit the caller's words; resolves once transcribed (bounded). */
  commitCallerSpeech(): Promise<void> {
    if (!this.ready || !this.conn || !this.callerSpeaking || this.input.paused) return Promise.resolve();
    this.callerSpeaking = false;
    this.log.info('caller was mid-utterance at the end of the call; committing their last words');
    this.conn.send({ type: 'input_audio_buffer.commit' });
    return this.lastWords.begin(this.clock, LAST_WORDS_TRANSCRIPT_WAIT_MS);
  }

  /** New session settings (e.g. a language update): sent now if a session is ready, else on the next connect. */
  updateSettings(settings: CallSettings): void {
    this.settings = settings;
    if (this.ready) this.conn?.send(buildSessionUpdate(settings));
  }

  /** Adds an item (a system note, a keypad entry…) to the conversation. No reply is requested. */
  addItem(item: ConversationItemCreateEvent['item']): void {
    if (this.ready) this.conn?.send({ type: 'conversation.item.create', item });
  }

  /** Asks for a reply in the default conversation, scheduled one at a time (response-scheduler.ts). */
  requestReply(options: ReplyOptions = {}): void {
    if (this.stopped) return;
    const response: NonNullable<ResponseCreateEvent['response']> = {
      ...(options.purpose !== undefined ? { metadata: { purpose: options.purpose } } : {}),
      ...(options.instructions !== undefined ? { instructions: options.instructions } : {}),
      ...(options.toolChoice !== undefined ? { tool_choice: options.toolChoice } : {}),
      ...(options.outputModalities !== undefined ? { output_modalities: options.outputModalities } : {}),
    };
    this.scheduler.request(Object.keys(response).length > 0 ? { type: 'response.create', response } : { type: 'response.create' });
  }

  /** A spoken one-off (greeting, farewell): a reply with these instructions and no tool calls. */
  say(instructions: string, purpose?: string): void {
    this.requestReply({ ...(purpose !== undefined ? { purpose } : {}), instructions, toolChoice: 'none' });
  }

  /** The answer to a toolCall; `reply` asks the model to go on speaking with it. */
  sendToolResult(callId: string, output: unknown, reply = false): void {
    this.conn?.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: callId, output: typeof output === 'string' ? output : JSON.stringify(output) },
    });
    if (reply) this.requestReply();
  }

  /** Cuts an item to the audio the caller actually heard. */
  truncate(itemId: string, audioEndMs: number): void {
    this.conn?.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: audioEndMs });
  }

  /** Stops responses the caller interrupted, unless the session's VAD already interrupts them itself. */
  cancel(responseIds: Iterable<string>): void {
    if (serverInterruptsResponses(this.settings)) return;
    for (const id of responseIds) this.conn?.send({ type: 'response.cancel', response_id: id });
  }

  /** Default-conversation responses running now. */
  get activeResponses(): ReadonlySet<string> {
    return this.scheduler.activeIds;
  }

  /**
   * The conversation is ending (farewell): no renewal, no nudges, no retried replies, and a lost session is
   * reported (unavailable, non-fatal) instead of replaced.
   */
  windDown(): void {
    this.windingDown = true;
    this.timers.cancel(this.responseTimer);
    this.timers.cancel(this.retryTimer);
    this.timers.cancel(this.renewalTimer);
  }

  /**
   * An out-of-band text response (`conversation: 'none'`) on this session, e.g. the call summary: running
   * replies are cancelled first (bounded), queued ones dropped. Resolves within `timeoutMs`.
   */
  async summarize(request: ResponseCreateEvent, timeoutMs: number): Promise<SummaryOutcome> {
    const conn = this.conn;
    if (!conn || !this.ready) return { outcome: 'unavailable' };
    const deadline = this.clock.now() + timeoutMs;
    this.scheduler.clearQueue();
    if (this.scheduler.activeIds.size > 0) {
      conn.send({ type: 'response.cancel' });
      await within(this.clock, this.scheduler.whenIdle(), Math.min(CANCEL_SETTLE_MS, timeoutMs));
    }
    const current = this.conn;
    if (!this.ready || !current) return { outcome: 'unavailable' };
    return this.outOfBand.run(request, (event) => current.send(event), this.clock, deadline);
  }

  /**
   * The call is over: no more audio, retries, renewals or reconnects; a connection attempt in progress is
   * abandoned. The session stays open for summarize() until close().
   */
  stop(): void {
    this.stopped = true;
    this.timers.clear();
    this.input.dropHeld();
    this.abandonAttempt?.();
  }

  close(): void {
    this.stop();
    this.conn?.close();
  }

  // ---------------------------------------------------------------- sessions

  private async open(purpose: SessionPurpose): Promise<void> {
    const outcome = await openSessionWithRetry({
      purpose,
      connect: this.options.connect,
      connectModel: this.options.connectModel ?? connectRealtime,
      logger: this.log,
      clock: this.clock,
      timers: this.timers,
      budgetMs: this.options.env.MODEL_RETRY_BUDGET_MS,
      ...(this.options.random ? { random: this.options.random } : {}),
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      isStopped: () => this.stopped,
      onAbandonable: (abandon) => (this.abandonAttempt = abandon),
      attach: (conn, attempt) => this.attach(conn, attempt),
      detach: (conn) => {
        if (this.conn === conn) this.detach();
      },
      sendSessionUpdate: (conn) => conn.send(buildSessionUpdate(this.settings)),
    });
    this.abandonAttempt = undefined;
    if (this.stopped) return;
    if (!outcome.ok) this.giveUp(outcome.message, false);
  }

  /** Routes a new connection's events here while it is the current one. */
  private attach(conn: ModelConnection, attempt: Attempt): void {
    this.conn = conn;
    conn.onEvent((event) => {
      if (conn !== this.conn) return;
      try {
        if (event.type === 'session.updated' && !this.ready && !attempt.settled) this.onSessionUpdated(event, attempt);
        else this.onEvent(event);
      } catch (err) {
        this.log.error({ err, type: event.type }, 'model event handling failed');
      }
    });
    conn.onError((error) => {
      if (conn !== this.conn) return;
      if (!attempt.socketOpen) {
        // Handshake failures are reported by `ready` (with the HTTP status); the transport echo adds nothing.
        this.log.debug({ code: error.code, message: error.message }, 'model error during handshake');
        return;
      }
      this.options.metrics?.modelErrors.inc(errorCodeLabel(error.code));
      if (!this.ready && !attempt.settled) {
        // The session was not accepted (e.g. our session.update rejected): a configuration problem,
        // unless it merely expired — then a new session is worth it.
        attempt.settle({ ok: false, retryable: error.code === 'session_expired', message: `model error: ${error.message}` });
        return;
      }
      this.onError(error);
    });
    conn.onClose((code) => {
      if (conn !== this.conn) return;
      this.detach();
      if (!attempt.settled) {
        // Before the socket opened, `ready` rejects with the better reason (e.g. the HTTP status).
        if (attempt.socketOpen) attempt.settle({ ok: false, retryable: isRetryableCloseCode(code), message: `model connection closed (code ${code})` });
        return;
      }
      this.onClosed(code);
    });
  }

  /** Forgets the current connection (it is closed or being replaced) and what depended on it. */
  private detach(): void {
    this.conn = undefined;
    this.ready = false;
    this.input.resetBackpressure();
    this.timers.cancel(this.renewalTimer);
    this.timers.cancel(this.responseTimer);
    this.timers.cancel(this.retryTimer);
    this.outOfBand.connectionLost();
    this.lastWords.abandon();
    this.scheduler.reset();
  }

  private onSessionUpdated(event: ServerEvent<'session.updated'>, attempt: Attempt): void {
    const purpose = attempt.purpose;
    const problem = checkSessionUpdated(event);
    if (problem) {
      attempt.settle({ ok: false, retryable: false, message: problem.message });
      return;
    }
    this.ready = true;
    this.sessionReadyAt = this.clock.now();
    attempt.settle({ ok: true });
    const heldAudioMs = this.input.heldMs;
    if (purpose === 'initial') {
      this.log.info({ bufferedMs: heldAudioMs }, 'model session ready');
      this.input.flushHeld();
      this.listener.ready?.({ purpose, heldAudioMs });
    } else {
      // A new session knows nothing: give it the conversation so far, then the caller audio held meanwhile.
      const conversation = this.options.conversation();
      const plan = resumePlan(conversation);
      for (const item of plan.items) this.conn!.send(item);
      this.replacing = undefined;
      this.options.metrics?.modelReconnects.inc();
      this.log.info({ purpose, turns: conversation.turns.length, bufferedMs: heldAudioMs, reply: plan.requestReply }, 'model session replaced');
      if (plan.requestReply) this.requestReply();
      this.input.flushHeld();
      this.listener.ready?.({ purpose, heldAudioMs });
    }
    this.everReady = true;
    this.renewalTimer = this.timers.after(this.options.env.MODEL_SESSION_RENEW_AFTER_MS, () => this.checkRenewal());
  }

  private onClosed(code: number): void {
    if (this.stopped) return;
    this.options.metrics?.modelErrors.inc(`close_${code}`);
    const cause = `model connection closed (code ${code})`;
    if (this.windingDown) {
      // The bot is already ending the call: it finishes with what it has, no new session.
      this.listener.unavailable?.({ cause, everReady: this.everReady, fatal: false });
      return;
    }
    if (isRetryableCloseCode(code)) this.replace('reconnect', cause);
    else this.giveUp(cause, false);
  }

  /**
   * Replaces the session: after a drop (counted against MODEL_MAX_RECONNECTS) or as a renewal before the
   * 60-minute cap. Meanwhile the call is held: caller audio is held, no bot audio arrives.
   */
  private replace(purpose: 'reconnect' | 'renewal', cause: string): void {
    if (this.stopped || this.replacing) return;
    if (purpose === 'reconnect') {
      if (this.reconnects >= this.options.env.MODEL_MAX_RECONNECTS) {
        this.giveUp(`${cause}; no reconnects left (${this.reconnects} used)`, false);
        return;
      }
      this.reconnects += 1;
    }
    this.log.warn({ purpose, cause, reconnects: this.reconnects }, 'replacing the model session');
    this.replacing = purpose;
    const unfinished = new Set(this.scheduler.activeIds);
    const old = this.conn;
    this.detach();
    old?.close();
    this.purposes.clear();
    this.callerSpeaking = false;
    this.listener.reconnecting?.({ purpose, cause, unfinished });
    void this.open(purpose);
  }

  /** The model is gone for good: close what is left and tell the conversation. */
  private giveUp(cause: string, fatal: boolean): void {
    if (this.stopped) return;
    const everReady = this.everReady;
    this.close();
    this.listener.unavailable?.({ cause, everReady, fatal });
  }

  /** Renews the session once it is old enough, at a moment when nobody is speaking. */
  private checkRenewal(): void {
    this.renewalTimer = undefined;
    if (this.stopped || this.windingDown || !this.ready) return;
    const decision = renewalDecision({
      sessionAgeMs: this.clock.now() - this.sessionReadyAt,
      renewAfterMs: this.options.env.MODEL_SESSION_RENEW_AFTER_MS,
      botAudioOutstanding: this.options.botAudioOutstanding(),
      responseActive: this.scheduler.busy || this.outOfBand.pending,
      callerSpeaking: this.callerSpeaking,
    });
    if (decision === 'renew_now') this.replace('renewal', 'session age limit approaching');
    else this.renewalTimer = this.timers.after(RENEWAL_POLL_MS, () => this.checkRenewal());
  }

  // ---------------------------------------------------------------- model events

  private onEvent(event: RealtimeServerEvent): void {
    const l = this.listener;
    switch (event.type) {
      case 'response.created': {
        const response = event.response;
        const purpose = purposeOf(response);
        if (!response.id || this.outOfBand.owns(purpose)) return;
        this.timers.cancel(this.responseTimer);
        this.scheduler.created(response.id);
        if (purpose !== undefined) this.purposes.set(response.id, purpose);
        l.responseCreated?.({ responseId: response.id, purpose });
        return;
      }
      case 'response.output_audio.delta':
        l.audio?.({ responseId: event.response_id, itemId: event.item_id, audio: Buffer.from(event.delta, 'base64') });
        return;
      case 'response.output_audio_transcript.done':
        l.botTranscript?.(event, this.purposes.get(event.response_id));
        return;
      case 'conversation.item.added':
      case 'conversation.item.created': {
        const item = event.item;
        if (item.type === 'message' && item.id && (item.role === 'user' || item.role === 'assistant')) {
          l.itemAdded?.({ itemId: item.id, previousItemId: event.previous_item_id, role: item.role === 'user' ? 'caller' : 'bot' });
        }
        return;
      }
      case 'input_audio_buffer.committed':
        this.callerSpeaking = false;
        this.recovery.newTurn();
        this.lastWords.committed(event.item_id, this.settings.transcriptionModel === null);
        l.inputCommitted?.(event);
        this.armResponseTimer();
        return;
      case 'input_audio_buffer.speech_stopped':
        this.callerSpeaking = false;
        l.speechStopped?.();
        return;
      case 'input_audio_buffer.speech_started':
        this.callerSpeaking = true;
        l.speechStarted?.();
        return;
      case 'conversation.item.input_audio_transcription.completed':
        l.callerTranscript?.(event);
        this.lastWords.transcribed(event.item_id);
        return;
      case 'conversation.item.input_audio_transcription.failed':
        this.options.metrics?.modelErrors.inc('transcription_failed');
        this.log.warn({ code: event.error.code, type: event.error.type }, 'caller transcription failed');
        l.callerTranscriptFailed?.(event);
        this.lastWords.transcribed(event.item_id);
        return;
      case 'response.function_call_arguments.done':
        l.toolCall?.({ name: event.name, callId: event.call_id, arguments: event.arguments });
        return;
      case 'response.done':
        this.onResponseDone(event.response);
        return;
      default:
        return;
    }
  }

  private onResponseDone(response: RealtimeResponse): void {
    const purpose = purposeOf(response);
    if (this.outOfBand.owns(purpose)) {
      this.listener.turnDone?.({ response, purpose, outOfBand: true });
      this.outOfBand.responseDone(response);
      return;
    }
    const oneOff = response.id !== undefined && this.purposes.has(response.id);
    if (response.id) this.purposes.delete(response.id);
    if (response.status === 'completed') this.failedResponseRetried = false;
    // Usage and the conversation's own bookkeeping first: a failure below may end the call.
    this.listener.turnDone?.({ response, purpose, outOfBand: false });
    const failed = response.status === 'failed';
    if (!oneOff && !failed) this.checkHeard(response);
    if (failed) {
      const error = (response.status_details as { error?: { code?: string; type?: string; message?: string } } | undefined)?.error;
      const code = error?.code ?? error?.type;
      this.options.metrics?.modelErrors.inc(errorCodeLabel(code));
      this.log.warn({ code }, 'model response failed');
      if (!oneOff) this.onResponseFailed(code, error?.message);
    }
    if (response.id) this.scheduler.done(response.id, failed && !oneOff);
  }

  /** A reply the caller may not have heard (text only, incomplete): counted, logged, recovered once. */
  private checkHeard(response: RealtimeResponse): void {
    const verdict = this.recovery.check(response, this.settings.instructions, !this.stopped && !this.windingDown);
    if (!verdict) return;
    this.options.metrics?.modelErrors.inc(verdict.recovery.metric);
    this.log.warn({ responseId: response.id, reason: verdict.recovery.reason }, verdict.recovery.message);
    if (verdict.reply) this.requestReply({ instructions: verdict.recovery.instructions, outputModalities: ['audio'] });
  }

  /** A reply failed: retried once after the wait it names, else the call gives up (failedReplyPlan). */
  private onResponseFailed(code: string | undefined, message: string | undefined): void {
    if (this.stopped || this.windingDown) return;
    const plan = failedReplyPlan(message, this.failedResponseRetried, this.options.env.MODEL_RATE_LIMIT_MAX_WAIT_MS);
    if ('giveUp' in plan) {
      this.giveUp(`model response failed (${code ?? 'unknown'}) and ${plan.giveUp}`, false);
      return;
    }
    const waitMs = plan.retryAfterMs;
    this.failedResponseRetried = true;
    this.log.info({ code, waitMs }, 'retrying the failed reply after the wait');
    this.timers.cancel(this.retryTimer);
    this.retryTimer = this.timers.after(waitMs, () => {
      this.retryTimer = undefined;
      if (!this.stopped && !this.windingDown && this.ready) this.requestReply();
    });
  }

  private onError(error: ModelConnectionError): void {
    const code = error.code;
    if (code === 'conversation_already_has_active_response' && error.clientEventId) {
      // Our response.create raced a VAD-created response: it goes again once that one is done.
      this.scheduler.rejected(error.clientEventId, true);
      return;
    }
    // Any other error about one of our requests: that request will not start (nothing waits on it).
    this.scheduler.rejected(error.clientEventId, false);
    if (this.outOfBand.rejected(error.clientEventId)) return;
    switch (modelErrorVerdict(code)) {
      case 'last-words-too-short':
        // Nothing to transcribe: the ending need not wait for it.
        this.log.info("the caller's last words were under 100 ms of audio; nothing committed");
        this.lastWords.abandon();
        return;
      case 'benign':
        this.log.debug({ code }, 'benign model error');
        return;
      case 'renew':
        // The 60-minute cap hit before a quiet moment allowed a renewal: renew now (the server closes with 1001).
        if (this.windingDown) this.listener.unavailable?.({ cause: 'model session expired', everReady: this.everReady, fatal: false });
        else this.replace('renewal', 'model session expired (60-minute limit)');
        return;
      case 'give-up':
        this.giveUp(`model error: ${error.message}`, true);
        return;
      case 'log':
        this.log.warn({ code, message: error.message }, 'model error');
    }
  }

  /** After the caller's turn is committed, a reply should start; if none does, ask once (a silent model). */
  private armResponseTimer(): void {
    this.timers.cancel(this.responseTimer);
    if (this.stopped || this.windingDown) return;
    const timeoutMs = this.options.env.MODEL_RESPONSE_TIMEOUT_MS;
    this.responseTimer = this.timers.after(timeoutMs, () => {
      this.responseTimer = undefined;
      if (this.stopped || this.windingDown || !this.ready || this.scheduler.activeIds.size > 0) return;
      this.log.warn({ timeoutMs }, 'no reply after the caller spoke; asking the model once');
      this.options.metrics?.modelErrors.inc('response_timeout');
      this.requestReply();
    });
  }
}

function purposeOf(response: Pick<RealtimeResponse, 'metadata'>): string | undefined {
  const purpose = (response.metadata as Record<string, unknown> | null | undefined)?.['purpose'];
  return typeof purpose === 'string' ? purpose : undefined;
}
