/**
 * The Genesys side of one AudioHook session, as strict as the real client (the AudioHook protocol
 * spec, and the client of Genesys' open-source AudioHook reference implementation). Pure protocol logic: it talks to an injected
 * transport and schedules with an injected Clock, so every rule is testable without sockets.
 *
 * Every server message is validated; any violation is recorded, answered with `error` (400/408/409/413/415)
 * and the connection is dropped, as Genesys does.
 */
import { channelAsUlaw, bytesPerSampleFrame, type FrameLayout } from '../audio/codec.js';
import { formatDurationMs } from '../audiohook/duration.js';
import { MAX_AUDIO_MESSAGE_BYTES, PROTOCOL_VERSION, type ClientEnvelope, type ClientMessageOf, type ClientMessageType, type MediaOffer, type ServerMessage } from '../audiohook/schemas.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { bytesPerSecond, checkOpenedMedia, layoutOf } from './media.js';
import { DEFAULT_CLIENT_TIMING, type AudioState, type ClientSessionEvent, type ClientSessionOptions, type ClientSessionState, type ClientTiming, type ClientTransport, type OpenRequest } from './client-contract.js';
import { PlayoutModel } from './playout.js';
import { checkServerText } from './server-text.js';
import type { CallTimings, DisconnectInfo, LoggedMessage, PlaybackBurst, RecordedEvent, ReceivedFrame, SimulationReport } from './report.js';
import { VIOLATION_STATUS, type ProtocolViolation, type ViolationCode } from './violations.js';
import { ulawMs } from '../util/ulaw-time.js';

/** Server message types allowed once the server has sent `disconnect` (a pong may answer a ping in flight). */
const AFTER_DISCONNECT = new Set(['closed', 'event', 'pong']);
/** Server message types allowed once the server has acknowledged our `close`. */
const AFTER_CLOSE_SEEN = new Set(['closed', 'event']);

export class ClientSession {
  readonly sessionId: string;
  private readonly clock: Clock;
  private readonly transport: ClientTransport;
  private readonly timing: ClientTiming;
  private readonly listeners = new Set<(event: ClientSessionEvent) => void>();
  private readonly playout: PlayoutModel;

  private currentState: ClientSessionState = 'idle';
  private transportOpen = true;
  private nextSeq = 1;
  /** Highest seq the server may acknowledge (includes raw messages). */
  private maxSentSeq = 0;
  private lastServerSeq = 0;
  private lastAckedClientSeq = 0;
  private openSeq: number | null = null;
  private closeSeq: number | null = null;
  private offers: readonly MediaOffer[] = [];
  private media: MediaOffer | null = null;
  private layout: FrameLayout | null = null;
  private serverPaused = false;
  private clientPaused = false;
  private disconnectReceived = false;
  private positionSamples = 0;
  private discardedSamples = 0;
  private outstandingPing: { seq: number; sentAt: number } | null = null;
  private lastRttMs: number | null = null;

  private openTimer: TimerHandle | undefined;
  private closeTimer: TimerHandle | undefined;
  private pingTimer: TimerHandle | undefined;

  private readonly messages: LoggedMessage[] = [];
  private readonly serverMessages: ServerMessage[] = [];
  private readonly audioChunks: Uint8Array[] = [];
  private readonly frames: ReceivedFrame[] = [];
  private readonly events: RecordedEvent[] = [];
  private readonly playback: PlaybackBurst[] = [];
  private readonly rtts: number[] = [];
  private readonly violations: ProtocolViolation[] = [];
  private audioWhilePausedBytes = 0;
  private receivedUlawBytes = 0;
  private sentAudioBytes = 0;
  private disconnectInfo: DisconnectInfo | null = null;
  private readonly timings: CallTimings;

