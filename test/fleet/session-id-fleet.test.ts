/**
 * Fleet mode (REDIS_URL): a live Audiohook-Session-Id is refused (400) by every instance, not only the one
 * serving it. Two app servers, each with its own fleet registry and Valkey connection (distinct instance
 * ids, one prefix), against a real redis-server (test/support/redis.ts). Valkey unreachable: calls are not
 * refused (fail open), the fallback is counted and a duplicate on the same instance is still refused.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/cli/env.js';
import { serve, type Service } from '../../src/cli/serve.js';
import { startEmulator } from '../../src/emulator/server.js';
import { createFleetMetrics } from '../../src/fleet/metrics.js';
import { createFleetRegistry, type FleetRegistry } from '../../src/fleet/registry.js';
import { sessionIdKey } from '../../src/fleet/session-id-claims.js';
import type { AppServer } from '../../src/server/http.js';
import { localSessionIds } from '../../src/server/session-ids.js';
import { ConnectError, createSimulatedCall } from '../../src/simulator/genesys-client.js';
import { newIds, RawClient, signedHeaders, startApp, upgrade, WAIT_MS, type Ids } from '../server/support.js';
import { startRedis, stopAllRedis, type RedisServer } from '../support/redis.js';
import { connectClient, destroyClients, silent, waitFor } from './support.js';

let server: RedisServer;
const apps: AppServer[] = [];
const registries: FleetRegistry[] = [];
const clients: RawClient[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await Promise.all(apps.splice(0).map((app) => app.close({ politeEndWaitMs: 500, socketCloseWaitMs: 200 })));
  await Promise.all(registries.splice(0).map((r) => r.close()));
  destroyClients();
});
afterAll(async () => {
  await server?.stop();
  stopAllRedis();
});

/** One instance: an app server whose session ids are claimed through its fleet registry. */
async function instance(url: string, name: string, prefix: string, extra: { heartbeatIntervalMs?: number; heartbeatTtlMs?: number } = {}) {
  const redis = await connectClient(url, name);
  const metricsRegistry = new Registry();
  const metrics = createFleetMetrics(metricsRegistry, () => undefined);
  const registry = createFleetRegistry({ redis, prefix, instanceId: name, logger: silent, metrics, ...extra });
  registry.start();
  registries.push(registry);
  const started = await startApp({}, { sessionIds: registry.sessionIds(localSessionIds()), fleet: registry });
  apps.push(started.app);
  return { ...started, redis, registry, metrics: () => metricsRegistry.metrics() };
}

async function openCall(port: number, ids: Ids): Promise<RawClient> {
  const client = await RawClient.connect(port, '/audiohook', ids);
  clients.push(client);
  await client.open();
  return client;
}

const again = (port: number, ids: Ids) => upgrade(port, '/audiohook', signedHeaders(port, { ...ids, correlationId: randomUUID() }));

