/**
 * The shared replay cache and the live-call registry against a real redis-server (test/support/redis.ts):
 * a nonce is claimed once across instances; with the server gone, the local cache decides (metric) and a
 * replay to the same instance is still refused; nonces accepted meanwhile are written back on recovery.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createFleetMetrics } from '../../src/fleet/metrics.js';
import { createSharedNonceStore, nonceKey } from '../../src/fleet/nonce-store.js';
import { admitUnderFleetCap, createFleetRegistry } from '../../src/fleet/registry.js';
import { systemClock } from '../../src/util/clock.js';
import { startRedis, stopAllRedis, type RedisServer } from '../support/redis.js';
import { connectClient, destroyClients, silent, waitFor } from './support.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterEach(() => destroyClients());
afterAll(async () => {
  await server?.stop();
  stopAllRedis();
});

const ids = (sessionId: string) => ({ sessionId, correlationId: 'c', organizationId: 'o' });

describe('shared nonce store', () => {
  it('claims a nonce once across instances, for the TTL', async () => {
    const prefix = `t${Date.now()}`;
    const a = createSharedNonceStore({ redis: await connectClient(server.url), prefix, instanceId: 'a', clock: systemClock, logger: silent, ttlMs: 400 });
    const b = createSharedNonceStore({ redis: await connectClient(server.url), prefix, instanceId: 'b', clock: systemClock, logger: silent, ttlMs: 400 });
    expect(await a.remember('nonce-1')).toBe(true);
    expect(await b.remember('nonce-1')).toBe(false); // replayed to another instance
    expect(await a.remember('nonce-1')).toBe(false); // replayed to the same one
    expect(await b.remember('nonce-2')).toBe(true);
    const raw = await connectClient(server.url);
    const ttl = await raw.pTTL(nonceKey(prefix, 'nonce-1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(400);
  });

  it('Valkey down: falls back to the local cache (metric), still refuses a same-instance replay, backfills on recovery', async () => {
    const own = await startRedis();
    try {
      const registry = new Registry();
      const metrics = createFleetMetrics(registry, () => undefined);
      const redis = await connectClient(own.url);
      const store = createSharedNonceStore({ redis, prefix: 'p', instanceId: 'a', clock: systemClock, logger: silent, metrics, ttlMs: 60_000 });
      expect(await store.remember('before')).toBe(true);
      await own.kill();
      await waitFor(() => !redis.isReady, 'the client to notice');
      expect(await store.remember('during')).toBe(true);
      expect(await store.remember('during')).toBe(false);
      const text = await registry.metrics();
      expect(text).toMatch(/audiohook_nonce_shared_fallbacks_total\{cause="unreachable"\} 1/);

      await own.restart();
      await waitFor(() => redis.isReady, 'reconnect', 15_000);
      expect(await store.backfill()).toBe(1);
      // Another instance now sees the nonce accepted during the outage.
      const other = createSharedNonceStore({ redis: await connectClient(own.url), prefix: 'p', instanceId: 'b', clock: systemClock, logger: silent });
      expect(await other.remember('during')).toBe(false);
      expect(await other.remember('fresh')).toBe(true);
    } finally {
      await own.stop();
    }
  });

  it('Valkey hanging: the check gives up after its timeout and decides locally (counted as timeout)', async () => {
    const own = await startRedis();
    try {
      const registry = new Registry();
      const metrics = createFleetMetrics(registry, () => undefined);
      const redis = await connectClient(own.url);
      const store = createSharedNonceStore({ redis, prefix: 'h', instanceId: 'a', clock: systemClock, logger: silent, metrics, timeoutMs: 200 });
      own.pause();
      const started = performance.now();
      expect(await store.remember('hung')).toBe(true);
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(190);
      expect(took).toBeLessThan(2000);
      expect(await store.remember('hung')).toBe(false); // local cache still refuses the replay
      expect(await registry.metrics()).toMatch(/audiohook_nonce_shared_fallbacks_total\{cause="timeout"\} 1/);
      own.resume();
    } finally {
      await own.stop();
    }
  });
});

describe('fleet registry', () => {
  it("admission is the cached fleet count plus this instance's net change since, against the cap", () => {
    expect(admitUnderFleetCap(undefined, 100, 5)).toBe(true);
    expect(admitUnderFleetCap(10, undefined, 50)).toBe(true); // figure unknown: not enforced
    expect(admitUnderFleetCap(10, 8, 1)).toBe(true);
    expect(admitUnderFleetCap(10, 8, 2)).toBe(false);
    expect(admitUnderFleetCap(10, 10, 0)).toBe(false);
    expect(admitUnderFleetCap(10, 10, -1)).toBe(true); // a call ended here since
  });

  it('counts live calls across instances, forgets a dead instance after its TTL, enforces MAX_FLEET_SESSIONS', async () => {
    const prefix = `r${Date.now()}`;
    const make = async (instanceId: string) =>
      createFleetRegistry({ redis: await connectClient(server.url), prefix, instanceId, logger: silent, maxFleetSessions: 3, heartbeatIntervalMs: 100, heartbeatTtlMs: 600 });
    const a = await make('a');
    const b = await make('b');
    a.start();
    b.start();
    a.sessionStarted(ids('s1'));
    a.sessionStarted(ids('s2'));
    b.sessionStarted(ids('s3'));
    await waitFor(async () => (await b.readFleetLiveCalls()) === 3, 'three live calls');
    expect(await a.isInstanceAlive('b')).toBe(true);
    await b.heartbeat();
    expect(b.admit()).toBe(false); // 3 of 3
    expect(b.fleetInstances()).toBe(2);
    a.sessionEnded(ids('s1'));
    await waitFor(async () => (await b.readFleetLiveCalls()) === 2, 'a call ended');
    expect(b.admit()).toBe(true);
    b.sessionStarted(ids('s4'));
    expect(b.admit()).toBe(false); // counted locally before the next heartbeat

    // a closes cleanly: deregistered at once.
    await a.close();
    await waitFor(async () => (await b.readFleetLiveCalls()) === 2, "a's call removed on close");
    expect(await b.isInstanceAlive('a')).toBe(false);

    // c crashes (its connection dies, no deregistration): its call and its liveness expire after the TTL.
    const cRedis = await connectClient(server.url);
    const c = createFleetRegistry({ redis: cRedis, prefix, instanceId: 'c', logger: silent, heartbeatIntervalMs: 100, heartbeatTtlMs: 600 });
    c.start();
    c.sessionStarted(ids('s5'));
    await waitFor(async () => (await b.readFleetLiveCalls()) === 3, 'c registered');
    expect(await b.isInstanceAlive('c')).toBe(true);
    cRedis.destroy();
    await waitFor(async () => (await b.readFleetLiveCalls()) === 2, "c's call expired", 5_000);
    expect(await b.isInstanceAlive('c')).toBe(false);
    await c.close();
    await b.close();
  });
});
