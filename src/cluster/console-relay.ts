/**
 * The console event relay between the workers of one instance: each worker's console shows every worker's
 * calls. A worker forwards each CallEvent its bridge publishes to the primary (`audiohook:console-event`,
 * the event as a JSON string of bounded size); the primary relays it to every other worker, whose console
 * store ingests it as its own (the row's `instance` says which process carries the call).
 *
 * Privacy at the source: with CONSOLE_TRANSCRIPTS off, transcript events and the ended record's transcript
 * never leave the worker (the receiving console would drop them anyway).
 * Bounded: a sender keeps at most MAX_PENDING_SENDS messages not yet handed to the channel; beyond that (or
 * an event over MAX_CONSOLE_EVENT_CHARS) the event is dropped and counted, never queued.
 */
import type { CallEventListener } from '../bridge/call-events.js';
import { decodeConsoleEvent, encodeConsoleEvent } from '../console/event-codec.js';

// The codec lives with the console (src/console/event-codec.ts) so the fleet's Redis channel, a lower layer, uses it too.
export { decodeConsoleEvent, encodeConsoleEvent, MAX_CONSOLE_EVENT_CHARS } from '../console/event-codec.js';

/** Messages handed to an IPC channel and not yet written; a console is a window, so beyond this we drop. */
export const MAX_PENDING_SENDS = 256;

/**
 * Fire-and-forget sending with a bound on messages handed over and not yet written (`send` calls `written`
 * once the channel took the message). offer() is false when the message was dropped.
 */
export class BoundedSender<M> {
  private pending = 0;
  dropped = 0;

  constructor(
    private readonly send: (message: M, written: () => void) => boolean,
    private readonly maxPending = MAX_PENDING_SENDS,
  ) {}

  offer(message: M): boolean {
    if (this.pending >= this.maxPending) {
      this.dropped++;
      return false;
    }
    this.pending++;
    let done = false;
    const written = () => {
      if (done) return;
      done = true;
      this.pending--;
    };
    if (!this.send(message, written)) {
      written();
      this.dropped++;
      return false;
    }
    return true;
  }

  get inFlight(): number {
    return this.pending;
  }
}

export interface ConsoleRelay {
  /** Give to the bridge beside the console: forwards this worker's events to the other workers. */
  readonly outbound: CallEventListener;
  /** Where events of the other workers go (this worker's console). */
  subscribe(listener: CallEventListener): void;
}

export interface ConsoleRelayLink {
  /** Hands the encoded event to the primary; false when it was dropped (channel backed up or gone). */
  offerConsoleEvent(event: string): boolean;
  onConsoleEvent(handler: (event: string) => void): void;
}

/** The worker's relay over its link to the primary. */
export function workerConsoleRelay(link: ConsoleRelayLink, options: { transcripts: boolean; onDrop?: () => void }): ConsoleRelay {
  return {
    outbound: {
      onCallEvent(event) {
        if (event.type === 'transcript' && !options.transcripts) return;
        const json = encodeConsoleEvent(event, options.transcripts);
        if (json === undefined || !link.offerConsoleEvent(json)) options.onDrop?.();
      },
    },
    subscribe(listener) {
      link.onConsoleEvent((json) => {
        const event = decodeConsoleEvent(json);
        if (event) listener.onCallEvent(event);
      });
    },
  };
}
