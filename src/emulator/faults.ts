/**
 * Fault injection: what a test can make the emulated OpenAI do wrong. Handshake faults apply to the next
 * connection attempts; session faults apply to a live session (`inject`) or to the next session to connect.
 */
import type { RealtimeErrorBody } from './errors.js';
import { formatRetryAfter } from './realism.js';
import type { IncompleteReason } from './response-run.js';

export type HandshakeFault =
  | { type: 'refuse'; status: number; message?: string; retryAfterSeconds?: number }
  | { type: 'delay'; ms: number };

export type SessionFault =
  /**
   * Close with `code`; 1006 terminates the TCP socket without a close frame. `afterServerEvent`: not now,
   * but right after the session next sends that event type (e.g. `input_audio_buffer.committed`).
   */
  | { type: 'close'; code: number; reason?: string; afterMs?: number; afterServerEvent?: string }
  /** The 60-minute cap: error `session_expired`, then close 1001. */
  | { type: 'session_expired'; afterMs?: number }
  /** Send an arbitrary `error` event (the session stays open). */
  | { type: 'error'; error: Partial<RealtimeErrorBody> & { message: string } }
  /**
   * The next response ends `failed` with rate_limit_exceeded, naming the wait as OpenAI writes it
   * ("850ms", "6.2s", "1m26.4s"); `retryAfterMs` wins over `retryAfterSeconds` (default 1.2 s).
   */
  | { type: 'fail_next_response'; retryAfterSeconds?: number; retryAfterMs?: number }
  /** The next default-conversation response comes back as text only (output_text, no audio). */
  | { type: 'text_only_next_response' }
  /** The next response stops `incomplete` with `reason` after `afterFraction` (default 0.5) of its output. */
  | { type: 'incomplete_next_response'; reason: IncompleteReason; afterFraction?: number }
  /** The next `count` (default 1) caller transcriptions fail (`…input_audio_transcription.failed`). */
  | { type: 'fail_transcription'; count?: number; message?: string }
  /** No automatic response after speech_stopped from now on. */
  | { type: 'silent' };

export interface FaultTarget {
  applyFault(fault: SessionFault): void;
}

export class EmulatorFaults {
  private readonly handshake: HandshakeFault[] = [];
  private readonly nextSession: SessionFault[] = [];

  constructor(private readonly liveSessions: () => Iterable<{ id: string } & FaultTarget>) {}

  /** The next `count` handshakes are refused with HTTP `status` (429/500/503…). */
  refuseHandshake(status: number, options: { count?: number; message?: string; retryAfterSeconds?: number } = {}): void {
    for (let i = 0; i < (options.count ?? 1); i++) {
      this.handshake.push({
        type: 'refuse',
        status,
        ...(options.message !== undefined ? { message: options.message } : {}),
        ...(options.retryAfterSeconds !== undefined ? { retryAfterSeconds: options.retryAfterSeconds } : {}),
      });
    }
  }

  /** The next `count` handshakes are answered only after `ms`. */
  delayHandshake(ms: number, count = 1): void {
    for (let i = 0; i < count; i++) this.handshake.push({ type: 'delay', ms });
  }

  /** Arms `fault` for the next session that connects (applied right after session.created). */
  onNextSession(fault: SessionFault): void {
    this.nextSession.push(fault);
  }

  /** Applies `fault` now to the live session `sessionId`, or to every live session with "all". */
  inject(sessionId: string | 'all', fault: SessionFault): number {
    let applied = 0;
    for (const session of this.liveSessions()) {
      if (sessionId === 'all' || session.id === sessionId) {
        session.applyFault(fault);
        applied += 1;
      }
    }
    return applied;
  }

  /** @internal Used by the server at each handshake. */
  takeHandshakeFault(): HandshakeFault | undefined {
    return this.handshake.shift();
  }

  /** @internal Used by the server when a session starts. */
  takeNextSessionFaults(): SessionFault[] {
    return this.nextSession.splice(0, this.nextSession.length);
  }

  clear(): void {
    this.handshake.length = 0;
    this.nextSession.length = 0;
  }
}

export function rateLimitMessage(model: string, retryAfterMs: number): string {
  return `Rate limit reached for ${model} in organization org-emulator on tokens per min (TPM): Limit 40000, Used 39000, Requested 2400. Please try again in ${formatRetryAfter(retryAfterMs)}. Visit https://platform.openai.com/account/rate-limits to learn more.`;
}

/** The response and transcription faults a session holds until the next response or transcription takes them. */
export class ArmedFaults {
  private failNext: { retryAfterMs: number } | null = null;
  private textOnlyNext = false;
  private incompleteNext: { reason: IncompleteReason; afterFraction: number } | null = null;
  private transcriptionFailures = 0;
  private transcriptionFailureMessage: string | undefined;
  /** No automatic response after speech_stopped (the `silent` fault). */
  silent = false;

  /** Arms `fault` if it is one of these; false for the faults the session applies at once. */
  arm(fault: SessionFault): boolean {
    switch (fault.type) {
      case 'fail_next_response':
        this.failNext = { retryAfterMs: fault.retryAfterMs ?? (fault.retryAfterSeconds ?? 1.2) * 1000 };
        return true;
      case 'text_only_next_response':
        this.textOnlyNext = true;
        return true;
      case 'incomplete_next_response':
        this.incompleteNext = { reason: fault.reason, afterFraction: fault.afterFraction ?? 0.5 };
        return true;
      case 'fail_transcription':
        this.transcriptionFailures += fault.count ?? 1;
        this.transcriptionFailureMessage = fault.message;
        return true;
      case 'silent':
        this.silent = true;
        return true;
      default:
        return false;
    }
  }

  takeFailure(): { retryAfterMs: number } | null {
    const failure = this.failNext;
    this.failNext = null;
    return failure;
  }

  takeTextOnly(): boolean {
    const textOnly = this.textOnlyNext;
    this.textOnlyNext = false;
    return textOnly;
  }

  takeIncomplete(): { reason: IncompleteReason; afterFraction: number } | null {
    const incomplete = this.incompleteNext;
    this.incompleteNext = null;
    return incomplete;
  }

  /** The failure message when this transcription is to fail, else null. */
  takeTranscriptionFailure(): { message: string | undefined } | null {
    if (this.transcriptionFailures <= 0) return null;
    this.transcriptionFailures -= 1;
    return { message: this.transcriptionFailureMessage };
  }
}
