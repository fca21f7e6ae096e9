/**
 * Fault injection: what a test can make the emulated OpenAI do wrong. Handshake faults apply to the next
 * connection attempts; session faults apply to a live session (`inject`) or to the next session to connect.
 */
import type { RealtimeErrorBody } from './errors.js';

export type HandshakeFault =
  | { type: 'refuse'; status: number; message?: string; retryAfterSeconds?: number }
  | { type: 'delay'; ms: number };

export type SessionFault =
  /** Close with `code`; 1006 terminates the TCP socket without a close frame. */
  | { type: 'close'; code: number; reason?: string; afterMs?: number }
  /** The 60-minute cap: error `session_expired`, then close 1001. */
  | { type: 'session_expired'; afterMs?: number }
  /** Send an arbitrary `error` event (the session stays open). */
  | { type: 'error'; error: Partial<RealtimeErrorBody> & { message: string } }
  /** The next response ends `failed` with rate_limit_exceeded ("Please try again in Xs."). */
  | { type: 'fail_next_response'; retryAfterSeconds?: number }
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

export function rateLimitMessage(model: string, retryAfterSeconds: number): string {
  return `Rate limit reached for ${model} in organization org-emulator on tokens per min (TPM): Limit 40000, Used 39000, Requested 2400. Please try again in ${retryAfterSeconds}s.`;
}
