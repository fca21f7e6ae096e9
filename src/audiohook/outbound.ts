/**
 * Everything the session sends, on one path: JSON messages through the ordered writer (checked against the
 * state table), the call's audio re-framed to the negotiated layout, `event`s, and the Genesys 429 hold on
 * audio and events (rate-limit.ts). The call's pause/resume requests live here too, because an unconfirmed
 * pause already stops outbound audio. It reads the session's state and never changes it.
 */
import type { Logger } from 'pino';
import { ulawToLayout } from '../audio/codec.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { ProtocolSocket, SessionState } from './handler.js';
import { splitIntoMessages } from './media.js';
import { OutboundHold } from './rate-limit.js';
import { describeZodError, serverParametersSchemas, type EventEntity, type ServerMessageType, type ServerParameters, type UsableMedia } from './schemas.js';
import { maySend } from './state.js';
import type { ServerMessageWriter } from './writer.js';

export interface OutboundOptions {
  socket: ProtocolSocket;
  writer: ServerMessageWriter;
  clock: Clock;
  log: Logger;
  state: () => SessionState;
  /** The transport is gone (closed by either side): nothing more can be sent. */
  socketGone: () => boolean;
  /** The negotiated media; null before `opened` and for a connection probe. */
  layout: () => UsableMedia | null;
  /** Runs a timer callback the way the session runs its entry points: an exception ends the call. */
  guard: (what: string, run: () => void) => void;
}

export class Outbound {
  private pauseRequested = false;
  private resumeRequested = false;
  /** sendAudio calls refused because the socket was over its back-pressure bound. */
  private refusedAudioSends = 0;
  /** Genesys 429: outbound audio and events wait until the hold ends. */
  private readonly rateLimit = new OutboundHold<EventEntity[]>();
  private rateLimitTimer: TimerHandle | undefined;
  private socketCloseRequested = false;

  constructor(private readonly o: OutboundOptions) {}

  /** The only path for JSON messages: state-checked, then the ordered writer assigns seq/clientseq. */
  send<T extends ServerMessageType>(type: T, parameters: ServerParameters<T>): boolean {
    const { log } = this.o;
    if (this.o.socketGone()) return false;
    if (!maySend(type, this.o.state())) {
      log.warn({ type, state: this.o.state() }, 'not sending: message not allowed in this state');
      return false;
    }
    try {
      const message = this.o.writer.send(type, parameters);
      log.debug({ type, seq: message.seq, clientseq: message.clientseq }, 'server message');
      return true;
    } catch (err) {
      log.error({ err, type }, 'socket send failed');
      return false;
    }
  }

  sendAudio(ulaw: Uint8Array): boolean {
    const layout = this.o.layout();
    if (this.o.socketGone() || layout === null || this.pauseRequested || !maySend('audio', this.o.state())) return false;
    if (this.rateLimit.isHeld(this.o.clock.now())) return false;
    // Back-pressure: the peer is not reading; the caller keeps its audio, control messages still flow.
    if (this.o.socket.acceptsAudio === false) {
      this.refusedAudioSends++;
      return false;
    }
    if (!(ulaw instanceof Uint8Array)) {
      this.o.log.error('sendAudio needs a Uint8Array of μ-law bytes');
      return false;
    }
    if (ulaw.length === 0) return true;
    try {
      for (const part of splitIntoMessages(ulawToLayout(ulaw, layout), layout)) this.o.socket.sendBinary(part);
      return true;
    } catch (err) {
      this.o.log.error({ err }, 'sending audio failed');
      return false;
    }
  }

  sendEvent(entities: EventEntity[]): boolean {
    if (this.o.socketGone() || !maySend('event', this.o.state())) return false;
    const parsed = serverParametersSchemas.event.safeParse({ entities });
    if (!parsed.success) {
      this.o.log.error({ problem: describeZodError(parsed.error) }, 'invalid event entities; not sent');
      return false;
    }
    if (this.rateLimit.isHeld(this.o.clock.now())) {
      const overflow = this.rateLimit.enqueue(parsed.data.entities);
      if (overflow) this.o.log.warn({ droppedHeldEvents: this.rateLimit.dropped }, 'rate-limit event queue full; dropped the oldest event');
      return true;
    }
    // Keep the order: anything still held (the release timer may not have fired yet) goes first.
    this.releaseHeldEvents('send');
    return this.send('event', parsed.data);
  }

