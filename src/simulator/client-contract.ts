/**
 * The contract of the simulated Genesys session (client-session.ts): what it is given — transport, timing,
 * the `open` request — and what it reports — its states and events.
 */
import type { MediaOffer, ServerMessage } from '../audiohook/schemas.js';
import type { Clock } from '../util/clock.js';
import type { ProtocolViolation } from './violations.js';

export type ClientSessionState = 'idle' | 'opening' | 'open' | 'closing' | 'closed' | 'failed';

/** Whether caller audio may flow now. */
export type AudioState = 'waiting' | 'send' | 'paused' | 'stopped';

export interface ClientTransport {
  sendText(text: string): void;
  sendBinary(data: Uint8Array): void;
  close(): void;
}

export interface ClientTiming {
  /** `open` → `opened` deadline (RI client and production: 5 s). */
  openTimeoutMs: number;
  /** `close` → `closed` deadline (RI client: 10 s). */
  closeTimeoutMs: number;
  /** First ping after `opened` (RI: 1 s). */
  firstPingMs: number;
  /** Ping cadence (RI: 5 s); a pong still missing when the next ping is due is a 408. 0 disables pings. */
  pingIntervalMs: number;
}

export const DEFAULT_CLIENT_TIMING: ClientTiming = {
  openTimeoutMs: 5_000,
  closeTimeoutMs: 10_000,
  firstPingMs: 1_000,
  pingIntervalMs: 5_000,
};

export interface Participant {
  id: string;
  ani: string;
  aniName: string;
  dnis: string;
}

export interface OpenRequest {
  organizationId: string;
  conversationId: string;
  participant: Participant;
  offers: readonly MediaOffer[];
  language?: string;
  supportedLanguages?: boolean;
  inputVariables?: Record<string, string>;
  customConfig?: Record<string, unknown>;
}

export type ClientSessionEvent =
  | { kind: 'server-message'; message: ServerMessage }
  | { kind: 'violation'; violation: ProtocolViolation }
  | { kind: 'state'; state: ClientSessionState }
  /** Server audio arrived: its size on the wire and the external channel as μ-law mono. */
  | { kind: 'server-audio'; bytes: number; ulaw: Uint8Array }
  /**
   * A caller frame went out: the external channel as μ-law mono (for recordings of the call), and how late
   * the sender was (ms after the frame was due; 0 when it has no schedule): a real-time sender that stalls
   * catches up, so the words were said `lateMs` before they went out.
   */
  | { kind: 'client-audio'; ulaw: Uint8Array; lateMs: number }
  | { kind: 'playback'; phase: 'started' | 'completed' };

export interface ClientSessionOptions {
  sessionId: string;
  clock: Clock;
  transport: ClientTransport;
  timing?: Partial<ClientTiming>;
}
