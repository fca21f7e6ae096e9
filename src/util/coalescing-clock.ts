/**
 * Timers that fall due in the same slot of a fixed time grid share one underlying timer. Every call's
 * outbound pacer sets a timer for each 200 ms frame; with hundreds of calls those deadlines are spread over
 * the whole frame period, so the event loop woke up for nearly every one of them. Rounded up to a 10 ms
 * grid, the frames of all calls due in the same 10 ms go out in one wake-up (BENCHMARKS.md, "what each
 * change bought"). A timer fires at most one grid step late, never early; the pacer keeps a 400 ms lead,
 * so the caller hears no difference.
 *
 * One coalescing clock per base clock (`coalescedClock`), so every call in the process shares the grid.
 */
import type { Clock, TimerHandle } from './clock.js';

/** Width of a slot: the most a coalesced timer is late. */
export const PACING_GRID_MS = 10;

interface Entry {
  readonly callback: () => void;
  readonly slot: number;
}

interface Slot {
  readonly entries: Set<Entry>;
  readonly handle: TimerHandle;
}

export class CoalescingClock implements Clock {
  private readonly slots = new Map<number, Slot>();

  constructor(
    private readonly base: Clock,
    readonly gridMs: number = PACING_GRID_MS,
    /** A callback threw: by default rethrown on its own tick, as a separate timer's exception would be. */
    private readonly onError: (err: unknown) => void = (err) =>
      process.nextTick(() => {
        throw err;
      }),
  ) {
    if (!(gridMs > 0)) throw new RangeError(`gridMs must be positive, got ${gridMs}`);
  }

  now(): number {
    return this.base.now();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const now = this.base.now();
    const slot = Math.ceil((now + Math.max(0, ms)) / this.gridMs);
    let shared = this.slots.get(slot);
    if (!shared) {
      shared = { entries: new Set(), handle: this.base.setTimeout(() => this.fire(slot), Math.max(0, slot * this.gridMs - now)) };
      this.slots.set(slot, shared);
    }
    const entry: Entry = { callback, slot };
    shared.entries.add(entry);
    return entry;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    const entry = handle as Entry;
    const shared = this.slots.get(entry.slot);
    if (!shared || !shared.entries.delete(entry)) return;
    if (shared.entries.size === 0) {
      this.base.clearTimeout(shared.handle);
      this.slots.delete(entry.slot);
    }
  }

  /** Underlying timers outstanding (one per occupied slot). */
  get pendingSlots(): number {
    return this.slots.size;
  }

  private fire(slot: number): void {
    const shared = this.slots.get(slot);
    if (!shared) return;
    // Timers set while firing land in a new slot object (and timer), never in this one.
    this.slots.delete(slot);
    for (const entry of shared.entries) {
      try {
        entry.callback();
      } catch (err) {
        // One callback's exception never stops the others of its slot.
        this.onError(err);
      }
    }
  }
}

const shared = new WeakMap<Clock, CoalescingClock>();

/** The process-wide coalescing clock over `base` (one per base clock, so every call shares its grid). */
export function coalescedClock(base: Clock): CoalescingClock {
  let clock = shared.get(base);
  if (!clock) {
    clock = new CoalescingClock(base);
    shared.set(base, clock);
  }
  return clock;
}
