/**
 * Caller audio that arrives before the call's model session exists: while the call start waits for Data
 * Action contracts (src/tools/registry.ts, at most CONTRACT_WAIT_MS). Held in order and handed to the model
 * session once it is created, which holds it on until a session is ready (src/realtime/caller-input.ts).
 * Bounded like that hold (MAX_HELD_AUDIO_MS, oldest dropped); a Genesys pause drops what is held and holds
 * nothing until the resume, as the model session does.
 */
import { MAX_HELD_AUDIO_MS } from '../realtime/caller-input.js';
import { AudioHold } from '../audio/audio-hold.js';

/** The model session's caller-audio verbs. */
export interface CallerAudioTarget {
  appendAudio(ulaw: Uint8Array): void;
  pauseInput(): void;
}

export class EarlyCallerAudio {
  private readonly hold: AudioHold;
  private paused = false;

  constructor(maxMs: number = MAX_HELD_AUDIO_MS) {
    this.hold = new AudioHold(maxMs);
  }

  get heldMs(): number {
    return this.hold.heldMs;
  }

  /** Audio dropped to the bound (a peer sending faster than real time): never during a normal wait. */
  get droppedMs(): number {
    return this.hold.droppedMs;
  }

  append(ulaw: Uint8Array): void {
    if (!this.paused) this.hold.add(ulaw);
  }

  pause(): void {
    this.paused = true;
    this.hold.clear();
  }

  resume(): void {
    this.paused = false;
  }

  /** Everything held goes to the session, in order, and a pause in force with it; the hold is empty after. */
  handOver(target: CallerAudioTarget): void {
    for (const chunk of this.hold.take()) target.appendAudio(chunk);
    if (this.paused) target.pauseInput();
  }

  drop(): void {
    this.hold.clear();
  }
}
