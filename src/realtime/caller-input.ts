/**
 * The caller's audio on its way to the model: relayed while a session is ready (subject to the model
 * socket's back-pressure, src/realtime/backpressure.ts), held while none is (bounded, oldest dropped), and
 * neither while Genesys has paused the stream — then a half-utterance in the input buffer is dropped too.
 */
import type { Logger } from 'pino';
import { AudioHold } from '../audio/audio-hold.js';
import { ulawMs } from '../util/ulaw-time.js';
import type { Clock } from '../util/clock.js';
import { ModelBackpressure } from './backpressure.js';
import type { ModelConnection } from './connection.js';
import type { ModelSessionMetrics } from './model-metrics.js';

/** Caller audio held while the model (re)connects: 10 s of μ-law. */
export const MAX_HELD_AUDIO_MS = 10_000;

export interface CallerInputDeps {
  clock: Clock;
  log: Logger;
  metrics?: ModelSessionMetrics | undefined;
  /** The current connection when a session is ready, else undefined. */
  readyConnection: () => ModelConnection | undefined;
  /** The socket did not drain for the whole stall limit: as good as dead. */
  onStalled: (cause: string) => void;
}

export class CallerInput {
  private readonly held = new AudioHold(MAX_HELD_AUDIO_MS);
  private readonly backpressure: ModelBackpressure;
  private pausedByGenesys = false;

  constructor(private readonly deps: CallerInputDeps) {
    this.backpressure = new ModelBackpressure({ clock: deps.clock });
  }

  get paused(): boolean {
    return this.pausedByGenesys;
  }

  get heldMs(): number {
    return this.held.heldMs;
  }

  /** Relayed when a session is ready, else held (bounded); dropped while paused. */
  append(ulaw: Uint8Array): void {
    if (this.pausedByGenesys) return;
    if (this.deps.readyConnection()) {
      this.relay(ulaw);
      return;
    }
    this.held.add(ulaw);
  }

  /** Genesys paused the stream: nothing relayed or held, and the input buffer cleared. False if already paused. */
  pause(): boolean {
    if (this.pausedByGenesys) return false;
    this.pausedByGenesys = true;
    this.dropHeld();
    this.deps.readyConnection()?.send({ type: 'input_audio_buffer.clear' });
    return true;
  }

  resume(): void {
    this.pausedByGenesys = false;
  }

  /** A session became ready: what was held goes first, in order. */
  flushHeld(): void {
    for (const chunk of this.held.take()) this.relay(chunk);
  }

  dropHeld(): void {
    this.held.clear();
  }

  /** The connection is gone: its back-pressure state with it. */
  resetBackpressure(): void {
    this.backpressure.reset();
  }

  private relay(ulaw: Uint8Array): void {
    const conn = this.deps.readyConnection();
    if (!conn) return;
    const wasDropping = this.backpressure.dropping;
    const decision = this.backpressure.admit(conn.bufferedAmount, ulaw.length);
    if (decision === 'send') {
      if (wasDropping) this.deps.log.info({ droppedMs: ulawMs(this.backpressure.droppedBytes) }, 'model socket drained; caller audio flows again');
      // PCMU passthrough: Genesys and the session both use G.711 μ-law 8 kHz.
      conn.send({ type: 'input_audio_buffer.append', audio: Buffer.from(ulaw.buffer, ulaw.byteOffset, ulaw.byteLength).toString('base64') });
      return;
    }
    if (!wasDropping) {
      // Once per episode: the queue only grows while the socket does not drain, so no per-chunk logging.
      this.deps.metrics?.modelErrors.inc('model_socket_congested');
      this.deps.log.warn({ bufferedAmount: conn.bufferedAmount }, 'model socket backed up; dropping caller audio');
    }
    if (decision === 'stalled') {
      this.deps.metrics?.modelErrors.inc('model_socket_stalled');
      this.deps.onStalled(`model socket stalled (${conn.bufferedAmount} bytes unsent)`);
    }
  }
}
