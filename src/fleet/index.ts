/**
 * Fleet mode, turned on by REDIS_URL: the shared replay cache, the durable outbox, the live-call registry
 * and their Valkey/Redis connections, built and torn down together. The composition root (src/cli/serve.ts)
 * hands the pieces to the server (nonce store, admission/registration hooks) and uses the outbox as the
 * call-record sink instead of the file spool.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SpoolMetrics } from '../bridge/spool.js';
import type { CallRecordSink } from '../bridge/webhook.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { FleetEnv } from './env.js';
import { createFleetMetrics, type FleetMetrics } from './metrics.js';
import { createSharedNonceStore, type SharedNonceStore } from './nonce-store.js';
import { createRedisOutbox, type RedisOutbox } from './outbox.js';
import { connectInBackground, createRedisClient, destroyQuietly, redactedRedisTarget, redisCaFromEnv, serverSupportsFleet, type RedisClient } from './redis.js';
import { createFleetRegistry, type FleetRegistry } from './registry.js';

export type { FleetEnv } from './env.js';
export { fleetEnvShape } from './env.js';
export type { RedisOutbox } from './outbox.js';
export type { FleetRegistry } from './registry.js';

/** How long start-up waits for the first connection before serving degraded (and connecting on). */
const FIRST_CONNECT_WAIT_MS = 5_000;

export interface Fleet {
  instanceId: string;
  /** REDIS_KEY_PREFIX: every key and channel of this deployment starts with it. */
  prefix: string;
  /** A new connection to the same server, same TLS and reconnect policy, not connected yet (the caller owns it). */
  openConnection(purpose: string): RedisClient;
  nonceStore: SharedNonceStore;
  registry: FleetRegistry;
  /** Present when a webhook sink was given. */
  outbox?: RedisOutbox;
  /** Live calls across the fleet, read now (undefined when Valkey cannot be read). */
  liveCalls(): Promise<number | undefined>;
  /** Stop claiming, finish deliveries, release the consumer, deregister, close the connections. */
  close(): Promise<void>;
}

export interface StartFleetOptions {
  logger: Logger;
  /** The /metrics registry and the delivery series shared with the file spool. */
  metrics?: { registry: Registry } & SpoolMetrics;
  /** The webhook sender: with it, the outbox is built and started. */
  sender?: CallRecordSink;
  clock?: Clock;
  /** Outbox deliveries in flight per instance (default 4). */
  outboxConcurrency?: number;
  heartbeatIntervalMs?: number;
  heartbeatTtlMs?: number;
}

export function defaultInstanceId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 60) || 'host';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export async function startFleet(env: FleetEnv & { REDIS_URL: string }, options: StartFleetOptions): Promise<Fleet> {
  const logger = options.logger.child({ component: 'fleet' });
  const clock = options.clock ?? systemClock;
  const instanceId = env.INSTANCE_ID ?? defaultInstanceId();
  const prefix = env.REDIS_KEY_PREFIX;
  const ca = redisCaFromEnv(env);
  let registry: FleetRegistry | undefined;
  const fleetMetrics: FleetMetrics | undefined = options.metrics ? createFleetMetrics(options.metrics.registry, () => registry) : undefined;

  let nonceStore: SharedNonceStore | undefined;
  const redis = createRedisClient({
    url: env.REDIS_URL,
    ...(ca ? { ca } : {}),
    logger,
    name: `audiohook-${instanceId}`.slice(0, 120),
    onReadyChange: (ready) => {
      fleetMetrics?.redisUp.set(ready);
      if (ready) void nonceStore?.backfill().catch(() => undefined);
    },
  });
  const reader = redis.duplicate() as RedisClient;
  reader.on('error', (err: Error) => logger.debug({ err: { message: err.message } }, 'redis reader connection problem'));

  const connected = await connectInBackground(redis, FIRST_CONNECT_WAIT_MS, logger);
  if (!connected) {
    logger.warn({ target: redactedRedisTarget(env.REDIS_URL) }, 'Valkey/Redis not reachable at start-up: serving degraded, still connecting');
  } else {
    const support = serverSupportsFleet(await redis.info('server').catch(() => ''));
    // Not fatal: nonces and the registry work on any version; only taking over a dead instance's records needs XAUTOCLAIM.
    if (!support.ok) logger.error({ version: support.version }, 'Valkey/Redis is older than 6.2: the outbox cannot take over entries (XAUTOCLAIM)');
  }
  void connectInBackground(reader, 0, logger);

  nonceStore = createSharedNonceStore({ redis, prefix, instanceId, clock, logger, ...(fleetMetrics ? { metrics: fleetMetrics } : {}) });
  registry = createFleetRegistry({
    redis,
    prefix,
    instanceId,
    logger,
    metrics: fleetMetrics,
    ...(env.MAX_FLEET_SESSIONS !== undefined ? { maxFleetSessions: env.MAX_FLEET_SESSIONS } : {}),
    ...(options.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    ...(options.heartbeatTtlMs !== undefined ? { heartbeatTtlMs: options.heartbeatTtlMs } : {}),
  });
  registry.start();
  const fleetRegistry = registry;

  const outbox = options.sender
    ? createRedisOutbox({
        redis,
        reader,
        prefix,
        instanceId,
        inner: options.sender,
        logger: logger.child({ component: 'outbox' }),
        ...(options.metrics ? { metrics: { ...options.metrics, ...fleetMetrics } } : {}),
        claimIdleMs: env.OUTBOX_CLAIM_IDLE_MS,
        maxAttempts: env.OUTBOX_MAX_ATTEMPTS,
        maxLen: env.OUTBOX_MAX_LEN,
        provisionalGraceMs: env.OUTBOX_PROVISIONAL_GRACE_MS,
        isInstanceAlive: (id) => fleetRegistry.isInstanceAlive(id),
        ...(options.outboxConcurrency !== undefined ? { concurrency: options.outboxConcurrency } : {}),
      })
    : undefined;
  await outbox?.start();
  logger.info(
    { instanceId, target: redactedRedisTarget(env.REDIS_URL), prefix, outbox: outbox !== undefined, maxFleetSessions: env.MAX_FLEET_SESSIONS },
    'fleet mode: shared nonce cache, live-call registry' + (outbox ? ' and durable outbox' : ''),
  );

  let closing: Promise<void> | undefined;
  return {
    instanceId,
    prefix,
    openConnection: (purpose) =>
      createRedisClient({ url: env.REDIS_URL, ...(ca ? { ca } : {}), logger, name: `audiohook-${instanceId}`.slice(0, 100) + `-${purpose}`.slice(0, 20) }),
    nonceStore,
    registry: fleetRegistry,
    ...(outbox ? { outbox } : {}),
    liveCalls: () => fleetRegistry.readFleetLiveCalls(),
    close() {
      closing ??= (async () => {
        if (outbox) await outbox.close();
        else destroyQuietly(reader);
        await fleetRegistry.close();
        if (redis.isReady) await redis.close().catch(() => destroyQuietly(redis));
        else destroyQuietly(redis);
        logger.info({ instanceId }, 'fleet mode closed');
      })();
      return closing;
    },
  };
}
