/**
 * One AudioHook protocol session over one ProtocolSocket (the AudioHook protocol spec).
 *
 * The session owns the protocol: validation of every client message, the state table (state.ts), the one
 * ordered writer (writer.ts), media negotiation (media.ts), the stream timeline, the open/close/disconnect
 * transactions and the watchdogs. The call logic plugs in through CallHandler/CallControl (handler.ts) and
 * can never crash the session: its callbacks are wrapped, and an exception ends the call with
 * `disconnect error`.
 *
 * No `ws` import and no real timers: the server feeds socket events in, time comes from the injected Clock.
 *
 * Choices where the protocol is unverified (not confirmed by a Genesys source), all on the side of keeping a live call up:
 * - audio received while paused (or after our disconnect) is dropped with a debug log, not an error;
 * - unknown message types are ignored (their seq still counts); a duplicate `open` is ignored (RI);
 * - `update` is answered with `updated {}`; `ping` is answered even before `open` and after `disconnect`
 *   (within a budget far above Genesys's 5 s rhythm: ping-budget.ts), but after a protocol violation ended
 *   the session only `close` is answered;
 * - after `disconnect` we stop signalling errors and resync on the client's seq so its `close` is honoured;
 * - empty binary frames are ignored in every state (even before `opened`);
 * - idle watchdog 60 s, open timeout 10 s, close wait after `disconnect` 10 s (all configurable);
 * - `error` 429: outbound audio and `event`s are held for `retryAfter` (default 1 s, at most 60 s; see
 *   rate-limit.ts), then resume on their own; control messages are never held. Events still held when
 *   `closed` is due are sent first if the hold has ended, otherwise dropped (the limit is honoured).
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { bytesPerSampleFrame, channelAsUlaw, ulawToLayout } from '../audio/codec.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import type {
  CallContext,
  CallControl,
  CallHandler,
  ClientErrorInfo,
  CloseCause,
  ProtocolSession,
  SessionObserver,
  SessionOptions,
  SessionOutcome,
  SessionState,
} from './handler.js';
import { parseDurationMs } from './duration.js';
import { languageTag } from './language.js';
import { PingBudget } from './ping-budget.js';
import { checkClientText } from './inbound.js';
import { describeOffers, selectMedia, splitIntoMessages } from './media.js';
import { OutboundHold } from './rate-limit.js';
import {
  clientMessageSchema,
  describeZodError,
  DISCONNECT_REASONS,
  isKnownClientType,
  NULL_UUID,
  serverParametersSchemas,
  type ClientEnvelope,
  type ClientMessageOf,
  type DisconnectReason,
  type EventEntity,
  type MediaOffer,
  type ServerMessageType,
  type ServerParameters,
  type UsableMedia,
} from './schemas.js';
import { binaryDisposition, canTransition, clientMessageDisposition, maySend, signalsErrors } from './state.js';
import { StreamTimeline } from './timeline.js';
import { ServerMessageWriter } from './writer.js';

export const SESSION_DEFAULTS = {
  closeHandlerTimeoutMs: 3_000,
  /** [U] Genesys pings about every 5 s; a minute of silence means the peer is gone. */
  idleTimeoutMs: 60_000,
  /** Genesys sends `open` right after connecting; 10 s without it is not a Genesys client. */
  openTimeoutMs: 10_000,
  /** Mirrors the client's own 10 s close-transaction timeout (RI default, [U] for production). */
  disconnectCloseTimeoutMs: 10_000,
  /** Bound on awaiting CallHandler.onShutdown before the session sends its own shutdown disconnect. */
  shutdownHandlerTimeoutMs: 3_000,
} as const;

/** Close code reported to CallHandler.onClose when the session itself closed the socket (timeouts). */
export const SERVER_CLOSED_SOCKET_CODE = 1000;

/** `disconnect.info` is for humans in Genesys logs; keep it short. */
const MAX_INFO_CHARS = 400;

const outputVariablesSchema = z.record(z.string(), z.unknown());

export function createSession(options: SessionOptions): ProtocolSession {
  return new AudioHookSession(options);
}

class AudioHookSession implements ProtocolSession {
  private current: SessionState = 'preparing';
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly writer: ServerMessageWriter;
  private readonly timeline = new StreamTimeline();
  private readonly limits: {
    closeHandlerTimeoutMs: number;
    idleTimeoutMs: number;
    openTimeoutMs: number;
    disconnectCloseTimeoutMs: number;
    shutdownHandlerTimeoutMs: number;
  };
  private readonly control: CallControl;