describe('fleet: a live session id is refused on every instance', () => {
  it('a duplicate on another instance gets 400 with a reason; the live call is untouched; the id is free again after it ends', async () => {
    const prefix = `dup${Date.now()}`;
    const a = await instance(server.url, 'inst-a', prefix);
    const b = await instance(server.url, 'inst-b', prefix);
    const ids = newIds();
    const first = await openCall(a.port, ids);

    const onB = await again(b.port, ids);
    expect(onB).toMatchObject({ kind: 'rejected', status: 400 });
    expect((onB as { body: string }).body).toMatch(/Audiohook-Session-Id is already in use by a live session/);
    expect(b.logs.some((l) => l.includes('session id already live'))).toBe(true);
    // Uppercase is the same id.
    const upper = await again(b.port, { ...ids, sessionId: ids.sessionId.toUpperCase() });
    expect(upper).toMatchObject({ kind: 'rejected', status: 400 });
    // Still refused on its own instance too.
    expect(await again(a.port, ids)).toMatchObject({ kind: 'rejected', status: 400 });
    first.send('ping');
    await first.waitFor(() => first.types.includes('pong'), 'pong on the live call');
    expect(a.app.activeSessions()).toBe(1);
    expect(b.app.activeSessions()).toBe(0);

    first.send('close', { reason: 'end' });
    await first.waitFor(() => first.types.includes('closed'), 'closed');
    await expect.poll(() => a.app.activeSessions(), { timeout: WAIT_MS }).toBe(0);
    const raw = await connectClient(server.url);
    await waitFor(async () => (await raw.exists(sessionIdKey(prefix, ids.sessionId.toLowerCase()))) === 0, 'the claim deleted');
    const later = await upgrade(b.port, '/audiohook', signedHeaders(b.port, ids));
    expect(later.kind).toBe('open');
    if (later.kind === 'open') later.ws.terminate();
  });

  it('the claim outlives its TTL while the call is live: the heartbeat refreshes it', async () => {
    const prefix = `ttl${Date.now()}`;
    const timing = { heartbeatIntervalMs: 150, heartbeatTtlMs: 600 };
    const a = await instance(server.url, 'inst-a', prefix, timing);
    const b = await instance(server.url, 'inst-b', prefix, timing);
    const ids = newIds();
    await openCall(a.port, ids);
    const raw = await connectClient(server.url);
    const key = sessionIdKey(prefix, ids.sessionId.toLowerCase());
    const ttl = await raw.pTTL(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await raw.get(key)).toBe('inst-a');
    expect(await again(b.port, ids)).toMatchObject({ kind: 'rejected', status: 400 });
  });

  it('a registry closing (instance shutdown) deletes its claims', async () => {
    const prefix = `close${Date.now()}`;
    const a = await instance(server.url, 'inst-a', prefix);
    const ids = newIds();
    await openCall(a.port, ids);
    const raw = await connectClient(server.url);
    const key = sessionIdKey(prefix, ids.sessionId.toLowerCase());
    expect(await raw.get(key)).toBe('inst-a');
    await a.registry.close();
    expect(await raw.exists(key)).toBe(0);
  });

  it('Valkey unreachable: calls are not refused (counted, logged); a duplicate on the same instance still is', async () => {
    const own = await startRedis();
    try {
      const prefix = `down${Date.now()}`;
      const a = await instance(own.url, 'inst-a', prefix);
      const b = await instance(own.url, 'inst-b', prefix);
      await own.kill();
      await waitFor(() => !a.redis.isReady && !b.redis.isReady, 'the clients to notice');
      const ids = newIds();
      await openCall(a.port, ids);
      // B cannot know: it lets the call in rather than refusing calls for a cache outage.
      const onB = await again(b.port, ids);
      expect(onB.kind).toBe('open');
      if (onB.kind === 'open') onB.ws.terminate();
      expect(await again(a.port, ids)).toMatchObject({ kind: 'rejected', status: 400 });
      expect(await a.metrics()).toMatch(/audiohook_fleet_session_id_unchecked_total\{cause="unreachable"\} 1/);
      expect(await b.metrics()).toMatch(/audiohook_fleet_session_id_unchecked_total\{cause="unreachable"\} 1/);

      // Back: the live call's claim is written by the next heartbeat, and B refuses the id again.
      await own.restart();
      await waitFor(() => a.redis.isReady, 'reconnect', 15_000);
      await a.registry.heartbeat();
      const raw = await connectClient(own.url);
      expect(await raw.get(sessionIdKey(prefix, ids.sessionId.toLowerCase()))).toBe('inst-a');
      expect(await again(b.port, ids)).toMatchObject({ kind: 'rejected', status: 400 });
    } finally {
      await own.stop();
    }
  }, 40_000);
});

describe('fleet: the production composition (serve with REDIS_URL)', () => {
  it('two instances sharing REDIS_URL: the second refuses a session id live on the first with 400', async () => {
    const emulator = await startEmulator({
      script: { name: 'dup', greeting: { audio: { toneMs: 200 }, transcript: 'Hello.' }, turns: [], textCues: [], fallback: { audio: { toneMs: 200 }, transcript: 'Sorry?' } },
      speed: 'instant',
      logger: silent,
    });
    const services: Service[] = [];
    const calls: Array<{ terminate(): void }> = [];
    const prefix = `serve${Date.now()}`;
    try {
      const start = (name: string) =>
        serve(
          parseEnv({
            GENESYS_API_KEY: 'fleet-dup-api-key-0123456789',
            OPENAI_API_KEY: 'sk-emulator',
            OPENAI_BASE_URL: emulator.baseURL,
            REALTIME_CA_FILE: emulator.caPath,
            PORT: '0',
            HOST: '127.0.0.1',
            REDIS_URL: server.url,
            REDIS_KEY_PREFIX: prefix,
            INSTANCE_ID: name,
          }),
          { logger: silent, handleSignals: false },
        );
      services.push(await start('serve-a'));
      services.push(await start('serve-b'));
      const [a, b] = services as [Service, Service];
      const url = (s: Service) => `ws://127.0.0.1:${s.server.port}/audiohook/bot`;
      const sessionId = randomUUID();
      const first = await createSimulatedCall({ url: url(a), apiKey: 'fleet-dup-api-key-0123456789', sessionId });
      calls.push(first);
      const refused = await createSimulatedCall({ url: url(b), apiKey: 'fleet-dup-api-key-0123456789', sessionId }).then(
        (c) => {
          calls.push(c);
          return undefined;
        },
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(ConnectError);
      expect((refused as ConnectError).status).toBe(400);
      // Another id is welcome on B.
      calls.push(await createSimulatedCall({ url: url(b), apiKey: 'fleet-dup-api-key-0123456789', sessionId: randomUUID() }));
    } finally {
      for (const c of calls) c.terminate();
      for (const s of services) await s.server.stop(0);
      await emulator.close();
    }
  }, 40_000);
});
