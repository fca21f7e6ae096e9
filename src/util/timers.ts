/**
 * Timer helpers on the injected Clock (src/util/clock.ts): a promise with its resolver, bounded waits, and
 * a scope whose timers and sleeps all end together (a call, a model session).
 */
import type { Clock, TimerHandle } from './clock.js';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves true when `promise` settles (either way) within `ms` on `clock`, false on timeout. */
export function within(clock: Clock, promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = clock.setTimeout(() => resolve(false), ms);
    const done = () => {
      clock.clearTimeout(timer);
      resolve(true);
    };
    promise.then(done, done);
  });
}

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
}

/**
 * Timers owned by one piece of work: `clear()` cancels every pending timer and wakes every sleeper, so
 * nothing fires after the work is over.
 */
export class TimerScope {
  private readonly timers = new Set<TimerHandle>();
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** A tracked timer. */
  after(ms: number, callback: () => void): TimerHandle {
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  cancel(timer: TimerHandle | undefined): void {
    if (timer === undefined) return;
    this.clock.clearTimeout(timer);
    this.timers.delete(timer);
  }

  /** Waits `ms`, or less if the scope is cleared meanwhile. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.cancel(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = this.after(ms, wake);
      this.sleepers.add(wake);
    });
  }

  clear(): void {
    for (const timer of this.timers) this.clock.clearTimeout(timer);
    this.timers.clear();
    for (const wake of [...this.sleepers]) wake();
  }
}
