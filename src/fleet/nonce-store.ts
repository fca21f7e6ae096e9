/**
 * The fleet-wide replay cache: a signature nonce is claimed with `SET <prefix>:nonce:<hash> NX PX ttl`, so
 * a captured signed upgrade replayed to ANY instance inside the signature's lifetime is refused.
 *
 * Valkey unreachable (down, failing over, or slower than CHECK_TIMEOUT_MS): the upgrade is decided by this
 * instance's own cache, with a warning and `audiohook_nonce_shared_fallbacks_total`. Why not refuse signed
 * upgrades instead: every Genesys call of the fleet would fail for the length of a blip, whereas the window
 * this leaves is narrow and visible — a replay still needs a captured signed request (TLS), must reach a
 * *different* instance (every nonce is always kept locally first, so a replay to the same instance is
 * refused in any case), and within the signature's ~15 s lifetime during the outage. Nonces accepted during
 * the outage are written to Valkey when it is back (while still inside their TTL), closing the window for
 * replays that arrive after recovery. Alert on the fallback counter.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { DEFAULT_NONCE_TTL_MS, NonceCache, type NonceStore } from '../server/nonce-cache.js';
import type { Clock } from '../util/clock.js';
import type { FleetMetrics, NonceFallbackCause } from './metrics.js';
import { withTimeout, type RedisClient } from './redis.js';

/** Longest wait for Valkey on an upgrade; Genesys gives the whole open handshake about 5 s. */
export const CHECK_TIMEOUT_MS = 250;
/** Nonces accepted while Valkey was unreachable, kept for the backfill (one TTL's worth at most). */
const BACKFILL_CAPACITY = 10_000;
/** At most one fallback warning per this interval (with a count), so an outage does not flood the log. */
const WARN_EVERY_MS = 10_000;

export interface SharedNonceStoreOptions {
  redis: RedisClient;
  prefix: string;
  instanceId: string;
  clock: Clock;
  logger: Logger;
  metrics?: Pick<FleetMetrics, 'nonceFallbacks'>;
  ttlMs?: number;
  timeoutMs?: number;
  /** This instance's cache (default: a NonceCache with the same TTL). */
  local?: NonceCache;
}

export interface SharedNonceStore extends NonceStore {
  remember(nonce: string): Promise<boolean>;
  /** Writes nonces accepted during an outage to Valkey (called when the connection is ready again). */
  backfill(): Promise<number>;
}

export function nonceKey(prefix: string, nonce: string): string {
  // Hashed: the key length is fixed and nothing the client chose is used as a key verbatim.
  return `${prefix}:nonce:${createHash('sha256').update(nonce).digest('base64url')}`;
}

export function createSharedNonceStore(options: SharedNonceStoreOptions): SharedNonceStore {
  const { redis, clock, logger } = options;
  const ttlMs = options.ttlMs ?? DEFAULT_NONCE_TTL_MS;
  const timeoutMs = options.timeoutMs ?? CHECK_TIMEOUT_MS;
  const local = options.local ?? new NonceCache({ clock, ttlMs });
  /** nonce → monotonic expiry, in insertion (= expiry) order. */
  const pendingBackfill = new Map<string, number>();
  let lastWarnAt = -Infinity;
  let unwarned = 0;

  const fallback = (nonce: string, cause: NonceFallbackCause, err?: unknown): boolean => {
    options.metrics?.nonceFallbacks.inc(cause);
    if (pendingBackfill.size >= BACKFILL_CAPACITY) {
      const oldest = pendingBackfill.keys().next();
      if (!oldest.done) pendingBackfill.delete(oldest.value);
    }
    pendingBackfill.set(nonce, clock.now() + ttlMs);
    unwarned++;
    const now = clock.now();
    if (now - lastWarnAt >= WARN_EVERY_MS) {
      logger.warn(
        { cause, upgrades: unwarned, ...(err ? { err: { message: (err as Error).message } } : {}) },
        'shared nonce cache unreachable: replay check used this instance only',
      );
      lastWarnAt = now;
      unwarned = 0;
    }
    return true;
  };

  return {
    async remember(nonce) {
      // Locally first: a replay to this instance is refused even with Valkey down.
      if (!local.remember(nonce)) return false;
      if (!redis.isReady) return fallback(nonce, 'unreachable');
      try {
        const reply = await withTimeout(
          redis.set(nonceKey(options.prefix, nonce), options.instanceId, { condition: 'NX', expiration: { type: 'PX', value: ttlMs } }),
          timeoutMs,
          'nonce check',
        );
        return reply !== null;
      } catch (err) {
        return fallback(nonce, /timed out/.test((err as Error).message) ? 'timeout' : 'error', err);
      }
    },

    async backfill() {
      if (pendingBackfill.size === 0 || !redis.isReady) return 0;
      const now = clock.now();
      const entries = [...pendingBackfill].filter(([, expiresAt]) => expiresAt - now > 0);
      pendingBackfill.clear();
      let written = 0;
      for (const [nonce, expiresAt] of entries) {
        try {
          const reply = await redis.set(nonceKey(options.prefix, nonce), options.instanceId, {
            condition: 'NX',
            expiration: { type: 'PX', value: Math.max(1, Math.round(expiresAt - clock.now())) },
          });
          if (reply !== null) written++;
        } catch {
          break; // down again: what is left has at most one TTL to live anyway
        }
      }
      if (entries.length > 0) logger.info({ nonces: written }, 'nonces accepted during the outage written to the shared cache');
      return written;
    },
  };
}
