/**
 * Caller audio that arrives before the call's model session exists: while the call start waits for Data
 * Action contracts (src/tools/registry.ts, at most CONTRACT_WAIT_MS). Held in order and handed to the model
 * session once it is created, which holds it on until a session is ready (src/realtime/caller-input.ts).
 * Bounded like that hold (MAX_HELD_AUDIO_MS, oldest dropped); a Genesys pause drops what is held and holds
 * nothing until the resume, as the model session does.
 */
import { MAX_HELD_AUDIO_MS } from '../realtime/caller-input.js';
import { ulawMs } from '../util/ulaw-time.js';

/** The model session's caller-audio verbs. */
export interface CallerAudioTarget {
  appendAudio(ulaw: Uint8Array): void;
  pauseInput(): void;
}

export class EarlyCallerAudio {
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private droppedBytes = 0;
  private paused = false;

  constructor(private readonly maxMs: number = MAX_HELD_AUDIO_MS) {}

  get heldMs(): number {
    return ulawMs(this.heldBytes);
  }

  /** Audio dropped to the bound (a peer sending faster than real time): never during a normal wait. */
  get droppedMs(): number {
    return ulawMs(this.droppedBytes);
  }

  append(ulaw: Uint8Array): void {
    if (this.paused) return;
    // A copy: the protocol layer may reuse the frame's buffer.
    this.held.push(ulaw.slice());
    this.heldBytes += ulaw.length;
    while (ulawMs(this.heldBytes) > this.maxMs && this.held.length > 1) {
      const oldest = this.held.shift()!;
      this.heldBytes -= oldest.length;
      this.droppedBytes += oldest.length;
    }
  }

  pause(): void {
    this.paused = true;
    this.drop();
  }

  resume(): void {
    this.paused = false;
  }

  /** Everything held goes to the session, in order, and a pause in force with it; the hold is empty after. */
  handOver(target: CallerAudioTarget): void {
    const held = this.held;
    this.drop();
    for (const chunk of held) target.appendAudio(chunk);
    if (this.paused) target.pauseInput();
  }

  drop(): void {
    this.held = [];
    this.heldBytes = 0;
  }
}
