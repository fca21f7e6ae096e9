/**
 * Response scheduling on one model session (pure; time injected). The Realtime API runs one response at a
 * time in the default conversation and answers a second `response.create` with
 * `conversation_already_has_active_response` (OPENAI_REALTIME.md §9). So:
 * - at most one of our `response.create`s is in flight (sent, no `response.created` yet): a second request
 *   made within that round trip is queued instead of racing the first (the duplicate-reply race);
 * - requests wait while any default-conversation response runs, ours or one the server's VAD created;
 * - a request the server refused as "busy" goes back to the head of the queue;
 * - an in-flight request never answered blocks nothing for longer than `inFlightTimeoutMs`.
 * Out-of-band responses (`conversation: 'none'`, e.g. the summary) are not scheduled here.
 */
import type { ResponseCreateEvent } from 'openai/resources/realtime/realtime';
import type { Clock, TimerHandle } from '../util/clock.js';

export interface ResponseSchedulerOptions {
  clock: Clock;
  /** Puts one request on the wire, with the client event id the server's errors will refer to. */
  send: (event: ResponseCreateEvent & { event_id: string }) => void;
  /** How long an unanswered request keeps the next one waiting. */
  inFlightTimeoutMs: number;
  /** Client event id prefix; ids are `${prefix}${n}`. */
  idPrefix?: string;
}

export class ResponseScheduler {
  private readonly active = new Set<string>();
  private readonly queue: ResponseCreateEvent[] = [];
  private readonly sent = new Map<string, ResponseCreateEvent>();
  private inFlight: string | undefined;
  private inFlightTimer: TimerHandle | undefined;
  private seq = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: ResponseSchedulerOptions) {}

  /** Asks for a response: sent now when nothing runs or is in flight, else queued (FIFO). */
  request(event: ResponseCreateEvent): void {
    this.queue.push(event);
    this.pump();
  }

  /** A default-conversation response was created (ours or the server's): the in-flight request is answered. */
  created(responseId: string): void {
    this.active.add(responseId);
    this.settleInFlight();
  }

  /** A default-conversation response finished. `failed` keeps the queue waiting (the failure decides what next). */
  done(responseId: string, failed = false): void {
    this.active.delete(responseId);
    if (this.active.size === 0) this.resolveIdle();
    if (!failed) this.pump();
  }

  /**
   * The server refused client event `clientEventId`. Returns true when it was one of our requests.
   * `busy` (a response was already running): the request goes back to the head of the queue.
   */
  rejected(clientEventId: string | undefined, busy: boolean): boolean {
    if (clientEventId === undefined) return false;
    const event = this.sent.get(clientEventId);
    if (!event) return false;
    this.sent.delete(clientEventId);
    if (busy) this.queue.unshift(event);
    if (this.inFlight === clientEventId) this.settleInFlight();
    this.pump();
    return true;
  }

  /** Sends the next request if the way is clear (e.g. after a retry wait). */
  pump(): void {
    if (this.inFlight !== undefined || this.active.size > 0) return;
    const next = this.queue.shift();
    if (!next) return;
    const eventId = `${this.options.idPrefix ?? 'rc_'}${++this.seq}`;
    this.sent.set(eventId, next);
    if (this.sent.size > 64) this.sent.delete(this.sent.keys().next().value!);
    this.inFlight = eventId;
    this.inFlightTimer = this.options.clock.setTimeout(() => {
      this.inFlightTimer = undefined;
      this.inFlight = undefined;
      this.pump();
    }, this.options.inFlightTimeoutMs);
    this.options.send({ ...next, event_id: eventId });
  }

  /** Drops queued requests (e.g. before the summary); running responses are the caller's to cancel. */
  clearQueue(): void {
    this.queue.length = 0;
  }

  /** The session was replaced: nothing of the old one runs, is queued or is in flight. */
  reset(): void {
    this.active.clear();
    this.queue.length = 0;
    this.sent.clear();
    this.settleInFlight();
    this.resolveIdle();
  }

  /** Default-conversation responses running now (created, not done). */
  get activeIds(): ReadonlySet<string> {
    return this.active;
  }

  /** Something runs, is in flight or waits. */
  get busy(): boolean {
    return this.active.size > 0 || this.queue.length > 0 || this.inFlight !== undefined;
  }

  /** Resolves once no default-conversation response runs (at once if none does). */
  whenIdle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private settleInFlight(): void {
    this.inFlight = undefined;
    this.options.clock.clearTimeout(this.inFlightTimer);
    this.inFlightTimer = undefined;
  }

  private resolveIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