  private layout: UsableMedia | null = null;
  private handler: CallHandler | null = null;
  private closeHandlerCalled = false;
  private pauseRequested = false;
  private resumeRequested = false;
  private disconnectSent = false;
  /** The transport is gone (closed by either side): nothing more can be sent. */
  private socketGone = false;
  private socketCloseRequested = false;
  private ending = false;
  private done = false;
  private droppedAudioFrames = 0;
  /** sendAudio calls refused because the socket was over its back-pressure bound. */
  private refusedAudioSends = 0;
  private shutdownRequested = false;
  private shutdownTimer: TimerHandle | undefined;
  /** Genesys 429: outbound audio and events wait until the hold ends. */
  private readonly rateLimit = new OutboundHold<EventEntity[]>();
  /** Client pings answered at most at this rate (ping-budget.ts). */
  private readonly pings: PingBudget;
  /** Protocol violations after our disconnect: not signalled, and logged only the first time. */
  private unsignalledViolations = 0;
  /**
   * Why our disconnect was sent. After a `violation` ended the session nothing more is answered on it
   * except the client's `close` (the close transaction is how a disconnect is acknowledged, §5.5).
   */
  private disconnectCause: 'violation' | 'session' | undefined;
  private rateLimitTimer: TimerHandle | undefined;
  /** What the observer hears when the session finishes. */
  private readonly outcome: SessionOutcome = { opened: false, probe: false, call: false, shutdown: false };

  private lastInboundAt: number;
  private idleTimer: TimerHandle | undefined;
  private openTimer: TimerHandle | undefined;
  private closeWaitTimer: TimerHandle | undefined;

  readonly finished: Promise<void>;
  private resolveFinished!: () => void;

  constructor(private readonly options: SessionOptions) {
    this.clock = options.clock ?? systemClock;
    this.limits = {
      closeHandlerTimeoutMs: options.closeHandlerTimeoutMs ?? SESSION_DEFAULTS.closeHandlerTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? SESSION_DEFAULTS.idleTimeoutMs,
      openTimeoutMs: options.openTimeoutMs ?? SESSION_DEFAULTS.openTimeoutMs,
      disconnectCloseTimeoutMs: options.disconnectCloseTimeoutMs ?? SESSION_DEFAULTS.disconnectCloseTimeoutMs,
      shutdownHandlerTimeoutMs: options.shutdownHandlerTimeoutMs ?? SESSION_DEFAULTS.shutdownHandlerTimeoutMs,
    };
    this.log = options.logger.child({ sessionId: options.sessionId, correlationId: options.correlationId });
    this.writer = new ServerMessageWriter(options.sessionId, (text) => options.socket.sendText(text));
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.control = this.createControl();

    this.lastInboundAt = this.clock.now();
    this.pings = new PingBudget(this.lastInboundAt);
    this.armIdleWatchdog(this.limits.idleTimeoutMs);
    this.openTimer = this.clock.setTimeout(
      () => this.guard('open timeout', () => this.abandon(`no open within ${this.limits.openTimeoutMs} ms`)),
      this.limits.openTimeoutMs,
    );
  }

  get state(): SessionState {
    return this.current;
  }

  // ---------------------------------------------------------------- socket events

  handleText(text: string): void {
    if (this.current === 'closed') return;
    this.lastInboundAt = this.clock.now();
    this.guard('text message', () => this.processText(text));
  }

  handleBinary(data: Uint8Array): void {
    if (this.current === 'closed') return;
    this.lastInboundAt = this.clock.now();
    this.guard('binary message', () => this.processBinary(data));
  }

  handleSocketClosed(code: number): void {
    if (this.socketGone) return;
    this.socketGone = true;
    if (this.current === 'closed') return;
    if (this.current === 'closing') {
      // The close transaction finishes on its own; `closed` simply cannot be sent any more.
      this.log.info({ code }, 'socket closed during the close transaction');
      return;
    }
    this.log.info({ code, state: this.current }, 'socket closed without a close message');
    this.guard('socket closed', () => this.endWithoutClose({ kind: 'socket', code }));
  }

  shutdown(): boolean {
    if (this.current === 'disconnecting' || this.current === 'closing') return true;
    if (this.shutdownRequested) return this.current !== 'closed';
    if (this.current !== 'active' && this.current !== 'paused') return false;
    this.shutdownRequested = true;
    this.outcome.shutdown = true;
    this.guard('shutdown', () => this.endForShutdown());
    // Read through the getter: endForShutdown may have moved the state on.
    return this.state !== 'closed';
  }

  // ---------------------------------------------------------------- inbound text

