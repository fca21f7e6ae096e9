/**
 * One AudioHook protocol session over one ProtocolSocket (the AudioHook protocol spec).
 *
 * The session runs the protocol's transactions — open, pause/resume, disconnect, close — over its state
 * table (state.ts). Its helpers each own one part: client message checks (inbound.ts, inbound-audio.ts),
 * the answer to `open` (open-negotiation.ts), everything sent with the 429 hold (outbound.ts), the
 * deadlines on the peer (watchdogs.ts) and on the call logic (handler-deadlines.ts), what may go into our
 * `disconnect` (disconnect-request.ts). The call logic plugs in through CallHandler/CallControl
 * (handler.ts) and can never crash the session: its callbacks are wrapped, and an exception ends the call
 * with `disconnect error`.
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
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import type { CallControl, CallHandler, CloseCause, ProtocolSession, SessionObserver, SessionOptions, SessionOutcome, SessionState } from './handler.js';
import { checkedDisconnectRequest, disconnectParameters, type DisconnectRequest } from './disconnect-request.js';
import { parseDurationMs, streamGapMs } from './duration.js';
import { DeferredCallSetup } from './call-setup.js';
import { askHandlerToShutdown, awaitCloseHandler } from './handler-deadlines.js';
import { clientLanguage } from './language.js';
import { PingBudget } from './ping-budget.js';
import { admitClientMessage, checkClientText, clientErrorInfo } from './inbound.js';
import { judgeInboundAudio } from './inbound-audio.js';
import { describeOffers } from './media.js';
import { callContextFor, negotiateOpen } from './open-negotiation.js';
import { Outbound } from './outbound.js';
import { type ClientEnvelope, type ClientMessageOf, type UsableMedia } from './schemas.js';
import { canTransition, maySend, signalsErrors } from './state.js';
import { StreamTimeline } from './timeline.js';
import { Watchdogs } from './watchdogs.js';
import { ServerMessageWriter } from './writer.js';
import { sessionLimits, type SessionLimits } from './session-limits.js';

/** Close code reported to CallHandler.onClose when the session itself closed the socket (timeouts). */
export const SERVER_CLOSED_SOCKET_CODE = 1000;

export function createSession(options: SessionOptions): ProtocolSession {
  return new AudioHookSession(options);
}

class AudioHookSession implements ProtocolSession {
  private current: SessionState = 'preparing';
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly writer: ServerMessageWriter;
  private readonly outbound: Outbound;
  private readonly watchdogs: Watchdogs;
  private readonly timeline = new StreamTimeline();
  private readonly limits: SessionLimits;
  private readonly control: CallControl;

  private layout: UsableMedia | null = null;
  private handler: CallHandler | null = null;
  private readonly callSetup: DeferredCallSetup;
  private closeHandlerCalled = false;
  private disconnectSent = false;
  /** The transport is gone (closed by either side): nothing more can be sent. */
  private socketGone = false;
  private ending = false;
  private done = false;
  private droppedAudioFrames = 0;
  private shutdownRequested = false;
  private shutdownTimer: TimerHandle | undefined;
  /** Client pings answered at most at this rate (ping-budget.ts). */
  private readonly pings: PingBudget;
  /** Protocol violations after our disconnect: not signalled, and logged only the first time. */
  private unsignalledViolations = 0;
  /**
   * Why our disconnect was sent. After a `violation` ended the session nothing more is answered on it
   * except the client's `close` (the close transaction is how a disconnect is acknowledged, §5.5).
   */
  private disconnectCause: 'violation' | 'session' | undefined;
  /** What the observer hears when the session finishes. */
  private readonly outcome: SessionOutcome = { opened: false, probe: false, call: false, shutdown: false };

  private lastInboundAt: number;

  readonly finished: Promise<void>;
  private resolveFinished!: () => void;

