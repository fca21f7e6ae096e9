/**
 * Delayed rejection of failed upgrade requests: the response goes out no earlier than FLOOR ms after
 * verification started, so response timing says nothing about which check failed (RI policy, §2.3).
 *
 * The delay holds a socket and a timer, so it is bounded: at most `maxPending` rejections wait at once.
 * Beyond that the request gets an immediate `503 Service Unavailable` (Retry-After: 1) that carries no
 * authentication detail, so a flood costs us no memory and learns nothing from timing.
 */
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../util/clock.js';
import { writeResponseAndClose, type PlainResponse } from './http-response.js';

export const DEFAULT_REJECTION_FLOOR_MS = 500;
export const DEFAULT_MAX_PENDING_REJECTIONS = 1000;

export interface RejectionSchedulerOptions {
  clock: Clock;
  floorMs?: number;
  maxPending?: number;
}

export type RejectionOutcome = 'delayed' | 'overflow';

export class RejectionScheduler {
  private readonly clock: Clock;
  private readonly floorMs: number;
  private readonly maxPending: number;
  private readonly pendingTimers = new Map<Duplex, TimerHandle>();

  constructor(options: RejectionSchedulerOptions) {
    this.clock = options.clock;
    this.floorMs = options.floorMs ?? DEFAULT_REJECTION_FLOOR_MS;
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_REJECTIONS;
  }

  get pending(): number {
    return this.pendingTimers.size;
  }

  /** Sends `response` at `startedAt + floor` (clock ms), or a bare 503 at once when too many wait. */
  reject(socket: Duplex, startedAt: number, response: PlainResponse): RejectionOutcome {
    if (this.pendingTimers.size >= this.maxPending) {
      writeResponseAndClose(socket, { status: 503, reason: 'busy', headers: { 'Retry-After': '1' } });
      return 'overflow';
    }
    const wait = Math.max(0, startedAt + this.floorMs - this.clock.now());
    const forget = () => {
      const timer = this.pendingTimers.get(socket);
      if (timer !== undefined) this.clock.clearTimeout(timer);
      this.pendingTimers.delete(socket);
    };
    // A client that gives up early frees its slot at once.
    socket.once('close', forget);
    const timer = this.clock.setTimeout(() => {
      socket.off('close', forget);
      this.pendingTimers.delete(socket);
      writeResponseAndClose(socket, response);
    }, wait);
    this.pendingTimers.set(socket, timer);
    return 'delayed';
  }

  /** Shutdown: destroys every waiting socket without answering. */
  cancelAll(): void {
    for (const [socket, timer] of this.pendingTimers) {
      this.clock.clearTimeout(timer);
      socket.destroy();
    }
    this.pendingTimers.clear();
  }
}