  /** When the hold ends (clock time); now or earlier when nothing is held. */
  heldUntil(): number {
    return this.rateLimit.heldUntil(this.o.clock.now());
  }

  /** Genesys 429: holds outbound audio and events (see rate-limit.ts); a later 429 extends the hold. */
  holdFor(retryAfterMs: number | undefined): void {
    const { clock, log } = this.o;
    const now = clock.now();
    const until = this.rateLimit.extend(now, retryAfterMs);
    log.info({ code: 429, retryAfterMs, holdMs: until - now }, 'client rate limit (429); holding audio and events');
    this.stopHoldTimer();
    if (until <= now) return;
    this.rateLimitTimer = clock.setTimeout(
      () =>
        this.o.guard('rate-limit hold end', () => {
          this.rateLimitTimer = undefined;
          log.debug({ heldEvents: this.rateLimit.queued }, 'rate-limit hold ended');
          this.releaseHeldEvents('send');
        }),
      until - now,
    );
  }

  /** Before `closed`: held events go out if the hold has ended, otherwise they are dropped (the limit is honoured). */
  releaseHeldEventsForClose(): void {
    this.releaseHeldEvents(this.rateLimit.isHeld(this.o.clock.now()) ? 'drop' : 'send');
  }

  stopHoldTimer(): void {
    this.o.clock.clearTimeout(this.rateLimitTimer);
    this.rateLimitTimer = undefined;
  }

  /** The session is finished: what never went out, for its last log line. Held events are dropped. */
  finish(): { refusedAudioSends: number; droppedHeldEvents: number } {
    this.stopHoldTimer();
    const unsentEvents = this.rateLimit.takeAll().length;
    return { refusedAudioSends: this.refusedAudioSends, droppedHeldEvents: this.rateLimit.dropped + unsentEvents };
  }

  /** Closes the transport from our side, once (after `closed`, or to abandon the peer). */
  closeSocket(): void {
    if (this.o.socketGone() || this.socketCloseRequested) return;
    this.socketCloseRequested = true;
    try {
      this.o.socket.close();
    } catch (err) {
      this.o.log.error({ err }, 'socket close failed');
    }
  }

  // ---------------------------------------------------------------- pause / resume (the call asks)

  pause(): void {
    if (this.o.state() !== 'active' || this.pauseRequested) return;
    if (this.send('pause', {})) this.pauseRequested = true;
  }

  resume(): void {
    const state = this.o.state();
    if (state === 'paused' && !this.resumeRequested) {
      if (this.send('resume', {})) this.resumeRequested = true;
    } else if (state === 'active' && this.pauseRequested) {
      // Cancels a pause the client has not confirmed yet.
      if (this.send('resume', {})) this.pauseRequested = false;
    }
  }

  /** The client confirmed (or started) a pause: no request of ours is outstanding any more. */
  clientPaused(): void {
    this.pauseRequested = false;
    this.resumeRequested = false;
  }

  clientResumed(): void {
    this.resumeRequested = false;
  }

  /** Sends (in order) or drops the held events; events no longer allowed in this state are dropped. */
  private releaseHeldEvents(action: 'send' | 'drop'): void {
    if (this.rateLimit.queued === 0) return;
    const held = this.rateLimit.takeAll();
    let unsent = 0;
    for (const entities of held) {
      if (action === 'drop' || this.o.socketGone() || !maySend('event', this.o.state()) || !this.send('event', { entities })) unsent++;
    }
    if (unsent > 0) this.o.log.warn({ unsent, state: this.o.state() }, 'held events dropped');
  }
}