  constructor(private readonly options: SessionOptions) {
    this.clock = options.clock ?? systemClock;
    this.limits = sessionLimits(options);
    this.log = options.logger.child({ sessionId: options.sessionId, correlationId: options.correlationId });
    this.writer = new ServerMessageWriter(options.sessionId, (text) => options.socket.sendText(text));
    this.outbound = new Outbound({
      socket: options.socket,
      writer: this.writer,
      clock: this.clock,
      log: this.log,
      state: () => this.current,
      socketGone: () => this.socketGone,
      layout: () => this.layout,
      guard: (what, run) => this.guard(what, run),
    });
    this.watchdogs = new Watchdogs({
      clock: this.clock,
      idleTimeoutMs: this.limits.idleTimeoutMs,
      openTimeoutMs: this.limits.openTimeoutMs,
      disconnectCloseTimeoutMs: this.limits.disconnectCloseTimeoutMs,
      state: () => this.current,
      lastInboundAt: () => this.lastInboundAt,
      expire: (what, reason) => this.guard(what, () => this.abandon(reason)),
    });
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.control = this.createControl();
    this.callSetup = new DeferredCallSetup(options.deferCallSetup ?? setImmediate, (run) => this.guard('call setup', run));

    this.lastInboundAt = this.clock.now();
    this.pings = new PingBudget(this.lastInboundAt);
    this.watchdogs.start();
  }

  get state(): SessionState {
    return this.current;
  }

  // ---------------------------------------------------------------- socket events

  handleText(text: string): void {
    if (this.current === 'closed') return;
    this.lastInboundAt = this.clock.now();
    this.callSetup.runNow();
    this.guard('text message', () => this.processText(text));
  }

  handleBinary(data: Uint8Array): void {
    if (this.current === 'closed') return;
    this.lastInboundAt = this.clock.now();
    this.callSetup.runNow();
    this.guard('binary message', () => this.processBinary(data));
  }

