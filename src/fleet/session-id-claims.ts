/**
 * Live Audiohook-Session-Id values claimed across the fleet: `<prefix>:session:<hash>` holds the instance
 * that serves the session (SET NX with a TTL), refreshed by the registry's heartbeat and deleted when the
 * session ends, so a second upgrade with a live id is refused (400) by ANY instance, not only the one
 * serving it. The instance's own claims (src/server/session-ids.ts, or a cluster primary's) are asked
 * first: a duplicate on the same instance is refused without a round trip, and with Valkey down.
 *
 * Valkey unreachable (down, failing over, or slower than CLAIM_TIMEOUT_MS): the upgrade is decided by the
 * instance's claims alone, with a warning and `audiohook_fleet_session_id_unchecked_total`. Refusing calls
 * because a claim cannot be written would turn a cache blip into an outage; a duplicate id is a client bug
 * or an attack that must also get past authentication. The claim is written on the next heartbeat if the
 * session is still live and no one else holds the id by then.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { SessionIdClaims } from '../server/session-ids.js';
import type { FleetMetrics, SessionClaimFallbackCause } from './metrics.js';
import { withTimeout, type RedisClient } from './redis.js';

/** Longest wait for Valkey on an upgrade (as the nonce check: Genesys allows the whole open about 5 s). */
export const CLAIM_TIMEOUT_MS = 250;
/** At most one fallback warning per this interval (with a count), so an outage does not flood the log. */
const WARN_EVERY_MS = 10_000;

/** Takes the id if free, or keeps (and extends) it if this instance holds it already: 1; held by another: 0. */
const CLAIM_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;
/** Deletes the id only if this instance holds it (after an expiry another instance may have taken it). */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export function sessionIdKey(prefix: string, sessionKey: string): string {
  // Hashed: fixed length, and nothing the client chose is used as a key verbatim.
  return `${prefix}:session:${createHash('sha256').update(sessionKey).digest('base64url')}`;
}

export interface FleetSessionIdsOptions {
  redis: RedisClient;
  prefix: string;
  instanceId: string;
  /** The instance's own claims, asked first. */
  inner: SessionIdClaims;
  ttlMs: number;
  logger: Logger;
  metrics?: Pick<FleetMetrics, 'sessionIdUnchecked'> | undefined;
  timeoutMs?: number;
  /** Monotonic ms, for the warning rate limit (default performance.now). */
  now?: () => number;
}

export interface FleetSessionIds extends SessionIdClaims {
  claim(key: string): Promise<boolean>;
  /** Re-asserts every live claim (heartbeat): extends the TTL, or writes a claim made while Valkey was away. */
  refresh(): Promise<void>;
  /** Deletes every claim this instance holds in Valkey (shutdown). */
  releaseAll(): Promise<void>;
  readonly size: number;
}

export function createFleetSessionIds(options: FleetSessionIdsOptions): FleetSessionIds {
  const { redis, inner, logger } = options;
  const timeoutMs = options.timeoutMs ?? CLAIM_TIMEOUT_MS;
  const now = options.now ?? (() => performance.now());
  const keyOf = (sessionKey: string) => sessionIdKey(options.prefix, sessionKey);
  const ttl = String(options.ttlMs);
  /** Session keys live on this instance (claimed here, not yet released). */
  const held = new Set<string>();
  let lastWarnAt = -Infinity;
  let unwarned = 0;

  const fallback = (cause: SessionClaimFallbackCause, err?: unknown): true => {
    options.metrics?.sessionIdUnchecked.inc(cause);
    unwarned++;
    const t = now();
    if (t - lastWarnAt >= WARN_EVERY_MS) {
      logger.warn(
        { cause, upgrades: unwarned, ...(err ? { err: { message: (err as Error).message } } : {}) },
        'fleet session id claims unreachable: duplicate session ids checked on this instance only',
      );
      lastWarnAt = t;
      unwarned = 0;
    }
    return true;
  };

  const claimInRedis = (sessionKey: string) =>
    redis.eval(CLAIM_SCRIPT, { keys: [keyOf(sessionKey)], arguments: [options.instanceId, ttl] }) as Promise<unknown>;

  return {
    async claim(sessionKey) {
      if (!(await inner.claim(sessionKey))) return false;
      held.add(sessionKey);
      if (!redis.isReady) return fallback('unreachable');
      try {
        const reply = await withTimeout(claimInRedis(sessionKey), timeoutMs, 'session id claim');
        if (Number(reply) === 1) return true;
      } catch (err) {
        return fallback(/timed out/.test((err as Error).message) ? 'timeout' : 'error', err);
      }
      // Live on another instance.
      held.delete(sessionKey);
      inner.release(sessionKey);
      return false;
    },

    release(sessionKey) {
      if (!held.delete(sessionKey)) return;
      inner.release(sessionKey);
      if (!redis.isReady) return; // not refreshed any more: it expires within the TTL
      (redis.eval(RELEASE_SCRIPT, { keys: [keyOf(sessionKey)], arguments: [options.instanceId] }) as Promise<unknown>).catch((err: unknown) =>
        logger.debug({ err: { message: (err as Error).message } }, 'fleet session id release failed'),
      );
    },

    async refresh() {
      if (held.size === 0 || !redis.isReady) return;
      const keys = [...held];
      const replies = await Promise.allSettled(keys.map((k) => claimInRedis(k)));
      const lost = keys.filter((_, i) => replies[i]!.status === 'fulfilled' && Number((replies[i] as PromiseFulfilledResult<unknown>).value) !== 1);
      // Taken by another instance while Valkey was unreachable from here: two live sessions share the id.
      if (lost.length > 0) logger.warn({ sessions: lost.length }, 'a live session id is also claimed by another instance');
    },

    async releaseAll() {
      const keys = [...held];
      held.clear();
      if (keys.length === 0 || !redis.isReady) return;
      await Promise.allSettled(keys.map((k) => redis.eval(RELEASE_SCRIPT, { keys: [keyOf(k)], arguments: [options.instanceId] })));
    },

    get size() {
      return held.size;
    },
  };
}
