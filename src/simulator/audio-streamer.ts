/**
 * Streams caller audio into a session in fixed frames (default 200 ms = 1600 bytes PCMU mono, what
 * Genesys sends), either in real time or as fast as possible.
 *
 * Real time is drift-free: frame k is due at start + k·frameMs on the injected monotonic clock, so
 * timer lateness never accumulates. While the stream is paused nothing is sent and the position does
 * not advance; in real time the audio that goes by is discarded (reported in `resumed.discarded`, as
 * the RI client does), in fast mode the streamer simply waits.
 */
import type { FrameLayout } from '../audio/codec.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { AudioSource } from './audio-source.js';
import type { AudioState } from './client-contract.js';
import { callerFrame } from './media.js';

/** What the streamer needs from a session. */
export interface AudioSink {
  readonly audioState: AudioState;
  readonly negotiatedLayout: FrameLayout | null;
  sendAudio(frame: Uint8Array, lateMs?: number): boolean;
  discardAudio(samples: number): void;
}

export interface StreamOptions {
  frameMs?: number;
  /** 'realtime' paces frames at their duration; 'fast' sends them back to back (yielding between frames). */
  pacing?: 'realtime' | 'fast';
}

export interface StreamResult {
  framesSent: number;
  bytesSent: number;
  /** Why streaming ended. */
  ended: 'source-exhausted' | 'session-stopped' | 'stopped';
}

export class AudioStreamer {
  readonly done: Promise<StreamResult>;
  private resolveDone!: (result: StreamResult) => void;
  private readonly frameMs: number;
  private readonly pacing: 'realtime' | 'fast';
  private anchor = 0;
  private tick = 0;
  private timer: TimerHandle | undefined;
  private finished = false;
  private framesSent = 0;
  private bytesSent = 0;

  constructor(
    private readonly clock: Clock,
    private readonly sink: AudioSink,
    private readonly source: AudioSource,
    options: StreamOptions = {},
  ) {
    this.frameMs = options.frameMs ?? 200;
    this.pacing = options.pacing ?? 'realtime';
    if (!(this.frameMs > 0) || (this.frameMs * 8) % 1 !== 0) throw new RangeError('frameMs must be a positive multiple of 0.125');
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(): this {
    this.anchor = this.clock.now();
    this.tick = 0;
    this.step();
    return this;
  }

  stop(): void {
    this.finish('stopped');
  }

  private step(): void {
    if (this.finished) return;
    const state = this.sink.audioState;
    if (state === 'stopped') return this.finish('session-stopped');
    const samples = this.frameMs * 8;
    if (state === 'send') {
      const ulaw = this.source.read(samples);
      if (ulaw === null) return this.finish('source-exhausted');
      const layout = this.sink.negotiatedLayout;
      if (layout && ulaw.length > 0) {
        const frame = callerFrame(ulaw, layout);
        // Real time: frame `tick` was due at anchor + tick·frameMs; after a stall the catch-up frames are late.
        const lateMs = this.pacing === 'realtime' ? Math.max(0, this.clock.now() - (this.anchor + this.tick * this.frameMs)) : 0;
        if (this.sink.sendAudio(frame, lateMs)) {
          this.framesSent++;
          this.bytesSent += frame.length;
        }
      }
    } else if (state === 'paused' && this.pacing === 'realtime') {
      // A live line keeps producing audio during a pause; Genesys drops it.
      const ulaw = this.source.read(samples);
      if (ulaw === null) return this.finish('source-exhausted');
      this.sink.discardAudio(ulaw.length);
    }
    this.schedule(state);
  }

  private schedule(state: AudioState): void {
    this.tick++;
    let delay: number;
    if (this.pacing === 'realtime') {
      delay = Math.max(0, this.anchor + this.tick * this.frameMs - this.clock.now());
    } else {
      // Fast: back to back while sending; poll at frame cadence while waiting or paused.
      delay = state === 'send' ? 0 : this.frameMs;
    }
    this.timer = this.clock.setTimeout(() => this.step(), delay);
  }

  private finish(ended: StreamResult['ended']): void {
    if (this.finished) return;
    this.finished = true;
    this.clock.clearTimeout(this.timer);
    this.resolveDone({ framesSent: this.framesSent, bytesSent: this.bytesSent, ended });
  }
}