  handleSocketClosed(code: number): void {
    if (this.socketGone) return;
    this.socketGone = true;
    // After socketGone: a call that starts by sending something finds the transport gone, as it would have.
    this.callSetup.runNow();
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
    this.callSetup.runNow();
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
    const admitted = admitClientMessage(type, this.current, raw);
    if (admitted.kind === 'unknown') {
      // Genesys adds message types over time (AudioHook spec: unknown message types).
      this.log.info({ type }, 'ignoring unknown client message type');
      return;
    }
    if (admitted.kind === 'ignore') {
      this.log[admitted.unexpected ? 'warn' : 'debug']({ type, state: this.current }, 'ignoring client message in this state');
      return;
    }
    if (admitted.kind === 'violation') return this.violation(admitted.reason);
    const message = admitted.message;
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
    const decision = negotiateOpen(message, raw, {
      organizationId: this.options.organizationId,
      ...(this.options.supportedLanguages ? { supportedLanguages: this.options.supportedLanguages } : {}),
    });
    if (!decision.ok) {
      const { message: text, offered } = decision.log;
      if (offered === undefined) this.log.warn(text);
      else this.log.warn({ offered }, text);
      this.sendDisconnect({ reason: decision.reason, info: decision.info });
      return;
    }
    const { probe, choice, language } = decision;
    if (!this.outbound.send('opened', decision.opened)) return;
    this.layout = choice?.layout ?? null;
    this.setState('active');
    this.outcome.opened = true;
    this.outcome.probe = probe;
    // lastInboundAt is when this `open` arrived (handleText); the latency is our validation and negotiation.
    const latencyMs = this.clock.now() - this.lastInboundAt;
    this.notify('onOpened', (o) => o.onOpened?.({ latencyMs, probe }));

    const p = message.parameters;
    const inputVariables = p.inputVariables ?? {};
    if (decision.languageIgnoredChars !== undefined) {
      this.log.warn({ languageChars: decision.languageIgnoredChars }, 'open: language is not a language tag; ignored');
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

    const createCall = this.options.createCall;
    const openedAt = this.clock.now();
    this.callSetup.schedule(() => {
      const context = callContextFor(message, choice!, language, {
        options: this.options,
        logger: this.log.child({ conversationId: p.conversationId }),
        openedAt,
      });
      try {
        this.handler = createCall(context, this.control);
        this.outcome.call = true;
      } catch (err) {
        this.log.error({ err }, 'createCall failed; ending the session');
        this.sendDisconnect({ reason: 'error', info: 'call setup failed' });
      }
    });
  }

  private onPing(): void {
    if (this.pings.take(this.clock.now())) {
      this.outbound.send('pong', {});
      return;
    }
    // The first refusal, then every 1,000th: never one line per ping.
    if (this.pings.refused === 1 || this.pings.refused % 1000 === 0) {
      this.log.warn({ refused: this.pings.refused }, 'client pinging too fast; ping not answered');
    }
  }

  private onClientPaused(): void {
    this.outbound.clientPaused();
    // A `paused` while already paused answers a `resume` during a client-side pause (§5.6): stay paused.
    if (this.current !== 'active') return;
    this.setState('paused');
    this.log.info('stream paused');
    this.invoke('onPaused', (h) => h.onPaused?.());
  }

  private onClientResumed(message: ClientMessageOf<'resumed'>): void {
    const { startMs, discardedMs } = streamGapMs(message.parameters);
    this.timeline.skip(discardedMs);
    this.outbound.clientResumed();
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
    this.outbound.send('updated', {});
    const { tag: language, ignoredChars } = clientLanguage(message.parameters.language);
    if (ignoredChars !== undefined) this.log.warn({ languageChars: ignoredChars }, 'update: language is not a language tag; ignored');
    this.log.info({ language }, 'update');
    this.invoke('onUpdate', (h) => h.onUpdate?.(language === undefined ? {} : { language }));
  }

  private onDiscarded(message: ClientMessageOf<'discarded'>): void {
    const { startMs, discardedMs } = streamGapMs(message.parameters);
    this.timeline.skip(discardedMs);
    this.log.info({ startMs, discardedMs }, 'client discarded audio');
    this.invoke('onDiscarded', (h) => h.onDiscarded?.({ startMs, discardedMs }));
  }

  private onClientError(message: ClientMessageOf<'error'>): void {
    const info = clientErrorInfo(message.parameters);
    const { code, message: text } = info;
    if (code === 429) {
      if (this.current !== 'closed') this.outbound.holdFor(info.retryAfterMs);
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
    const audio = judgeInboundAudio(data, this.current, this.layout);
    if (audio.kind === 'empty') return;
    if (audio.kind === 'violation') return this.violation(audio.reason);
    if (audio.kind === 'dropped') {
      // Paused: Genesys may have had a frame in flight when it sent `paused`; dropping beats killing the call.
      this.droppedAudioFrames++;
      this.log.debug({ state: this.current, bytes: data.length, dropped: this.droppedAudioFrames }, 'audio dropped');
      return;
    }
    const positionMs = this.timeline.positionMs;
    this.timeline.addSamples(audio.sampleFrames);
    if (!this.handler?.onAudio) return;
    const ulaw = audio.ulaw();
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
    const finish = () =>
      this.guard('shutdown', () => {
        this.clock.clearTimeout(this.shutdownTimer);
        this.shutdownTimer = undefined;
        if (this.disconnectSent || !maySend('disconnect', this.current)) return;
        this.log.warn('call handler did not disconnect at shutdown; sending the shutdown disconnect');
        this.sendShutdownDisconnect();
      });
    const timer = askHandlerToShutdown(() => handler.onShutdown?.(), finish, this.clock, this.limits.shutdownHandlerTimeoutMs, this.log);
    if (timer === 'threw') this.sendShutdownDisconnect();
    else this.shutdownTimer = timer;
  }

  private sendShutdownDisconnect(): void {
    if (this.disconnectSent || !maySend('disconnect', this.current)) return;
    // `completed`, not `error`, so the Architect flow takes its success path; the variables are the call
    // logic's (SessionOptions.shutdownOutputVariables), this layer does not know their names.
    const outputs = this.options.shutdownOutputVariables;
    this.sendDisconnect({ reason: 'completed', info: 'server shutting down', ...(outputs ? { outputVariables: { ...outputs } } : {}) });
  }

  // ---------------------------------------------------------------- close, disconnect, teardown

  private startCloseTransaction(cause: CloseCause & { kind: 'close' }): void {
    this.setState('closing');
    this.clearTimers();
    this.outcome.closeReason = cause.reason;
    this.log.info({ reason: cause.reason }, 'client close; closing session');
    void this.runCloseHandler(cause).then(() =>
      this.guard('close transaction', () => {
        this.outbound.releaseHeldEventsForClose();
        this.outbound.send('closed', {});
        this.setState('closed');
        this.outbound.closeSocket();
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
    this.callSetup.runNow();
    this.log.warn({ reason, state: this.current }, 'closing the socket');
    this.outbound.closeSocket();
    this.socketGone = true;
    this.endWithoutClose({ kind: 'socket', code: SERVER_CLOSED_SOCKET_CODE });
  }

  /** Awaits CallHandler.onClose once, bounded so a stuck handler cannot delay `closed`. Never rejects. */
  private async runCloseHandler(cause: CloseCause): Promise<void> {
    const handler = this.handler;
    if (!handler || this.closeHandlerCalled) return;
    this.closeHandlerCalled = true;
    await awaitCloseHandler(handler, cause, this.clock, this.limits.closeHandlerTimeoutMs, this.log);
  }

  private violation(reason: string): void {
    if (!signalsErrors(this.current)) {
      // Logged once: a peer repeating bad messages must not turn into one log line each.
      if (this.unsignalledViolations++ === 0) this.log.warn({ reason, state: this.current }, 'protocol violation (not signalled again)');
      return;
    }
    this.log.warn({ reason }, 'protocol violation; disconnecting');
    if (this.sendDisconnect({ reason: 'error', info: reason })) this.disconnectCause = 'violation';
  }

  /** Sends `disconnect` once (allowed in preparing/opening/active/paused) and awaits the close transaction. */
  private sendDisconnect(request: DisconnectRequest): boolean {
    const { reason, outputVariables } = request;
    if (this.disconnectSent) {
      this.log.warn({ reason }, 'disconnect already sent; not sending another');
      return false;
    }
    const parameters = disconnectParameters(request);
    if (!this.outbound.send('disconnect', parameters)) return false;
    this.disconnectSent = true;
    this.disconnectCause ??= 'session';
    this.outcome.disconnect = { reason, escalation: outputVariables?.ESCALATION_REQUIRED === 'true' };
    this.setState('disconnecting');
    this.log.info({ reason, info: parameters.info, outputVariableKeys: Object.keys(outputVariables ?? {}) }, 'disconnect sent');
    this.watchdogs.disconnectSent();
    return true;
  }

  private complete(): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    const unsent = this.outbound.finish();
    this.log.debug({ receivedMs: this.timeline.positionMs, droppedAudioFrames: this.droppedAudioFrames, ...unsent }, 'session finished');
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
    this.watchdogs.stop();
    this.outbound.stopHoldTimer();
    this.clock.clearTimeout(this.shutdownTimer);
    this.shutdownTimer = undefined;
  }

  private setState(next: SessionState): void {
    if (next === this.current) return;
    if (!canTransition(this.current, next)) throw new Error(`illegal state transition ${this.current} → ${next}`);
    this.log.debug({ from: this.current, to: next }, 'state');
    if (this.current === 'preparing') this.watchdogs.opened();
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
      this.sendDisconnect({ reason: 'error', info: 'internal error in call handler' });
    }
  }

  /** Entry points never throw into the server: an internal bug is logged and ends the call. */
  private guard(what: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.log.error({ err, what }, 'internal session error');
      try {
        if (signalsErrors(this.current)) this.sendDisconnect({ reason: 'error', info: 'internal server error' });
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
        return session.outbound.heldUntil();
      },
      sendAudio: (ulaw) => this.outbound.sendAudio(ulaw),
      sendEvent: (entities) => this.outbound.sendEvent(entities),
      disconnect: (reason, info, outputVariables) =>
        this.guard('disconnect', () => {
          if (this.disconnectSent || !maySend('disconnect', this.current)) {
            this.log.info({ reason, state: this.current }, 'disconnect requested but not sendable in this state; ignored');
            return;
          }
          this.sendDisconnect(checkedDisconnectRequest(reason, info, outputVariables, this.log));
        }),
      pause: () => this.guard('pause', () => this.outbound.pause()),
      resume: () => this.guard('resume', () => this.outbound.resume()),
    };
  }
}
