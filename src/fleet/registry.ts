/**
 * The fleet view: every instance registers its live calls in one sorted set (`<prefix>:live`, member
 * `<instance>|<sessionId>`, score = expiry in epoch ms) and refreshes them on a heartbeat; an instance that
 * dies stops refreshing and its calls expire within HEARTBEAT_TTL_MS. Instance liveness is a second sorted
 * set (`<prefix>:instances`), which the outbox asks before delivering a dead instance's provisional record.
 *
 * Expiry scores use each instance's wall clock: skew between instances (normally milliseconds under NTP)
 * only shifts when a dead instance's calls disappear, well inside the TTL.
 *
 * The fleet-wide count is read on the heartbeat and cached, so admission (MAX_FLEET_SESSIONS) costs no
 * round trip on the upgrade: cached fleet count + this instance's net change (started − ended) since. Instances deciding at
 * the same moment may overshoot the cap by a few calls; each instance's MAX_SESSIONS stays a hard limit.
 * With Valkey unreachable the cap is not enforced (per-instance limits still are): refusing calls because
 * a counter cannot be read would turn a cache blip into an outage.
 *
 * Live session ids are claimed fleet-wide (session-id-claims.ts) through sessionIds(): the heartbeat
 * refreshes those claims and close() deletes them.
 */
import type { Logger } from 'pino';
import type { FleetHooks } from '../server/http.js';
import type { AudiohookIds } from '../server/upgrade-headers.js';
import type { SessionIdClaims } from '../server/session-ids.js';
import type { FleetGauges, FleetMetrics } from './metrics.js';
import type { RedisClient } from './redis.js';
import { createFleetSessionIds, type FleetSessionIds } from './session-id-claims.js';

export const HEARTBEAT_INTERVAL_MS = 5_000;
export const HEARTBEAT_TTL_MS = 20_000;

export interface FleetRegistryOptions {
  redis: RedisClient;
  prefix: string;
  instanceId: string;
  logger: Logger;
  maxFleetSessions?: number;
  heartbeatIntervalMs?: number;
  heartbeatTtlMs?: number;
  /** Wall clock in epoch ms (default Date.now). */
  now?: () => number;
  metrics?: Pick<FleetMetrics, 'sessionIdUnchecked'> | undefined;
}

export interface FleetRegistry extends FleetHooks, FleetGauges {
  start(): void;
  /** Refreshes this instance's registration and the cached fleet figures now. */
  heartbeat(): Promise<void>;
  /** Live calls across the fleet, fetched now (undefined when Valkey cannot be read). */
  readFleetLiveCalls(): Promise<number | undefined>;
  isInstanceAlive(instanceId: string): Promise<boolean>;
  /**
   * The server's live-session-id claims, made fleet-wide: `instance` (this process's or its cluster
   * primary's claims) first, then Valkey. One per registry: the heartbeat refreshes its claims.
   */
  sessionIds(instance: SessionIdClaims): SessionIdClaims;
  /** Stops the heartbeat and removes this instance, its calls and its session id claims from the registry. */
  close(): Promise<void>;
}

/** Admission against the cap (pure): the count is the last fleet figure plus this instance's net change since. */
export function admitUnderFleetCap(cap: number | undefined, fleetCount: number | undefined, localChangeSinceRefresh: number): boolean {
  if (cap === undefined || fleetCount === undefined) return true;
  return fleetCount + localChangeSinceRefresh < cap;
}

export function createFleetRegistry(options: FleetRegistryOptions): FleetRegistry {
  const { redis, prefix, instanceId, logger } = options;
  const intervalMs = options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
  const ttlMs = options.heartbeatTtlMs ?? HEARTBEAT_TTL_MS;
  const now = options.now ?? Date.now;
  const liveKey = `${prefix}:live`;
  const instancesKey = `${prefix}:instances`;
  const member = (sessionId: string) => `${instanceId}|${sessionId}`;

  const local = new Set<string>();
  let fleetLive: number | undefined;
  let instances: number | undefined;
  /** Calls started minus calls ended here since the last fleet figure. */
  let localChange = 0;
  /** Wall time of the last successful refresh; a figure older than 3 heartbeats is not trusted for admission. */
  let refreshedAt = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let claims: FleetSessionIds | undefined;

  const quietly = (what: string) => (err: unknown) => {
    logger.debug({ err: { message: (err as Error).message } }, `fleet registry: ${what} failed`);
  };

  async function heartbeat(): Promise<void> {
    if (!redis.isReady) {
      return;
    }
    const t = now();
    const expiry = t + ttlMs;
    const multi = redis
      .multi()
      .zAdd(instancesKey, { score: expiry, value: instanceId })
      .zRemRangeByScore(instancesKey, '-inf', t)
      .zRemRangeByScore(liveKey, '-inf', t);
    for (const sessionId of local) multi.zAdd(liveKey, { score: expiry, value: member(sessionId) });
    multi.zCard(liveKey).zCard(instancesKey);
    const changeBefore = localChange;
    const replies = (await multi.exec()) as unknown[];
    fleetLive = Number(replies[replies.length - 2]);
    instances = Number(replies[replies.length - 1]);
    localChange -= changeBefore;
    refreshedAt = now();
    await claims?.refresh();
  }

  const tick = () => {
    if (closed) return;
    void heartbeat()
      .catch(quietly('heartbeat'))
      .finally(() => {
        if (!closed) timer = setTimeout(tick, intervalMs);
        timer?.unref();
      });
  };

  const fresh = () => now() - refreshedAt <= 3 * intervalMs;

  return {
    start() {
      closed = false;
      tick();
    },
    heartbeat,

    sessionIds(instance) {
      if (claims) throw new Error('fleet registry: sessionIds() may be called once');
      claims = createFleetSessionIds({ redis, prefix, instanceId, inner: instance, ttlMs, logger, metrics: options.metrics });
      return claims;
    },

    admit() {
      return admitUnderFleetCap(options.maxFleetSessions, fresh() ? fleetLive : undefined, localChange);
    },

    sessionStarted(ids: AudiohookIds) {
      if (local.has(ids.sessionId)) return;
      local.add(ids.sessionId);
      localChange++;
      if (!redis.isReady) return;
      redis.zAdd(liveKey, { score: now() + ttlMs, value: member(ids.sessionId) }).catch(quietly('register'));
    },

    sessionEnded(ids: AudiohookIds) {
      if (!local.delete(ids.sessionId)) return;
      localChange--;
      if (!redis.isReady) return; // the heartbeat no longer refreshes it: it expires within the TTL
      redis.zRem(liveKey, member(ids.sessionId)).catch(quietly('unregister'));
    },

    fleetLiveCalls: () => (fleetLive === undefined ? undefined : Math.max(0, fleetLive + localChange)),
    fleetInstances: () => instances,

    async readFleetLiveCalls() {
      try {
        await heartbeat();
      } catch (err) {
        quietly('read')(err);
        return undefined;
      }
      return fresh() ? fleetLive : undefined;
    },

    async isInstanceAlive(id: string) {
      const score = await redis.zScore(instancesKey, id);
      return score !== null && score > now();
    },

    async close() {
      closed = true;
      clearTimeout(timer);
      if (!redis.isReady) return;
      await claims?.releaseAll().catch(quietly('release session ids'));
      const members = [...local].map(member);
      local.clear();
      const multi = redis.multi().zRem(instancesKey, instanceId);
      if (members.length > 0) multi.zRem(liveKey, members);
      await multi.exec().catch(quietly('deregister'));
    },
  };
}