  constructor(options: ClientSessionOptions) {
    this.sessionId = options.sessionId;
    this.clock = options.clock;
    this.transport = options.transport;
    this.timing = { ...DEFAULT_CLIENT_TIMING, ...options.timing };
    const now = this.clock.now();
    this.timings = {
      createdAt: now,
      connectedAt: now,
      openSentAt: null,
      openedAt: null,
      openToOpenedMs: null,
      firstServerAudioAt: null,
      openedToFirstServerAudioMs: null,
      disconnectAt: null,
      closeSentAt: null,
      closedAt: null,
      closeToClosedMs: null,
      socketClosedAt: null,
    };
    this.playout = new PlayoutModel(this.clock, {
      onStarted: (at) => {
        this.playback.push({ startedAt: at, completedAt: null, reason: null });
        this.emit({ kind: 'playback', phase: 'started' });
        if (this.currentState === 'open') this.sendMessage('playback_started', {});
      },
      onCompleted: (at, reason) => {
        const burst = this.playback.at(-1);
        if (burst) Object.assign(burst, { completedAt: at, reason });
        this.emit({ kind: 'playback', phase: 'completed' });
        if (this.currentState === 'open') this.sendMessage('playback_completed', {});
      },
    });
  }

  // ------------------------------------------------------------ observation

  get state(): ClientSessionState {
    return this.currentState;
  }

  get negotiatedMedia(): MediaOffer | null {
    return this.media;
  }

  get negotiatedLayout(): FrameLayout | null {
    return this.layout;
  }

  get positionMs(): number {
    return ulawMs(this.positionSamples);
  }

  /** Server audio received so far, as μ-law mono bytes. */
  get receivedAudioBytes(): number {
    return this.receivedUlawBytes;
  }

  get isPaused(): boolean {
    return this.serverPaused || this.clientPaused;
  }

  get audioState(): AudioState {
    if (this.currentState === 'idle' || this.currentState === 'opening') return 'waiting';
    if (this.currentState !== 'open' || this.disconnectReceived || !this.layout) return 'stopped';
    return this.isPaused ? 'paused' : 'send';
  }

  get violationList(): readonly ProtocolViolation[] {
    return this.violations;
  }

