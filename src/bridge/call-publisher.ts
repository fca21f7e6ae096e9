/**
 * Publishes one call's milestones (call-events.ts) to the listener in BridgeDeps: stamps the call id and
 * the wall time, reports activity only when it changes, and never lets a listener's exception reach the call.
 */
import type { Logger } from 'pino';
import type { CallActivity, CallEvent, CallEventListener } from './call-events.js';

type Payload = CallEvent extends infer E ? (E extends CallEvent ? Omit<E, 'callId' | 'at'> : never) : never;

export class CallEventPublisher {
  private activity: CallActivity | undefined;

  constructor(
    readonly callId: string,
    private readonly listener: CallEventListener | undefined,
    private readonly wallClock: () => Date,
    private readonly log: Logger,
  ) {}

  publish(event: Payload): void {
    if (!this.listener) return;
    try {
      this.listener.onCallEvent({ ...event, callId: this.callId, at: this.wallClock().getTime() } as CallEvent);
    } catch (err) {
      this.log.warn({ err, type: event.type }, 'call event listener failed');
    }
  }

  /** Publishes `activity` when it differs from the last one published. */
  setActivity(activity: CallActivity): void {
    if (activity === this.activity) return;
    this.activity = activity;
    this.publish({ type: 'activity', activity });
  }

  get currentActivity(): CallActivity | undefined {
    return this.activity;
  }
}
