/**
 * Fleet series, registered on the process's /metrics registry (src/server/metrics.ts) when REDIS_URL is
 * set. Per-instance series keep their meaning; `audiohook_fleet_*` are fleet-wide as this instance last saw them.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export const NONCE_FALLBACK_CAUSES = ['unreachable', 'timeout', 'error'] as const;
export type NonceFallbackCause = (typeof NONCE_FALLBACK_CAUSES)[number];

export const SESSION_CLAIM_FALLBACK_CAUSES = ['unreachable', 'timeout', 'error'] as const;
export type SessionClaimFallbackCause = (typeof SESSION_CLAIM_FALLBACK_CAUSES)[number];

export const DEAD_LETTER_CAUSES = ['rejected', 'max_attempts', 'unreadable'] as const;
export type DeadLetterCause = (typeof DEAD_LETTER_CAUSES)[number];

export interface FleetMetrics {
  redisUp: { set(up: boolean): void };
  /** A signed upgrade checked against this instance's memory only (Valkey unreachable): see nonce-store.ts. */
  nonceFallbacks: { inc(cause: NonceFallbackCause): void };
  /** An upgrade's session id checked on this instance only (Valkey unreachable): see session-id-claims.ts. */
  sessionIdUnchecked: { inc(cause: SessionClaimFallbackCause): void };
  outboxDeadLetters: { inc(cause: DeadLetterCause): void };
  /** Entries trimmed from the stream before delivery (MAXLEN cap hit): lost records, alert on any. */
  outboxTrimmed: { inc(by?: number): void };
  /** Records held in memory because the outbox could not be written (re-appended when Valkey is back). */
  outboxBacklog: { set(n: number): void };
}

/** Series whose values are read when /metrics is scraped. */
export interface FleetGauges {
  fleetLiveCalls(): number | undefined;
  fleetInstances(): number | undefined;
}

export function createFleetMetrics(registry: Registry, gauges: () => FleetGauges | undefined): FleetMetrics {
  const registers = [registry];
  const redisUp = new Gauge({ name: 'audiohook_redis_up', help: 'Whether the shared Valkey/Redis connection is ready (1) or not (0)', registers });
  const fallbacks = new Counter({
    name: 'audiohook_nonce_shared_fallbacks_total',
    help: 'Signed upgrades whose replay check used this instance only because Valkey/Redis was unreachable',
    labelNames: ['cause'],
    registers,
  });
  for (const cause of NONCE_FALLBACK_CAUSES) fallbacks.inc({ cause }, 0);
  const unchecked = new Counter({
    name: 'audiohook_fleet_session_id_unchecked_total',
    help: 'Upgrades whose session id was checked for duplicates on this instance only because Valkey/Redis was unreachable',
    labelNames: ['cause'],
    registers,
  });
  for (const cause of SESSION_CLAIM_FALLBACK_CAUSES) unchecked.inc({ cause }, 0);
  const dead = new Counter({
    name: 'audiohook_outbox_dead_letters_total',
    help: 'Call records moved to the dead-letter stream, by cause',
    labelNames: ['cause'],
    registers,
  });
  for (const cause of DEAD_LETTER_CAUSES) dead.inc({ cause }, 0);
  const trimmed = new Counter({
    name: 'audiohook_outbox_trimmed_total',
    help: 'Outbox entries removed by the stream cap before they were delivered (lost)',
    registers,
  });
  const backlog = new Gauge({
    name: 'audiohook_outbox_memory_backlog',
    help: 'Call records held in memory because the outbox stream could not be written',
    registers,
  });
  new Gauge({
    name: 'audiohook_fleet_live_calls',
    help: 'Live calls across the fleet (every instance sharing REDIS_URL), as last refreshed by this instance',
    registers,
    collect() {
      const value = gauges()?.fleetLiveCalls();
      if (value !== undefined) this.set(value);
    },
  });
  new Gauge({
    name: 'audiohook_fleet_instances',
    help: 'Instances with a live heartbeat in the fleet registry',
    registers,
    collect() {
      const value = gauges()?.fleetInstances();
      if (value !== undefined) this.set(value);
    },
  });
  redisUp.set(0);
  return {
    redisUp: { set: (up) => redisUp.set(up ? 1 : 0) },
    nonceFallbacks: { inc: (cause) => fallbacks.inc({ cause }) },
    sessionIdUnchecked: { inc: (cause) => unchecked.inc({ cause }) },
    outboxDeadLetters: { inc: (cause) => dead.inc({ cause }) },
    outboxTrimmed: { inc: (by = 1) => trimmed.inc(by) },
    outboxBacklog: { set: (n) => backlog.set(n) },
  };
}
