/**
 * The protocol invariants checked on every server output of a fuzzed session, as it happens:
 * every message validates strictly, seq runs 1, 2, … with no gap, clientseq only acknowledges a seq the
 * client really sent, pong answers the ping being handled, at most one opened/disconnect/closed,
 * nothing but pong/event/closed after disconnect, nothing after closed or after the transport closed,
 * audio only between opened (with media) and disconnect, in whole sample frames of ≤ 64,000 bytes.
 */
import type { ProtocolSocket } from '../../src/audiohook/handler.js';
import { MAX_AUDIO_MESSAGE_BYTES, parseServerMessage } from '../../src/audiohook/schemas.js';
import { FUZZ_SESSION_ID } from './sequence.js';

const AFTER_DISCONNECT = new Set(['pong', 'event', 'closed']);
const NEEDS_OPENED = new Set(['event', 'pause', 'resume', 'updated']);
const MAX_RECORDED_VIOLATIONS = 10;

export class InvariantChecker {
  readonly violations: string[] = [];
  readonly types: string[] = [];
  serverSeq = 0;
  opened = false;
  frameBytes: number | null = null;
  disconnectReason: string | null = null;
  closedSent = false;
  socketCloseCalls = 0;
  /** The client side dropped the transport (handleSocketClosed was fed). */
  clientDropped = false;
  /** Seq of the ping being handled right now, if any. */
  pingInFlight: number | null = null;
  private readonly clientSeqs = new Set<number>([0]);
  private readonly offered = new Set<string>();

  constructor(private readonly sessionId: string = FUZZ_SESSION_ID) {}

  fail(problem: string): void {
    if (this.violations.length < MAX_RECORDED_VIOLATIONS) this.violations.push(problem);
  }

  /** Records what the client sent, so clientseq and opened.media can be checked against it. */
  noteClientText(value: unknown): void {
    if (typeof value !== 'object' || value === null) return;
    const message = value as Record<string, unknown>;
    if (typeof message.seq === 'number') this.clientSeqs.add(message.seq);
    const params = message.parameters as Record<string, unknown> | undefined;
    if (message.type === 'open' && params && Array.isArray(params.media)) {
      for (const offer of params.media) this.offered.add(JSON.stringify(offer));
    }
  }

  /** A ProtocolSocket that runs the checks on everything the session writes. */
  socket(): ProtocolSocket {
    return {
      sendText: (text) => this.onText(text),
      sendBinary: (data) => this.onBinary(data),
      close: () => {
        this.socketCloseCalls++;
      },
      bufferedAmount: 0,
    };
  }

  private transportGone(): boolean {
    return this.socketCloseCalls > 0 || this.clientDropped;
  }

  private onText(text: string): void {
    if (this.transportGone()) this.fail(`text sent after the transport closed: ${text.slice(0, 80)}`);
    if (this.closedSent) this.fail('message sent after closed');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.fail('server text is not JSON');
      return;
    }
    const parsed = parseServerMessage(value);
    if (!parsed.success) {
      this.fail(`invalid server message: ${text.slice(0, 120)}`);
      return;
    }
    const m = parsed.data;
    this.types.push(m.type);
    if (m.seq !== this.serverSeq + 1) this.fail(`server seq ${m.seq} after ${this.serverSeq}`);
    this.serverSeq = m.seq;
    if (m.id !== this.sessionId) this.fail('server message id is not the session id');
    if (!this.clientSeqs.has(m.clientseq)) this.fail(`clientseq ${m.clientseq} was never sent by the client`);
    if (this.disconnectReason !== null && !AFTER_DISCONNECT.has(m.type)) this.fail(`${m.type} sent after disconnect`);
    if (NEEDS_OPENED.has(m.type) && !this.opened) this.fail(`${m.type} sent before opened`);
    switch (m.type) {
      case 'opened': {
        if (this.opened) this.fail('second opened');
        this.opened = true;
        const media = (m.parameters as { media: unknown[] }).media;
        if (media.length > 1) this.fail('opened with more than one media entry');
        const chosen = media[0];
        if (chosen !== undefined) {
          if (!this.offered.has(JSON.stringify(chosen))) this.fail('opened.media is not an offered entry verbatim');
          const c = chosen as { format: string; channels: string[] };
          this.frameBytes = (c.format === 'L16' ? 2 : 1) * c.channels.length;
        }
        break;
      }
      case 'disconnect':
        if (this.disconnectReason !== null) this.fail('second disconnect');
        this.disconnectReason = (m.parameters as { reason: string }).reason;
        break;
      case 'closed':
        this.closedSent = true;
        break;
      case 'pong':
        if (this.pingInFlight !== null && m.clientseq !== this.pingInFlight) {
          this.fail(`pong.clientseq ${m.clientseq} does not answer ping seq ${this.pingInFlight}`);
        }
        break;
    }
  }

  private onBinary(data: Uint8Array): void {
    if (this.transportGone()) this.fail('audio sent after the transport closed');
    if (!this.opened || this.frameBytes === null) this.fail('audio sent without negotiated media');
    if (this.disconnectReason !== null || this.closedSent) this.fail('audio sent after disconnect/closed');
    if (data.length === 0 || data.length > MAX_AUDIO_MESSAGE_BYTES) this.fail(`audio message of ${data.length} bytes`);
    if (this.frameBytes !== null && data.length % this.frameBytes !== 0) this.fail(`audio of ${data.length} bytes is not whole ${this.frameBytes}-byte frames`);
  }
}
