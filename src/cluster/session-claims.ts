/**
 * The primary's record of live Audiohook-Session-Id values for the whole instance: which worker holds each,
 * so a duplicate landing on another worker is refused, a worker can release only its own claims, and the
 * claims of a worker that died are released with it (its calls are gone).
 */
export class InstanceSessionIds {
  private readonly owners = new Map<string, number>();

  /** True when the id was free and is now held by `worker`. */
  claim(worker: number, key: string): boolean {
    if (this.owners.has(key)) return false;
    this.owners.set(key, worker);
    return true;
  }

  /** Releases `key` if `worker` holds it; another worker's claim is left alone. */
  release(worker: number, key: string): boolean {
    if (this.owners.get(key) !== worker) return false;
    this.owners.delete(key);
    return true;
  }

  /** Releases every claim of a worker that exited; returns how many. */
  releaseWorker(worker: number): number {
    let released = 0;
    for (const [key, owner] of this.owners) {
      if (owner !== worker) continue;
      this.owners.delete(key);
      released++;
    }
    return released;
  }

  get size(): number {
    return this.owners.size;
  }
}
