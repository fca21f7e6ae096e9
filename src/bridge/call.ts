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
 */
import type { Logger } from 'pino';
import type { RealtimeServerEvent, ResponseCreateEvent } from 'openai/resources/realtime/realtime';
import type { CallContext, CallControl, CallHandler, CallHandlerFactory, ClientErrorInfo, CloseCause } from '../audiohook/call.js';
import { OutboundPacer, type OutboundPacerOptions } from '../audio/pacer.js';
import { planBargeInTruncation } from '../audio/truncation.js';
import { connectRealtime, ModelConnectionError, type ConnectSettings, type ModelConnection } from '../realtime/connection.js';
import {
  buildSessionUpdate,
  checkSessionUpdated,
  END_CALL_TOOL,
  serverInterruptsResponses,
  TRANSFER_TOOL,
} from '../realtime/session-config.js';
import { systemClock, type Clock } from '../util/clock.js';
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
/** Error codes after which the model session is unusable. */
const FATAL_MODEL_ERRORS = new Set([
  'session_expired',
  'invalid_api_key',
  'model_not_found',
  'insufficient_quota',
  'account_deactivated',
  'beta_api_shape_disabled',
]);
/** Errors that are expected races, not failures (OPENAI_REALTIME.md §9). */
const BENIGN_MODEL_ERRORS = new Set(['response_cancel_not_active', 'conversation_already_has_active_response']);

const FAREWELL_PURPOSE = 'farewell';

