/**
 * Remembers recently used signature nonces so a captured upgrade request cannot be replayed while its
 * signature is still fresh (the RI has no such cache). Bounded in time and size.
 */
import type { Clock } from '../util/clock.js';

/** A signature is acceptable for at most 10 s (age) + 3 s (skew); keep nonces a little longer. */
export const DEFAULT_NONCE_TTL_MS = 15_000;
export const DEFAULT_NONCE_CAPACITY = 10_000;

/**
 * Where the authenticator records nonces: this in-memory cache (one instance), or a fleet-wide store
 * (src/fleet/nonce-store.ts, with REDIS_URL) that answers asynchronously.
 */
export interface NonceStore {
  /** Records the nonce. False when it was already used within the TTL (a replay). */
  remember(nonce: string): boolean | Promise<boolean>;
}

export interface NonceCacheOptions {
  clock: Clock;
  ttlMs?: number;
  /**
   * Size cap. When full, the oldest entry is evicted. Entries only come from requests whose signature
   * verified, so filling the cache needs the client secret; 10,000 sessions within 15 s is far beyond
   * what one instance serves, so eviction does not open a practical replay window.
   */
  capacity?: number;
}

export class NonceCache implements NonceStore {
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly capacity: number;
  /** nonce → expiry (ms, monotonic). Insertion order equals expiry order because the TTL is constant. */
  private readonly entries = new Map<string, number>();

  constructor(options: NonceCacheOptions) {
    this.clock = options.clock;
    this.ttlMs = options.ttlMs ?? DEFAULT_NONCE_TTL_MS;
    this.capacity = options.capacity ?? DEFAULT_NONCE_CAPACITY;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Records the nonce. Returns false when it was already used within the TTL (a replay). */
  remember(nonce: string): boolean {
    const now = this.clock.now();
    this.evictExpired(now);
    if (this.entries.has(nonce)) return false;
    while (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(nonce, now + this.ttlMs);
    return true;
  }

  private evictExpired(now: number): void {
    for (const [nonce, expiresAt] of this.entries) {
      if (expiresAt > now) break;
      this.entries.delete(nonce);
    }
  }
}