  /** Subscribes to session events; returns the unsubscribe function. */
  onEvent(listener: (event: ClientSessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ------------------------------------------------------------ client actions

  open(request: OpenRequest): void {
    this.requireState('open', ['idle']);
    this.offers = request.offers;
    const parameters: ClientMessageOf<'open'>['parameters'] = {
      organizationId: request.organizationId,
      conversationId: request.conversationId,
      participant: { ...request.participant },
      media: [...request.offers],
    };
    if (request.language !== undefined) parameters.language = request.language;
    if (request.supportedLanguages !== undefined) parameters.supportedLanguages = request.supportedLanguages;
    if (request.inputVariables !== undefined) parameters.inputVariables = request.inputVariables;
    if (request.customConfig !== undefined) parameters.customConfig = request.customConfig;
    this.openSeq = this.sendMessage('open', parameters);
    this.timings.openSentAt = this.clock.now();
    this.setState('opening');
    this.openTimer = this.clock.setTimeout(
      () => this.fail('opened-timeout', 'Timed out waiting for opened response'),
      this.timing.openTimeoutMs,
    );
  }

  /**
   * Sends one caller frame in the negotiated layout. Returns false when audio may not flow now. `lateMs`:
   * how long after it was due the frame goes out (a paced sender's stall), for the client-audio event.
   */
  sendAudio(frame: Uint8Array, lateMs = 0): boolean {
    if (this.audioState !== 'send' || !this.layout) return false;
    const unit = bytesPerSampleFrame(this.layout);
    if (frame.length % unit !== 0) throw new RangeError(`caller frame of ${frame.length} bytes is not whole samples`);
    this.transport.sendBinary(frame);
    this.positionSamples += frame.length / unit;
    this.sentAudioBytes += frame.length;
    if (this.listeners.size > 0) this.emit({ kind: 'client-audio', ulaw: channelAsUlaw(frame, this.layout, 'external') ?? new Uint8Array(0), lateMs });
    return true;
  }

  /** Caller audio that went by during a pause; reported as `discarded` in the next `resumed`. */
  discardAudio(samples: number): void {
    if (this.isPaused) this.discardedSamples += samples;
  }

  /** Client-initiated (e.g. secure) pause: unsolicited `paused`. */
  pause(): void {
    this.requireState('pause', ['open']);
    this.clientPaused = true;
    this.sendMessage('paused', {});
  }

  /** Ends a client pause; `resumed` follows unless a server pause is still in effect. */
  resume(): void {
    this.requireState('resume', ['open']);
    if (!this.clientPaused) throw new Error('resume: no client pause in effect');
    this.clientPaused = false;
    if (!this.serverPaused) this.sendResumed();
  }

  /** One `dtmf` message per digit. */
  sendDtmf(digits: string): void {
    this.requireState('dtmf', ['open']);
    for (const digit of digits) this.sendMessage('dtmf', { digit });
  }

  sendError(code: number, message: string, retryAfterMs?: number): void {
    this.requireState('error', ['opening', 'open']);
    const parameters: ClientMessageOf<'error'>['parameters'] = { code, message };
    if (retryAfterMs !== undefined) parameters.retryAfter = formatDurationMs(retryAfterMs);
    this.sendMessage('error', parameters);
  }

  sendUpdate(parameters: ClientMessageOf<'update'>['parameters']): void {
    this.requireState('update', ['open']);
    this.sendMessage('update', parameters);
  }

  /** Reports audio the client dropped; the stream timeline (position) advances past it. */
  sendDiscarded(discardedMs: number): void {
    this.requireState('discarded', ['open']);
    const start = formatDurationMs(this.positionMs);
    this.positionSamples += Math.round(discardedMs * 8);
    this.sendMessage('discarded', { start, discarded: formatDurationMs(discardedMs) });
  }

  /** Starts the close transaction. Nothing but `error` is sent afterwards. */
  close(reason: string = 'end'): void {
    this.requireState('close', ['opening', 'open']);
    this.startClose(reason);
  }

  /**
   * Escape hatch for conformance tests: sends text exactly as given. A seq at or beyond the next one moves
   * our numbering past it (a client whose counter jumped), so later messages stay monotonic.
   */
  sendRawText(text: string): void {
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Deliberately malformed; logged as text.
    }
    const seq = typeof parsed === 'object' && parsed !== null ? (parsed as { seq?: unknown }).seq : undefined;
    if (typeof seq === 'number' && Number.isSafeInteger(seq)) {
      if (seq >= this.nextSeq) this.nextSeq = seq + 1;
      this.maxSentSeq = Math.max(this.maxSentSeq, seq);
    }
    this.messages.push({ direction: 'client', at: this.clock.now(), message: parsed, raw: true });
    this.transport.sendText(text);
  }

  sendRawBinary(data: Uint8Array): void {
    this.transport.sendBinary(data);
  }

  /** Builds the envelope the next message would get (for raw variants in tests). Consumes nothing. */
  envelope(type: string, parameters: Record<string, unknown>): ClientEnvelope {
    return {
      version: PROTOCOL_VERSION,
      id: this.sessionId,
      type,
      seq: this.nextSeq,
      serverseq: this.lastServerSeq,
      position: formatDurationMs(this.positionMs),
      parameters,
    };
  }

  // ------------------------------------------------------------ transport input

  handleText(text: string): void {
    if (this.currentState === 'failed') return;
    const at = this.clock.now();
    if (this.currentState === 'closed') {
      this.messages.push({ direction: 'server', at, message: text.slice(0, 2000) });
      return this.fail('message-unexpected', 'text message after closed');
    }
    const checked = checkServerText(text);
    this.messages.push({ direction: 'server', at, message: checked.logged });
    if (!checked.ok) return this.fail(checked.code, checked.reason);
    const { message, label } = checked;
    if (message.id !== this.sessionId) {
      return this.fail('wrong-id', `${label} has id ${message.id}, expected the session id ${this.sessionId}`);
    }
    if (message.seq !== this.lastServerSeq + 1) {
      return this.fail('seq-out-of-order', `${label}: expected seq ${this.lastServerSeq + 1}`);
    }
    this.lastServerSeq = message.seq;
    if (message.clientseq > this.maxSentSeq || message.clientseq < this.lastAckedClientSeq) {
      return this.fail(
        'clientseq-invalid',
        `${label} has clientseq ${message.clientseq}; allowed ${this.lastAckedClientSeq}..${this.maxSentSeq}`,
      );
    }
    this.lastAckedClientSeq = message.clientseq;
    this.serverMessages.push(message);
    this.emit({ kind: 'server-message', message });
    this.dispatch(message);
  }

  handleBinary(data: Uint8Array): void {
    if (this.currentState === 'closed') return this.fail('binary-after-closed', 'binary message after closed');
    if (this.currentState === 'failed') return;
    if (this.currentState === 'idle' || this.timings.openedAt === null) {
      return this.fail('binary-before-opened', `binary message of ${data.length} bytes before opened`);
    }
    if (this.disconnectReceived) {
      return this.fail('binary-after-disconnect', `binary message of ${data.length} bytes after disconnect`);
    }
    if (!this.layout) return this.fail('binary-without-media', 'binary message although opened.media was []');
    if (data.length > MAX_AUDIO_MESSAGE_BYTES) {
      return this.fail('binary-too-large', `binary message of ${data.length} bytes exceeds ${MAX_AUDIO_MESSAGE_BYTES}`);
    }
    const unit = bytesPerSampleFrame(this.layout);
    if (data.length % unit !== 0) {
      return this.fail('binary-partial-sample', `binary message of ${data.length} bytes is not a multiple of ${unit}`);
    }
    if (data.length === 0) return;
    const at = this.clock.now();
    this.frames.push({ at, bytes: data.length });
    const ulaw = Uint8Array.from(channelAsUlaw(data, this.layout, 'external') ?? new Uint8Array(0));
    this.audioChunks.push(ulaw);
    this.receivedUlawBytes += ulaw.length;
    if (this.timings.firstServerAudioAt === null) {
      this.timings.firstServerAudioAt = at;
      this.timings.openedToFirstServerAudioMs = at - (this.timings.openedAt ?? at);
    }
    if (this.isPaused) this.audioWhilePausedBytes += data.length;
    this.emit({ kind: 'server-audio', bytes: data.length, ulaw });
    this.playout.push((data.length * 1000) / bytesPerSecond(this.layout));
  }

  /** The socket closed (either side). */
  handleTransportClosed(): void {
    if (!this.transportOpen) return;
    this.transportOpen = false;
    this.timings.socketClosedAt = this.clock.now();
    if (this.currentState === 'closed' || this.currentState === 'failed') return;
    this.fail('socket-closed-early', `the server closed the socket in state ${this.currentState}`);
  }

  // ------------------------------------------------------------ report

  report(): SimulationReport {
    const total = this.audioChunks.reduce((n, c) => n + c.length, 0);
    const receivedAudio = new Uint8Array(total);
    let offset = 0;
    for (const chunk of this.audioChunks) {
      receivedAudio.set(chunk, offset);
      offset += chunk.length;
    }
    return {
      sessionId: this.sessionId,
      state: this.currentState,
      negotiatedMedia: this.media,
      timings: { ...this.timings },
      messages: [...this.messages],
      receivedAudio,
      receivedFrames: [...this.frames],
      audioWhilePausedBytes: this.audioWhilePausedBytes,
      events: [...this.events],
      playback: this.playback.map((b) => ({ ...b })),
      pingRttsMs: [...this.rtts],
      sentAudioBytes: this.sentAudioBytes,
      positionMs: this.positionMs,
      disconnect: this.disconnectInfo,
      violations: [...this.violations],
      serverMessages: [...this.serverMessages],
    };
  }

  // ------------------------------------------------------------ internals

  private dispatch(message: ServerMessage): void {
    const { type } = message;
    if (type === 'disconnect' && this.disconnectReceived) {
      return this.fail('disconnect-repeated', 'disconnect received twice');
    }
    if (this.disconnectReceived && !AFTER_DISCONNECT.has(type)) {
      return this.fail('message-unexpected', `${type} after disconnect (only closed and events may follow)`);
    }
    const closeSeen = this.closeSeq !== null && message.clientseq >= this.closeSeq;
    if (closeSeen && !AFTER_CLOSE_SEEN.has(type)) {
      return this.fail('message-unexpected', `${type} after the server acknowledged close`);
    }
    // Before `opened` only the open transaction's answer, a disconnect, or the closed of our close may come.
    if (this.timings.openedAt === null && type !== 'opened' && type !== 'disconnect' && type !== 'closed') {
      return this.fail('message-unexpected', `${type} before opened`);
    }
    switch (type) {
      case 'opened':
        return this.onOpened(message as ServerMessage<'opened'>);
      case 'closed':
        return this.onClosed(message);
      case 'pong':
        return this.onPong(message);
      case 'disconnect':
        return this.onDisconnect(message as ServerMessage<'disconnect'>);
      case 'event':
        return this.onServerEvent(message as ServerMessage<'event'>);
      case 'pause':
        if (this.currentState !== 'open') return; // crossed our close: we send nothing after close
        // `pause` is idempotent ("interrogating"): always answer `paused`.
        this.serverPaused = true;
        this.sendMessage('paused', {});
        return;
      case 'resume':
        if (this.currentState !== 'open') return;
        this.serverPaused = false;
        // A client pause still in effect is reported by answering `paused` again (AudioHook spec: `pause`/`resume`).
        if (this.clientPaused) this.sendMessage('paused', {});
        else this.sendResumed();
        return;
      case 'updated':
        return;
      case 'reconnect':
        // [U] Reconnection is unsupported by Genesys (§4.1/§5.11); like the RI client, record and ignore.
        return;
    }
  }

  private onOpened(message: ServerMessage<'opened'>): void {
    if (this.timings.openedAt !== null) return this.fail('opened-unexpected', 'opened received twice');
    if (this.openSeq === null) return this.fail('opened-unexpected', 'opened before open');
    if (message.clientseq < this.openSeq) {
      return this.fail('clientseq-invalid', `opened has clientseq ${message.clientseq}, before open (seq ${this.openSeq})`);
    }
    const problem = checkOpenedMedia(this.offers, message.parameters.media);
    if (problem) return this.fail('opened-media-invalid', problem);
    this.clock.clearTimeout(this.openTimer);
    const now = this.clock.now();
    this.timings.openedAt = now;
    this.timings.openToOpenedMs = now - (this.timings.openSentAt ?? now);
    this.media = message.parameters.media[0] ?? null;
    this.layout = this.media ? layoutOf(this.media) : null;
    if (this.currentState !== 'opening') return; // we already started closing
    this.setState('open');
    this.schedulePing(this.timing.firstPingMs);
    if (message.parameters.startPaused) {
      // Observed: Genesys answers startPaused:true with an immediate `paused` (AudioHook spec: `pause`/`resume`).
      this.serverPaused = true;
      this.sendMessage('paused', {});
    }
  }

  private onClosed(message: ServerMessage): void {
    if (this.currentState !== 'closing' || this.closeSeq === null) {
      return this.fail('closed-unexpected', `closed without a close (state ${this.currentState})`);
    }
    if (message.clientseq < this.closeSeq) {
      return this.fail('clientseq-invalid', `closed has clientseq ${message.clientseq}, before close (seq ${this.closeSeq})`);
    }
    const now = this.clock.now();
    this.timings.closedAt = now;
    this.timings.closeToClosedMs = now - (this.timings.closeSentAt ?? now);
    this.clearTimers();
    this.playout.stop();
    this.setState('closed');
    this.closeTransport();
  }

  private onPong(message: ServerMessage): void {
    const ping = this.outstandingPing;
    if (!ping) return this.fail('pong-unexpected', `pong (clientseq ${message.clientseq}) without an outstanding ping`);
    if (message.clientseq !== ping.seq) {
      return this.fail('pong-clientseq-mismatch', `pong has clientseq ${message.clientseq}, expected the ping's seq ${ping.seq}`);
    }
    this.outstandingPing = null;
    this.lastRttMs = this.clock.now() - ping.sentAt;
    this.rtts.push(this.lastRttMs);
  }

  private onDisconnect(message: ServerMessage<'disconnect'>): void {
    this.disconnectReceived = true;
    this.timings.disconnectAt = this.clock.now();
    this.disconnectInfo = {
      reason: message.parameters.reason,
      info: message.parameters.info,
      outputVariables: message.parameters.outputVariables,
    };
    // The close transaction is the acknowledgement (§5.5); if we are already closing it is under way.
    if (this.currentState === 'idle' || this.currentState === 'opening' || this.currentState === 'open') {
      this.clock.clearTimeout(this.openTimer);
      this.startClose('disconnect');
    }
  }

  private onServerEvent(message: ServerMessage<'event'>): void {
    const at = this.clock.now();
    for (const entity of message.parameters.entities) {
      this.events.push({ at, entity, receivedAudioBytes: this.receivedUlawBytes });
      if (entity.type === 'barge_in') this.playout.flush();
    }
  }

  private startClose(reason: string): void {
    this.clock.clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
    this.closeSeq = this.sendMessage('close', { reason });
    this.timings.closeSentAt = this.clock.now();
    this.setState('closing');
    this.closeTimer = this.clock.setTimeout(
      () => this.fail('closed-timeout', 'Close transaction timeout'),
      this.timing.closeTimeoutMs,
    );
  }

  private sendResumed(): void {
    const discardedMs = ulawMs(this.discardedSamples);
    this.discardedSamples = 0;
    this.sendMessage('resumed', { start: formatDurationMs(this.positionMs), discarded: formatDurationMs(discardedMs) });
  }

  private schedulePing(delayMs: number): void {
    if (this.timing.pingIntervalMs <= 0) return;
    this.pingTimer = this.clock.setTimeout(() => {
      if (this.currentState !== 'open') return;
      if (this.outstandingPing) return this.fail('pong-timeout', 'Timeout waiting for pong');
      const parameters: ClientMessageOf<'ping'>['parameters'] = {};
      if (this.lastRttMs !== null) parameters.rtt = formatDurationMs(this.lastRttMs);
      const seq = this.sendMessage('ping', parameters);
      this.outstandingPing = { seq, sentAt: this.clock.now() };
      this.schedulePing(this.timing.pingIntervalMs);
    }, delayMs);
  }

  /**
   * Sends one protocol message. Its type and parameters are typed from the AudioHook schemas (the shapes the
   * server validates), so the simulator cannot send what a real Genesys would not: a compile-time check.
   */
  private sendMessage<T extends ClientMessageType>(type: T, parameters: ClientMessageOf<T>['parameters']): number {
    const message = this.envelope(type, parameters);
    const seq = this.nextSeq++;
    this.maxSentSeq = Math.max(this.maxSentSeq, seq);
    this.messages.push({ direction: 'client', at: this.clock.now(), message });
    this.transport.sendText(JSON.stringify(message));
    return seq;
  }

  private fail(code: ViolationCode, message: string): void {
    const violation: ProtocolViolation = { code, message, at: this.clock.now() };
    this.violations.push(violation);
    this.emit({ kind: 'violation', violation });
    if (this.currentState === 'closed' || this.currentState === 'failed') return;
    this.clearTimers();
    this.playout.stop();
    this.setState('failed');
    if (this.transportOpen) {
      this.sendMessage('error', { code: VIOLATION_STATUS[code], message });
      this.closeTransport();
    }
  }

  private closeTransport(): void {
    this.transport.close();
  }

  private clearTimers(): void {
    for (const timer of [this.openTimer, this.closeTimer, this.pingTimer]) this.clock.clearTimeout(timer);
    this.openTimer = this.closeTimer = this.pingTimer = undefined;
  }

  private requireState(action: string, allowed: readonly ClientSessionState[]): void {
    if (!allowed.includes(this.currentState)) {
      throw new Error(`cannot ${action}: the session is ${this.currentState}`);
    }
  }

  private setState(state: ClientSessionState): void {
    this.currentState = state;
    this.emit({ kind: 'state', state });
  }

  private emit(event: ClientSessionEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
