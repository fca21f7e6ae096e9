/**
 * Connections before the upgrade: how many the server may hold, and which one gives way when it is full.
 *
 * Every socket costs a file descriptor, and so does every live call's model socket and a spool write.
 * Running out of descriptors breaks everything at once (accept, model connections, the spool), so the
 * server caps incoming connections below the process's descriptor limit, leaving room for one model
 * socket per session (MAX_SESSIONS) and a fixed reserve. When the cap is near, a new connection evicts
 * the oldest connection that has not sent a complete request (idle or slowloris); only when there is
 * none (every slot is a live call or a request in progress) is the new one refused. Idle and slowloris
 * sockets also end by themselves: Node enforces the header and request timeouts on them, checked every
 * CONNECTIONS_CHECK_INTERVAL_MS (http.ts).
 * Per-IP limits are the platform proxy's job (docs/DEPLOY.md): this is the process's last line.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

/** Descriptors kept for everything that is not a connection: stdio, logs, spool files, DNS, the listener. */
export const RESERVED_DESCRIPTORS = 64;
/** Connections above which the oldest pre-request one is evicted: this many below the cap. */
export const EVICTION_HEADROOM = 8;
/** Smallest cap we run with (a descriptor limit so low is reported at start-up). */
const MIN_MAX_CONNECTIONS = 32;
/** Used when the limit cannot be read (not Linux): Node's common default soft limit. */
export const FALLBACK_DESCRIPTOR_LIMIT = 1024;

/** The soft RLIMIT_NOFILE of this process from /proc/self/limits, or undefined off Linux. */
export function readDescriptorLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!match) return undefined;
  return match[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(match[1]);
}

export interface ConnectionBudget {
  /** server.maxConnections: Node refuses connections beyond it. */
  maxConnections: number;
  /** Above this many open connections, the oldest pre-request one is evicted. */
  evictAbove: number;
  /** The descriptor limit is too low for MAX_SESSIONS live calls plus headroom. */
  tooLow: boolean;
}

/**
 * Pure: the connection cap for a descriptor limit and MAX_SESSIONS. Each live call holds two descriptors
 * (its Genesys connection and its model socket), so the model sockets to leave room for are MAX_SESSIONS
 * or, when MAX_SESSIONS is more than the limit can carry, half of what is left after the reserve: a
 * MAX_SESSIONS set too high must never shrink the cap below what the descriptors allow (it once fell to
 * the 32 floor, refusing live calls on a machine with 20,000 descriptors).
 */
export function connectionBudget(descriptorLimit: number, maxSessions: number): ConnectionBudget {
  const usable = Math.max(0, descriptorLimit - RESERVED_DESCRIPTORS);
  const modelSockets = Math.min(maxSessions, Math.floor(usable / 2));
  const maxConnections = Math.max(MIN_MAX_CONNECTIONS, Math.min(usable - modelSockets, 1_000_000));
  return {
    maxConnections,
    evictAbove: maxConnections - EVICTION_HEADROOM,
    tooLow: usable - maxSessions < maxSessions + 2 * EVICTION_HEADROOM,
  };
}

/**
 * Tracks open connections, oldest first, and which have not yet sent a complete request. A Set keeps
 * insertion order, so the first pre-request entry is the oldest.
 */
export class ConnectionAdmission {
  private readonly open = new Set<Socket>();
  /** Connections without a request in progress (insertion order = age). */
  private readonly preRequest = new Set<Socket>();
  evicted = 0;

  constructor(private readonly evictAbove: number) {}

  get size(): number {
    return this.open.size;
  }

  /** A new connection: returns the connection evicted to make room (already destroyed), if any. */
  admit(socket: Socket): Socket | undefined {
    this.open.add(socket);
    this.preRequest.add(socket);
    socket.once('close', () => {
      this.open.delete(socket);
      this.preRequest.delete(socket);
    });
    if (this.open.size <= this.evictAbove) return undefined;
    for (const victim of this.preRequest) {
      if (victim === socket) continue;
      this.preRequest.delete(victim);
      this.open.delete(victim);
      this.evicted++;
      victim.destroy();
      return victim;
    }
    return undefined;
  }

  /** The connection sent a complete request (or upgrade): it is no longer evictable. */
  requestStarted(socket: Socket): void {
    this.preRequest.delete(socket);
  }

  /** A keep-alive connection finished its response and idles again: evictable, as the youngest. */
  requestDone(socket: Socket): void {
    if (this.open.has(socket) && !socket.destroyed) this.preRequest.add(socket);
  }

}