  private processText(text: string): void {
    const check = checkClientText(text, {
      sessionId: this.options.sessionId,
      lastClientSeq: this.writer.lastClientSeq,
      lastServerSeq: this.writer.lastServerSeq,
    });
    if (check.ok) {
      this.writer.acknowledge(check.envelope.seq);
      this.dispatch(check.envelope, check.raw);
      return;
    }
    const { envelope, raw } = check;
    if (envelope && raw && check.problem !== 'wrong-id') {
      // Resync on the client's numbering so our clientseq acknowledges what it actually sent.
      this.writer.acknowledge(envelope.seq);
      if (!signalsErrors(this.current)) {
        // After our disconnect / during close we no longer signal errors; still honour e.g. `close`.
        this.log.warn({ reason: check.reason, type: envelope.type }, 'client sequencing problem after disconnect; continuing');
        this.dispatch(envelope, raw);
        return;
      }
    }
    this.violation(check.reason);
  }

  private dispatch(envelope: ClientEnvelope, raw: Record<string, unknown>): void {
    const type = envelope.type;
    if (this.disconnectCause === 'violation' && type !== 'close') {
      this.log.debug({ type, seq: envelope.seq }, 'session ended by a protocol violation: not answered');
      return;
    }
    this.log.debug({ type, seq: envelope.seq }, 'client message');
    if (!isKnownClientType(type)) {
      // Genesys adds message types over time: never fatal (AudioHook spec: unknown message types).
      this.log.info({ type }, 'ignoring unknown client message type');
      return;
    }
    const disposition = clientMessageDisposition(type, this.current);
    if (disposition === 'ignore') {
      const unexpected = this.current === 'active' || this.current === 'paused';
      this.log[unexpected ? 'warn' : 'debug']({ type, state: this.current }, 'ignoring client message in this state');
      return;
    }
    if (disposition === 'violation') {
      this.violation(`unexpected ${type} message in state ${this.current}`);
      return;
    }
    const parsed = clientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.violation(`invalid ${type} message: ${describeZodError(parsed.error)}`);
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case 'open':
        return this.onOpen(message, raw);
      case 'close':
        return this.startCloseTransaction({ kind: 'close', reason: message.parameters.reason });
      case 'ping':
        return this.onPing();
      case 'paused':
        return this.onClientPaused();
      case 'resumed':
        return this.onClientResumed(message);
      case 'update':
        return this.onUpdate(message);
      case 'discarded':
        return this.onDiscarded(message);
      case 'error':
        return this.onClientError(message);
      case 'dtmf':
        return this.onDtmf(message);
      case 'playback_started':
        return this.invoke('onPlaybackStarted', (h) => h.onPlaybackStarted?.());
      case 'playback_completed':
        return this.invoke('onPlaybackCompleted', (h) => h.onPlaybackCompleted?.());
    }
  }

  private onOpen(message: ClientMessageOf<'open'>, raw: Record<string, unknown>): void {
    this.setState('opening');
    const p = message.parameters;
    if (p.organizationId.toLowerCase() !== this.options.organizationId.toLowerCase()) {
      this.log.warn('open rejected: organizationId differs from the Audiohook-Organization-Id header');
      this.sendDisconnect('unauthorized', 'organizationId does not match the Audiohook-Organization-Id header');
      return;
    }
    // A connection probe (integration activation) uses the null conversation id (and participant id).
    const probe = p.conversationId === NULL_UUID;
    // The raw offers, not zod's copies: `opened` must echo the offered entry verbatim (§5.2).
    const rawOffers = (raw.parameters as { media: unknown[] }).media;
    const choice = selectMedia(rawOffers);
    if (choice === null && !probe) {
      this.log.warn({ offered: describeOffers(rawOffers) }, 'open rejected: no usable media');
      this.sendDisconnect(
        'error',
        `no usable media offered (need PCMU or L16 at 8000 Hz with the external channel); offered: ${describeOffers(rawOffers)}`,
      );
      return;
    }
    const opened: ServerParameters<'opened'> = {
      startPaused: false,
      media: choice ? [choice.offer as MediaOffer] : [],
    };
    if (p.supportedLanguages === true) opened.supportedLanguages = [...(this.options.supportedLanguages ?? [])];
    if (!this.send('opened', opened)) return;
    this.layout = choice?.layout ?? null;
    this.setState('active');
    this.outcome.opened = true;
    this.outcome.probe = probe;
    // lastInboundAt is when this `open` arrived (handleText); the latency is our validation and negotiation.
    const latencyMs = this.clock.now() - this.lastInboundAt;
    this.notify('onOpened', (o) => o.onOpened?.({ latencyMs, probe }));

    const inputVariables = p.inputVariables ?? {};
    const language = languageTag(p.language);
    if (p.language !== undefined && language === undefined) {
      this.log.warn({ languageChars: p.language.length }, 'open: language is not a language tag; ignored');
    }
    this.log.info(
      {
        conversationId: p.conversationId,
        probe,
        media: choice ? describeOffers([choice.offer]) : 'none',
        language,
        inputVariableKeys: Object.keys(inputVariables),
      },
      probe ? 'connection probe opened' : 'session opened',
    );
    if (probe || !this.options.createCall) return;

    const context: CallContext = {
      sessionId: this.options.sessionId,
      correlationId: this.options.correlationId,
      organizationId: p.organizationId,
      conversationId: p.conversationId,
      connectorId: this.options.connectorId,
      participant: p.participant,
      language,
      inputVariables,
      customConfig: p.customConfig ?? {},
      media: choice!.offer as MediaOffer,
      layout: choice!.layout,
      logger: this.log.child({ conversationId: p.conversationId }),
      openedAt: this.clock.now(),
    };
    try {
      this.handler = this.options.createCall(context, this.control);
      this.outcome.call = true;
    } catch (err) {
      this.log.error({ err }, 'createCall failed; ending the session');
      this.sendDisconnect('error', 'call setup failed');
    }
  }

  private onPing(): void {
    if (this.pings.take(this.clock.now())) {
      this.send('pong', {});
      return;
    }
    // The first refusal, then every 1,000th: never one line per ping.
    if (this.pings.refused === 1 || this.pings.refused % 1000 === 0) {
      this.log.warn({ refused: this.pings.refused }, 'client pinging too fast; ping not answered');
    }
  }

  private onClientPaused(): void {
    this.pauseRequested = false;
    this.resumeRequested = false;
    // A `paused` while already paused answers a `resume` during a client-side pause (§5.6): stay paused.
    if (this.current !== 'active') return;
    this.setState('paused');
    this.log.info('stream paused');
    this.invoke('onPaused', (h) => h.onPaused?.());
  }

  private onClientResumed(message: ClientMessageOf<'resumed'>): void {
    const startMs = parseDurationMs(message.parameters.start) ?? 0;
    const discardedMs = parseDurationMs(message.parameters.discarded) ?? 0;
    this.timeline.skip(discardedMs);
    this.resumeRequested = false;
    if (this.current !== 'paused') {
      this.log.debug({ startMs, discardedMs }, 'resumed while not paused');
      return;
    }
    this.setState('active');
    this.log.info({ startMs, discardedMs }, 'stream resumed');
    this.invoke('onResumed', (h) => h.onResumed?.({ startMs, discardedMs }));
  }

  private onUpdate(message: ClientMessageOf<'update'>): void {
    // RI's server never answers; `updated {}` is defined and harmless, so we send it (§5.7, [U]).
    this.send('updated', {});
    const raw = message.parameters.language;
    const language = languageTag(raw);
    if (raw !== undefined && language === undefined) {
      this.log.warn({ languageChars: raw.length }, 'update: language is not a language tag; ignored');
    }
    this.log.info({ language }, 'update');
    this.invoke('onUpdate', (h) => h.onUpdate?.(language === undefined ? {} : { language }));
  }

  private onDiscarded(message: ClientMessageOf<'discarded'>): void {
    const startMs = parseDurationMs(message.parameters.start) ?? 0;
    const discardedMs = parseDurationMs(message.parameters.discarded) ?? 0;
    this.timeline.skip(discardedMs);
    this.log.info({ startMs, discardedMs }, 'client discarded audio');
    this.invoke('onDiscarded', (h) => h.onDiscarded?.({ startMs, discardedMs }));
  }

  private onClientError(message: ClientMessageOf<'error'>): void {
    const { code, message: text, retryAfter } = message.parameters;
    const info: ClientErrorInfo = { code, message: text };
    const retryAfterMs = retryAfter === undefined ? null : parseDurationMs(retryAfter);
    if (retryAfterMs !== null) info.retryAfterMs = retryAfterMs;
    if (code === 429) {
      this.holdOutbound(info.retryAfterMs);
    } else if (code >= 400 && code < 500) {
      // A 4xx means Genesys found fault with what we sent: a bug on our side.
      this.log.warn({ code, clientMessage: text }, 'CLIENT REPORTS A PROTOCOL ERROR IN OUR MESSAGES');
    } else {
      this.log.warn({ code, clientMessage: text }, 'client error');
    }
    this.notify('onClientError', (o) => o.onClientError?.(info));
    this.invoke('onClientError', (h) => h.onClientError?.(info));
  }

  private onDtmf(message: ClientMessageOf<'dtmf'>): void {
    const positionMs = parseDurationMs(message.position) ?? this.timeline.positionMs;
    // Digits may be PINs or card numbers: never logged.
    this.log.debug({ positionMs }, 'dtmf');
    this.invoke('onDtmf', (h) => h.onDtmf?.(message.parameters.digit, positionMs));
  }

  // ---------------------------------------------------------------- inbound audio

  private processBinary(data: Uint8Array): void {
    if (data.length === 0) return;
    const disposition = binaryDisposition(this.current);
    if (disposition === 'violation') {
      this.violation('audio received before the session was opened');
      return;
    }
    if (disposition === 'drop' || this.layout === null) {
      // Paused: Genesys may have had a frame in flight when it sent `paused`; dropping beats killing the call.
      this.droppedAudioFrames++;
      this.log.debug({ state: this.current, bytes: data.length, dropped: this.droppedAudioFrames }, 'audio dropped');
      return;
    }
    const layout = this.layout;
    const frameBytes = bytesPerSampleFrame(layout);
    if (data.length % frameBytes !== 0) {
      this.violation(`audio message of ${data.length} bytes is not a whole number of ${frameBytes}-byte sample frames`);
      return;
    }
    const positionMs = this.timeline.positionMs;
    this.timeline.addSamples(data.length / frameBytes);
    const handler = this.handler;
    if (!handler?.onAudio) return;
    const ulaw = channelAsUlaw(data, layout, 'external');
    if (ulaw === null) return; // cannot happen: selectMedia only picks layouts with the external channel
    this.invoke('onAudio', (h) => h.onAudio?.(ulaw, positionMs));
  }

  // ---------------------------------------------------------------- server shutdown

  /** Lets the call end itself (bounded), then makes sure a disconnect went out. */
  private endForShutdown(): void {
    const handler = this.handler;
    if (!handler?.onShutdown) {
      this.log.info('server shutdown: ending the call');
      this.sendShutdownDisconnect();
      return;
    }
    this.log.info({ timeoutMs: this.limits.shutdownHandlerTimeoutMs }, 'server shutdown: asking the call to end');
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(handler.onShutdown());
    } catch (err) {
      this.log.error({ err }, 'call handler onShutdown threw');
      this.sendShutdownDisconnect();
      return;
    }
    const finish = () =>
      this.guard('shutdown', () => {
        this.clock.clearTimeout(this.shutdownTimer);
        this.shutdownTimer = undefined;
        if (this.disconnectSent || !maySend('disconnect', this.current)) return;
        this.log.warn('call handler did not disconnect at shutdown; sending the shutdown disconnect');
        this.sendShutdownDisconnect();
      });
    this.shutdownTimer = this.clock.setTimeout(finish, this.limits.shutdownHandlerTimeoutMs);
    pending.then(finish, (err: unknown) => {
      this.log.error({ err }, 'call handler onShutdown failed');
      finish();
    });
  }

  private sendShutdownDisconnect(): void {
    if (this.disconnectSent || !maySend('disconnect', this.current)) return;
    // `completed`, not `error`, so the Architect flow takes its success path; the variables are the call
    // logic's (SessionOptions.shutdownOutputVariables), this layer does not know their names.
    const outputs = this.options.shutdownOutputVariables;
    this.sendDisconnect('completed', 'server shutting down', outputs ? { ...outputs } : undefined);
  }

  // ---------------------------------------------------------------- close, disconnect, teardown

  private startCloseTransaction(cause: CloseCause & { kind: 'close' }): void {
    this.setState('closing');
    this.clearTimers();
    this.outcome.closeReason = cause.reason;
    this.log.info({ reason: cause.reason }, 'client close; closing session');
    void this.runCloseHandler(cause).then(() =>
      this.guard('close transaction', () => {
        this.releaseHeldEvents(this.rateLimit.isHeld(this.clock.now()) ? 'drop' : 'send');
        this.send('closed', {});
        this.setState('closed');
        this.closeSocket();
        this.complete();
      }),
    );
  }

  /** Transport gone or abandoned: no close transaction, no sends; the handler still hears about it once. */
  private endWithoutClose(cause: CloseCause & { kind: 'socket' }): void {
    if (this.ending) return;
    this.ending = true;
    this.clearTimers();
    this.outcome.socketCode = cause.code;
    this.setState('closed');
    void this.runCloseHandler(cause).then(() => this.complete());
  }

  /** Closes the socket on our side (timeouts, unresponsive peer) and runs the same cleanup as a drop. */
  private abandon(reason: string): void {
    if (this.current === 'closed' || this.current === 'closing') return;
    this.log.warn({ reason, state: this.current }, 'closing the socket');
    this.closeSocket();
    this.socketGone = true;
    this.endWithoutClose({ kind: 'socket', code: SERVER_CLOSED_SOCKET_CODE });
  }

  /** Awaits CallHandler.onClose once, bounded so a stuck handler cannot delay `closed`. Never rejects. */
  private async runCloseHandler(cause: CloseCause): Promise<void> {
    const handler = this.handler;
    if (!handler || this.closeHandlerCalled) return;
    this.closeHandlerCalled = true;
    let settled: Promise<'done' | 'failed'>;
    try {
      settled = Promise.resolve(handler.onClose(cause)).then(
        () => 'done' as const,
        (err: unknown) => {
          this.log.error({ err }, 'call handler onClose failed');
          return 'failed' as const;
        },
      );
    } catch (err) {
      this.log.error({ err }, 'call handler onClose threw');
      return;
    }
    let timer: TimerHandle | undefined;
    const bound = new Promise<'timeout'>((resolve) => {
      timer = this.clock.setTimeout(() => resolve('timeout'), this.limits.closeHandlerTimeoutMs);
    });
    const outcome = await Promise.race([settled, bound]);
    this.clock.clearTimeout(timer);
    if (outcome === 'timeout') {
      this.log.warn({ timeoutMs: this.limits.closeHandlerTimeoutMs }, 'call handler onClose did not finish in time; closing anyway');
    }
  }

  private violation(reason: string): void {
    if (!signalsErrors(this.current)) {
      // Logged once: a peer repeating bad messages must not turn into one log line each.
      if (this.unsignalledViolations++ === 0) this.log.warn({ reason, state: this.current }, 'protocol violation (not signalled again)');
      return;
    }
    this.log.warn({ reason }, 'protocol violation; disconnecting');
    if (this.sendDisconnect('error', reason)) this.disconnectCause = 'violation';
  }

  /** Sends `disconnect` once (allowed in preparing/opening/active/paused) and awaits the close transaction. */
  private sendDisconnect(reason: DisconnectReason, info?: string, outputVariables?: Record<string, string>): boolean {
    if (this.disconnectSent) {
      this.log.warn({ reason }, 'disconnect already sent; not sending another');
      return false;
    }
    const parameters: ServerParameters<'disconnect'> = { reason };
    if (info !== undefined) parameters.info = info.length > MAX_INFO_CHARS ? `${info.slice(0, MAX_INFO_CHARS)}…` : info;
    if (outputVariables !== undefined) parameters.outputVariables = outputVariables;
    if (!this.send('disconnect', parameters)) return false;
    this.disconnectSent = true;
    this.disconnectCause ??= 'session';
    this.outcome.disconnect = { reason, escalation: outputVariables?.ESCALATION_REQUIRED === 'true' };
    this.setState('disconnecting');
    this.log.info({ reason, info: parameters.info, outputVariableKeys: Object.keys(outputVariables ?? {}) }, 'disconnect sent');
    this.closeWaitTimer = this.clock.setTimeout(
      () => this.guard('close wait', () => this.abandon(`no close within ${this.limits.disconnectCloseTimeoutMs} ms of disconnect`)),
      this.limits.disconnectCloseTimeoutMs,
    );
    return true;
  }

  private closeSocket(): void {
    if (this.socketGone || this.socketCloseRequested) return;
    this.socketCloseRequested = true;
    try {
      this.options.socket.close();
    } catch (err) {
      this.log.error({ err }, 'socket close failed');
    }
  }

  private complete(): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    const unsentEvents = this.rateLimit.takeAll().length;
    this.log.debug(
      {
        receivedMs: this.timeline.positionMs,
        droppedAudioFrames: this.droppedAudioFrames,
        refusedAudioSends: this.refusedAudioSends,
        droppedHeldEvents: this.rateLimit.dropped + unsentEvents,
      },
      'session finished',
    );
    this.notify('onEnded', (o) => o.onEnded?.({ ...this.outcome }));
    this.resolveFinished();
  }

  /** Tells the observer; it watches only, so its failure is logged and changes nothing. */
  private notify(callback: string, run: (observer: SessionObserver) => void): void {
    const observer = this.options.observer;
    if (!observer) return;
    try {
      run(observer);
    } catch (err) {
      this.log.error({ err, callback }, 'session observer threw; ignored');
    }
  }

  private clearTimers(): void {
    this.clock.clearTimeout(this.idleTimer);
    this.clock.clearTimeout(this.openTimer);
    this.clock.clearTimeout(this.closeWaitTimer);
    this.clock.clearTimeout(this.rateLimitTimer);
    this.clock.clearTimeout(this.shutdownTimer);
    this.idleTimer = this.openTimer = this.closeWaitTimer = this.rateLimitTimer = this.shutdownTimer = undefined;
  }

  // ---------------------------------------------------------------- watchdogs

  /** Re-armed lazily (not per message) so a 5-frames-per-second stream does not churn timers. */
  private armIdleWatchdog(delayMs: number): void {
    this.idleTimer = this.clock.setTimeout(() => this.guard('idle watchdog', () => this.checkIdle()), delayMs);
  }

  private checkIdle(): void {
    this.idleTimer = undefined;
    if (this.current === 'closing' || this.current === 'closed') return;
    const idleMs = this.clock.now() - this.lastInboundAt;
    if (idleMs >= this.limits.idleTimeoutMs) this.abandon(`nothing received from the client for ${idleMs} ms`);
    else this.armIdleWatchdog(this.limits.idleTimeoutMs - idleMs);
  }

  // ---------------------------------------------------------------- outbound

  /** The only path for JSON messages: state-checked, then the ordered writer assigns seq/clientseq. */
  private send<T extends ServerMessageType>(type: T, parameters: ServerParameters<T>): boolean {
    if (this.socketGone) return false;
    if (!maySend(type, this.current)) {
      this.log.warn({ type, state: this.current }, 'not sending: message not allowed in this state');
      return false;
    }
    try {
      const message = this.writer.send(type, parameters);
      this.log.debug({ type, seq: message.seq, clientseq: message.clientseq }, 'server message');
      return true;
    } catch (err) {
      this.log.error({ err, type }, 'socket send failed');
      return false;
    }
  }

  private setState(next: SessionState): void {
    if (next === this.current) return;
    if (!canTransition(this.current, next)) throw new Error(`illegal state transition ${this.current} → ${next}`);
    this.log.debug({ from: this.current, to: next }, 'state');
    if (this.current === 'preparing') {
      this.clock.clearTimeout(this.openTimer);
      this.openTimer = undefined;
    }
    this.current = next;
  }

  /** Runs a handler callback; an exception ends the call instead of crashing the session. */
  private invoke(callback: string, run: (handler: CallHandler) => void): void {
    const handler = this.handler;
    if (!handler) return;
    try {
      run(handler);
    } catch (err) {
      this.log.error({ err, callback }, 'call handler threw; ending the call');
      this.sendDisconnect('error', 'internal error in call handler');
    }
  }

  /** Entry points never throw into the server: an internal bug is logged and ends the call. */
  private guard(what: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.log.error({ err, what }, 'internal session error');
      try {
        if (signalsErrors(this.current)) this.sendDisconnect('error', 'internal server error');
      } catch (inner) {
        this.log.error({ err: inner }, 'could not signal the internal error');
      }
    }
  }

  // ---------------------------------------------------------------- the call's control surface

  private createControl(): CallControl {
    const session = this;
    return {
      get state() {
        return session.current;
      },
      get bufferedAmount() {
        return session.socketGone ? 0 : session.options.socket.bufferedAmount;
      },
      get rateLimitedUntil() {
        return session.rateLimit.heldUntil(session.clock.now());
      },
      sendAudio: (ulaw) => this.sendAudio(ulaw),
      sendEvent: (entities) => this.sendEvent(entities),
      disconnect: (reason, info, outputVariables) =>
        this.guard('disconnect', () => this.disconnectFromCall(reason, info, outputVariables)),
      pause: () => this.guard('pause', () => this.pause()),
      resume: () => this.guard('resume', () => this.resume()),
    };
  }

  private sendAudio(ulaw: Uint8Array): boolean {
    const layout = this.layout;
    if (this.socketGone || layout === null || this.pauseRequested || !maySend('audio', this.current)) return false;
    if (this.rateLimit.isHeld(this.clock.now())) return false;
    // Back-pressure: the peer is not reading; the caller keeps its audio, control messages still flow.
    if (this.options.socket.acceptsAudio === false) {
      this.refusedAudioSends++;
      return false;
    }
    if (!(ulaw instanceof Uint8Array)) {
      this.log.error('sendAudio needs a Uint8Array of μ-law bytes');
      return false;
    }
    if (ulaw.length === 0) return true;
    try {
      for (const part of splitIntoMessages(ulawToLayout(ulaw, layout), layout)) this.options.socket.sendBinary(part);
      return true;
    } catch (err) {
      this.log.error({ err }, 'sending audio failed');
      return false;
    }
  }

  private sendEvent(entities: EventEntity[]): boolean {
    if (this.socketGone || !maySend('event', this.current)) return false;
    const parsed = serverParametersSchemas.event.safeParse({ entities });
    if (!parsed.success) {
      this.log.error({ problem: describeZodError(parsed.error) }, 'invalid event entities; not sent');
      return false;
    }
    if (this.rateLimit.isHeld(this.clock.now())) {
      const overflow = this.rateLimit.enqueue(parsed.data.entities);
      if (overflow) this.log.warn({ droppedHeldEvents: this.rateLimit.dropped }, 'rate-limit event queue full; dropped the oldest event');
      return true;
    }
    // Keep the order: anything still held (the release timer may not have fired yet) goes first.
    this.releaseHeldEvents('send');
    return this.send('event', parsed.data);
  }

  // ---------------------------------------------------------------- Genesys rate limiting (429)

  /** Holds outbound audio and events (see rate-limit.ts); a later 429 extends the hold. */
  private holdOutbound(retryAfterMs: number | undefined): void {
    if (this.current === 'closed') return;
    const now = this.clock.now();
    const until = this.rateLimit.extend(now, retryAfterMs);
    this.log.info({ code: 429, retryAfterMs, holdMs: until - now }, 'client rate limit (429); holding audio and events');
    this.clock.clearTimeout(this.rateLimitTimer);
    this.rateLimitTimer = undefined;
    if (until <= now) return;
    this.rateLimitTimer = this.clock.setTimeout(
      () =>
        this.guard('rate-limit hold end', () => {
          this.rateLimitTimer = undefined;
          this.log.debug({ heldEvents: this.rateLimit.queued }, 'rate-limit hold ended');
          this.releaseHeldEvents('send');
        }),
      until - now,
    );
  }

  /** Sends (in order) or drops the held events; events no longer allowed in this state are dropped. */
  private releaseHeldEvents(action: 'send' | 'drop'): void {
    if (this.rateLimit.queued === 0) return;
    const held = this.rateLimit.takeAll();
    let unsent = 0;
    for (const entities of held) {
      if (action === 'drop' || this.socketGone || !maySend('event', this.current) || !this.send('event', { entities })) unsent++;
    }
    if (unsent > 0) this.log.warn({ unsent, state: this.current }, 'held events dropped');
  }

  private disconnectFromCall(reason: DisconnectReason, info: unknown, outputVariables: unknown): void {
    if (this.disconnectSent || !maySend('disconnect', this.current)) {
      this.log.info({ reason, state: this.current }, 'disconnect requested but not sendable in this state; ignored');
      return;
    }
    let safeReason: DisconnectReason = reason;
    if (!DISCONNECT_REASONS.includes(reason)) {
      this.log.error({ reason }, 'invalid disconnect reason; sending "error" instead');
      safeReason = 'error';
    }
    let safeInfo: string | undefined;
    if (typeof info === 'string') safeInfo = info;
    else if (info !== undefined) this.log.error('disconnect info must be a string; dropped');
    this.sendDisconnect(safeReason, safeInfo, this.validOutputVariables(outputVariables));
  }

  /** Architect outputs are strings only (§8.2): invalid entries are dropped with an error log, never coerced. */
  private validOutputVariables(value: unknown): Record<string, string> | undefined {
    if (value === undefined) return undefined;
    const parsed = outputVariablesSchema.safeParse(value);
    if (!parsed.success) {
      this.log.error('outputVariables must be an object of strings; sending disconnect without them');
      return undefined;
    }
    const valid: Record<string, string> = {};
    const rejectedKeys: string[] = [];
    for (const [key, v] of Object.entries(parsed.data)) {
      if (typeof v === 'string') valid[key] = v;
      else rejectedKeys.push(key);
    }
    if (rejectedKeys.length > 0) {
      this.log.error({ rejectedKeys }, 'outputVariables values must be strings; these keys were dropped');
    }
    return valid;
  }

  private pause(): void {
    if (this.current !== 'active' || this.pauseRequested) return;
    if (this.send('pause', {})) this.pauseRequested = true;
  }

  private resume(): void {
    if (this.current === 'paused' && !this.resumeRequested) {
      if (this.send('resume', {})) this.resumeRequested = true;
    } else if (this.current === 'active' && this.pauseRequested) {
      // Cancels a pause the client has not confirmed yet.
      if (this.send('resume', {})) this.pauseRequested = false;
    }
  }
}
