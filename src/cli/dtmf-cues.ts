/**
 * Keypad presses at points of the recording (`--dtmf 1234#@18.5`). Cues are tied to the audio position,
 * not the wall clock, so they land at the same point of the call with --realtime and --fast: a cue is sent
 * (one `dtmf` message per digit, as Genesys does) as soon as the caller audio up to its time has been sent,
 * so the messages' `position` is at or just after the cue (within one frame). Audio before the key press
 * reaches the server first: a press 0.5 s after speech ends follows the end-of-speech silence, as it would
 * on a live line.
 */
import type { AudioSource } from '../simulator/audio-source.js';
import type { AudioState } from '../simulator/client-contract.js';

export interface DtmfCue {
  digits: string;
  atMs: number;
}

/** The cues not yet sent, in time order. */
export class DtmfSchedule {
  private readonly pending: DtmfCue[];

  constructor(cues: readonly DtmfCue[]) {
    this.pending = [...cues].sort((a, b) => a.atMs - b.atMs);
  }

  /** Removes and returns the cues whose time the stream has reached (`positionMs`: audio sent so far). */
  takeDue(positionMs: number): DtmfCue[] {
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.atMs <= positionMs) n++;
    return this.pending.splice(0, n);
  }

  get remaining(): number {
    return this.pending.length;
  }
}

/** What sending cues needs from the simulated call. */
export interface DtmfSink {
  readonly positionMs: number;
  readonly audioState: AudioState;
  sendDtmf(digits: string): void;
}

/**
 * Wraps a caller audio source so that, before each frame is read, the cues the position has reached are
 * sent. Nothing is sent while the stream is paused or stopped (Genesys sends no DTMF then); such cues wait
 * for the next frame.
 */
export function withDtmfCues(source: AudioSource, schedule: DtmfSchedule, sink: DtmfSink): AudioSource {
  return {
    read(samples) {
      if (schedule.remaining > 0 && sink.audioState === 'send') {
        for (const cue of schedule.takeDue(sink.positionMs)) sink.sendDtmf(cue.digits);
      }
      return source.read(samples);
    },
  };
}
