/**
 * A small seeded PRNG (mulberry32) so every fuzz case is reproducible from (seed, case index).
 * Not cryptographic; fast and well distributed enough for test-input generation.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /**
   * `length` random bytes: a view at a random offset into a fixed pool (generated once from a fixed
   * seed), so large frames cost nothing to make. Readers must not write to it; the session does not.
   */
  bytes(length: number): Uint8Array {
    const pool = randomPool();
    if (length > pool.length) return new Uint8Array(length).fill(this.int(0, 255));
    const offset = this.int(0, pool.length - length);
    return pool.subarray(offset, offset + length);
  }

  /** A derived generator (independent stream per case). */
  fork(salt: number): Prng {
    return new Prng(Math.imul(this.int(0, 0xffffffff) ^ salt, 0x9e3779b1));
  }
}

/** The seed of case `index` in a campaign seeded with `seed`: any case can be replayed alone. */
export function caseSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x01000193) + Math.imul(index + 1, 0x9e3779b1)) >>> 0;
}

const POOL_BYTES = 1 << 21;
let pool: Uint8Array | null = null;

function randomPool(): Uint8Array {
  if (pool === null) {
    const rng = new Prng(0x2545f491);
    pool = new Uint8Array(POOL_BYTES);
    for (let i = 0; i < POOL_BYTES; i++) pool[i] = (rng.next() * 256) | 0;
  }
  return pool;
}
