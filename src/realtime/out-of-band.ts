/**
 * Out-of-band requests (`conversation: 'none'`, e.g. the call summary): one at a time, matched to their
 * answer by purpose and to their errors by event id. Every purpose used on the call is remembered, so a
 * late event of an abandoned request is never mistaken for a conversation turn.
 */
import type { RealtimeResponse, ResponseCreateEvent } from 'openai/resources/realtime/realtime';
import type { Clock } from '../util/clock.js';
import { deferred, within, type Deferred } from '../util/timers.js';
import type { SummaryOutcome } from './model-events.js';

export class OutOfBandRequests {
  private current: { eventId: string; done: Deferred<SummaryOutcome> } | undefined;
  private seq = 0;
  private readonly purposes = new Set<string>();

  /** A request is waiting for its answer. */
  get pending(): boolean {
    return this.current !== undefined;
  }

  /** The purpose belongs to an out-of-band request made on this call (answered or not). */
  owns(purpose: string | undefined): boolean {
    return purpose !== undefined && this.purposes.has(purpose);
  }

  /** Sends the request and waits for its answer until `deadline` (clock time); never rejects. */
  async run(request: ResponseCreateEvent, send: (event: ResponseCreateEvent) => void, clock: Clock, deadline: number): Promise<SummaryOutcome> {
    const purpose = String((request.response?.metadata as Record<string, unknown> | null | undefined)?.['purpose'] ?? 'out_of_band');
    const eventId = `${purpose}_${++this.seq}`;
    const done = deferred<SummaryOutcome>();
    this.current = { eventId, done };
    this.purposes.add(purpose);
    send({ ...request, event_id: eventId });
    let result: SummaryOutcome = { outcome: 'timeout' };
    await within(clock, done.promise.then((r) => (result = r)), Math.max(0, deadline - clock.now()));
    this.current = undefined;
    return result;
  }

  /** The answer arrived (a response with an out-of-band purpose). */
  responseDone(response: RealtimeResponse): void {
    this.current?.done.resolve(response.status === 'completed' ? { outcome: 'done', response } : { outcome: 'failed' });
  }

  /** A model error about `clientEventId`; true when it was the pending request's (which has now failed). */
  rejected(clientEventId: string | undefined): boolean {
    if (!this.current || clientEventId !== this.current.eventId) return false;
    this.current.done.resolve({ outcome: 'failed' });
    return true;
  }

  /** The connection is gone: no answer will come. */
  connectionLost(): void {
    this.current?.done.resolve({ outcome: 'unavailable' });
  }
}
