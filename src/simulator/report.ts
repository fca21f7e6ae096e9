/** What one simulated call observed: the result API of the simulator. */
import type { EventEntity, MediaOffer, ServerMessage } from '../audiohook/schemas.js';
import type { PlayoutEndReason } from './playout.js';
import type { ProtocolViolation } from './violations.js';

export interface LoggedMessage {
  direction: 'client' | 'server';
  /** Clock time (ms). */
  at: number;
  /** The parsed JSON (or the raw text when it was not JSON). */
  message: unknown;
  /** Sent through the raw escape hatch (not built by the simulator). */
  raw?: boolean;
}

export interface ReceivedFrame {
  at: number;
  bytes: number;
}

export interface RecordedEvent {
  at: number;
  entity: EventEntity;
  /** Server audio (μ-law bytes) received before this event: where it falls in `receivedAudio`. */
  receivedAudioBytes: number;
}

export interface PlaybackBurst {
  startedAt: number;
  completedAt: number | null;
  reason: PlayoutEndReason | null;
}

/** Clock times in ms (null when it did not happen) and the derived latencies. */
export interface CallTimings {
  createdAt: number;
  connectedAt: number | null;
  openSentAt: number | null;
  openedAt: number | null;
  openToOpenedMs: number | null;
  firstServerAudioAt: number | null;
  openedToFirstServerAudioMs: number | null;
  disconnectAt: number | null;
  closeSentAt: number | null;
  closedAt: number | null;
  closeToClosedMs: number | null;
  socketClosedAt: number | null;
}

export interface DisconnectInfo {
  reason: string;
  info: string | undefined;
  outputVariables: Record<string, string> | undefined;
}

export interface SimulationReport {
  sessionId: string;
  state: string;
  negotiatedMedia: MediaOffer | null;
  timings: CallTimings;
  messages: LoggedMessage[];
  /** Server audio as μ-law 8 kHz mono (the external channel when the layout is stereo/L16). */
  receivedAudio: Uint8Array;
  receivedFrames: ReceivedFrame[];
  /** Server audio that arrived while the stream was paused (allowed in flight; [U] whether Genesys plays it). */
  audioWhilePausedBytes: number;
  events: RecordedEvent[];
  playback: PlaybackBurst[];
  pingRttsMs: number[];
  sentAudioBytes: number;
  /** Client stream position (ms of audio sent). */
  positionMs: number;
  disconnect: DisconnectInfo | null;
  violations: ProtocolViolation[];
  /** Server messages by type, for quick assertions. */
  serverMessages: ServerMessage[];
}