export interface BridgeDeps {
  env: CallDefaults & BridgeEnv;
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
}

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
  private readonly startedAt: Date;
  private readonly startedMs: number;
  private readonly pacer: OutboundPacer;
  private readonly dtmf: DtmfCollector;
  private readonly transcript = new Transcript();
  private usage: UsageTotals = emptyUsage();

  private config: CallConfig | undefined;
  private conn: ModelConnection | undefined;
  private socketOpen = false;
  private modelReady = false;
  private modelClosed = false;
  private connectTimer: ReturnType<Clock['setTimeout']> | undefined;
  private pendingAudio: Uint8Array[] = [];
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
    this.startedAt = this.wallClock();
    this.startedMs = this.clock.now();
    const createPacer = deps.createPacer ?? ((o: OutboundPacerOptions) => new OutboundPacer(o));
    this.pacer = createPacer({
      clock: this.clock,
      send: (frame) => this.control.sendAudio(frame),
      onOverflow: (info) => this.log.warn(info, 'outbound audio queue full; oldest audio dropped'),
    });
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
      onUpdate: guard('onUpdate', (params: { language?: string }) =>
        this.log.info({ language: params.language }, 'language update ignored (instructions are fixed per call)'),
      ),
      onClose: (cause: CloseCause) => {
        try {
          this.onCallClosed(cause);
        } catch (err) {
          this.log.error({ err }, 'bridge onClose failed');
        }
      },
    };
  }

  // ---------------------------------------------------------------- start-up

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
    this.log.info(
      { model: settings.model, voice: settings.voice, vad: settings.vad.type, greeting: this.config.greeting.kind },
      'call bridge started',
    );
    void this.connectModel({ ...this.deps.connect, model: settings.model });
  }

  private async connectModel(settings: ConnectSettings): Promise<void> {
    const connectedAt = this.clock.now();
    this.connectTimer = this.clock.setTimeout(
      () => this.failCall(`model not ready within ${settings.connectTimeoutMs} ms`),
      settings.connectTimeoutMs,
    );
    let conn: ModelConnection;
    try {
      conn = await (this.deps.connectModel ?? connectRealtime)(settings, this.log);
    } catch (err) {
      this.failCall(`model connection failed: ${(err as Error).message}`);
      return;
    }
    this.conn = conn;
    conn.onEvent((event) => {
      try {
        this.onModelEvent(event);
      } catch (err) {
        this.log.error({ err, type: event.type }, 'model event handling failed');
      }
    });
    conn.onError((error) => this.onModelError(error));
    conn.onClose((code) => {
      this.modelClosed = true;
      this.summaryWaiter?.done.resolve(undefined);
      this.idle?.resolve();
      this.farewellDone?.resolve();
      // Before the socket opened, `ready` rejects with the better reason (e.g. the HTTP status).
      if (!this.finalizing && this.socketOpen) this.failCall(`model connection closed (code ${code})`);
    });
    if (this.finalizing) {
      conn.close();
      return;
    }
    try {
      await conn.ready;
    } catch (err) {
      this.failCall(err instanceof ModelConnectionError ? err.message : `model connection failed: ${(err as Error).message}`);
      return;
    }
    if (this.finalizing) return;
    this.socketOpen = true;
    this.log.debug({ ms: Math.round(this.clock.now() - connectedAt) }, 'model socket open');
    conn.send(buildSessionUpdate(this.config!.settings));
  }

  private onSessionUpdated(event: RealtimeServerEvent): void {
    if (this.modelReady) return;
    const problem = checkSessionUpdated(event);
    if (problem) {
      this.failCall(problem.message);
      return;
    }
    this.clock.clearTimeout(this.connectTimer);
    this.modelReady = true;
    this.log.info({ bufferedMs: this.pendingAudioBytes / 8 }, 'model session ready');
    for (const chunk of this.pendingAudio) this.appendAudio(chunk);
    this.pendingAudio = [];
    this.pendingAudioBytes = 0;
    this.greet();
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
    // PCMU passthrough: Genesys and the session both use G.711 μ-law 8 kHz.
    this.conn?.send({ type: 'input_audio_buffer.append', audio: Buffer.from(ulaw).toString('base64') });
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
        return;
      case 'conversation.item.input_audio_transcription.completed':
        this.transcript.callerText(event.item_id, event.transcript);
        return;
      case 'input_audio_buffer.speech_started':
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
    this.log.debug({ reason: this.ending.reason }, 'end-of-call reason');
    this.dtmf.stop();
    this.conn?.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: callId, output: JSON.stringify({ ok: true }) },
    });
    this.farewellDone = deferred<void>();
    this.requestResponse({
      type: 'response.create',
      response: {
        metadata: { purpose: FAREWELL_PURPOSE },
        instructions:
          kind === 'escalated'
            ? 'In one short sentence, tell the caller you are transferring them to a colleague now.'
            : 'In one short sentence, say goodbye to the caller.',
        tool_choice: 'none',
      },
    });
    this.background(this.finishBotEnded());
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
    if (response.status === 'failed') {
      const details = response.status_details as { error?: { code?: string } } | undefined;
      this.log.warn({ code: details?.error?.code }, 'model response failed');
    }
    if (response.id) {
      this.activeResponses.delete(response.id);
      this.pacer.endResponse(response.id);
      if (response.id === this.farewellResponseId) this.farewellDone?.resolve();
    }
    if (this.activeResponses.size === 0) {
      this.idle?.resolve();
      this.idle = undefined;
      const next = this.queuedResponseCreates.shift();
      if (next) this.sendResponseCreate(next);
    }
  }

  private onModelError(error: ModelConnectionError): void {
    const code = error.code;
    if (!this.socketOpen) {
      // Handshake failures are reported by `ready` (with the HTTP status); the transport echo adds nothing.
      this.log.debug({ code, message: error.message }, 'model error during handshake');
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
    if ((code && FATAL_MODEL_ERRORS.has(code)) || !this.modelReady) {
      this.failCall(
        code === 'session_expired' ? 'model session expired (60-minute limit)' : `model error: ${error.message}`,
      );
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
    this.pacer.stop();
    const ending = this.ending!;
    const summary = await this.produceSummary(ending.kind);
    const outputs = buildOutputVariables({
      summary,
      ...(ending.kind === 'escalated' ? { escalation: { reason: ending.reason } } : {}),
      durationMs: this.clock.now() - this.startedMs,
      usage: this.usage,
    });
    this.control.disconnect('completed', undefined, outputs);
    await this.report(ending.kind, summary, undefined);
  }

  /** Caller hang-up (or the client closed for another reason): returns at once; the rest runs in background. */
  private onCallClosed(cause: CloseCause): void {
    this.dtmf.stop();
    this.pacer.stop();
    this.clock.clearTimeout(this.connectTimer);
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

  /** Ends the call with `disconnect` error (Architect's failure path) and reports from our transcript. */
  private failCall(info: string): void {
    if (this.finalizing) return;
    this.finalizing = true;
    this.farewellDone?.resolve();
    this.clock.clearTimeout(this.connectTimer);
    this.dtmf.stop();
    this.pacer.stop();
    this.log.warn({ info }, 'ending the call with an error');
    this.control.disconnect('error', info);
    const summary = fallbackSummary(this.transcript.turns(), {
      endReason: 'error',
      ...(this.ending?.kind === 'escalated' ? { escalationReason: this.ending.reason } : {}),
    });
    this.background(this.report('error', summary, info));
  }

  /** The model's summary when the session is usable, else (or on timeout) the transcript-only fallback. */
  private async produceSummary(endReason: CallEndReason): Promise<SummaryResult> {
    const fallback = () =>
      fallbackSummary(this.transcript.turns(), {
        endReason,
        ...(this.ending?.kind === 'escalated' ? { escalationReason: this.ending.reason } : {}),
      });
    const conn = this.conn;
    if (!conn || !this.modelReady || this.modelClosed) return fallback();
    const timeoutMs = this.deps.env.SUMMARY_TIMEOUT_MS;
    const deadline = this.clock.now() + timeoutMs;
    this.queuedResponseCreates.length = 0;
    if (this.activeResponses.size > 0) {
      // A summary must not collide with a reply still running in the default conversation.
      this.idle = deferred<void>();
      conn.send({ type: 'response.cancel' });
      await this.within(this.idle.promise, Math.min(CANCEL_SETTLE_MS, timeoutMs));
    }
    if (this.modelClosed) return fallback();
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
