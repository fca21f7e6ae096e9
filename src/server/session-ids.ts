/**
 * Claims on the Audiohook-Session-Id values (lowercased) of live sessions and authenticated handshakes. A
 * second upgrade with a live id is refused: a duplicate session is a client bug or an attack, and two calls
 * sharing one id would share logs and records. One process keeps the set itself (synchronous); a cluster
 * worker asks its primary so the claim holds for the whole instance (src/cluster/worker.ts).
 */
export interface SessionIdClaims {
  /** True when the id was free and is now held by the caller; false when it is live already. */
  claim(key: string): boolean | Promise<boolean>;
  /** Gives up a claim (session ended, or the handshake failed). */
  release(key: string): void;
}

/** The process's own set: synchronous, as a single process needs no one else's answer. */
export function localSessionIds(): SessionIdClaims & { claim(key: string): boolean } {
  const live = new Set<string>();
  return {
    claim(key) {
      if (live.has(key)) return false;
      live.add(key);
      return true;
    },
    release: (key) => void live.delete(key),
  };
}
