/**
 * `npm run bench:nonce`: what the fleet-wide replay check (REDIS_URL) adds to a signed AudioHook upgrade.
 *
 * One process, all on 127.0.0.1: the real HTTP server (createAppServer, no call logic) and a real
 * redis-server started here (Debian `redis-server`, random port, no persistence). Sequential signed
 * upgrades, each a fresh nonce, measured from the request to the WebSocket `open` (101), alternating
 * between a server with the in-memory cache (the embedded default) and a server with the shared store,
 * so machine noise hits both alike. Also the shared `remember()` as timed inside those upgrades, and alone
 * (back-to-back SET NX PX round trips). Prints the load average: on a shared machine it dominates the tail.
 * Prints p50/p90/p99/max in ms; writes nothing. Flags: --upgrades N (default 1000 per configuration).
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import WebSocket from 'ws';
import { signRequest } from '../src/audiohook/signature.js';
import { parseEnv } from '../src/cli/env.js';
import { createSharedNonceStore } from '../src/fleet/nonce-store.js';
import { createRedisClient, destroyQuietly } from '../src/fleet/redis.js';
import { createAppServer, type AppServer } from '../src/server/http.js';
import type { NonceStore } from '../src/server/nonce-cache.js';
import { systemClock } from '../src/util/clock.js';
import { startRedis, stopAllRedis } from '../test/support/redis.js';
import { percentiles } from './stats.js';

const API_KEY = 'bench-nonce-key-0123456789';
const SECRET = Buffer.from('bench secret for the nonce check, 32b').toString('base64');
const argIndex = process.argv.indexOf('--upgrades');
const UPGRADES = argIndex > 0 ? Number(process.argv[argIndex + 1]) : 1000;
const WARMUP = 100;
const logger = pino({ level: 'silent' });

async function startServer(nonceStore?: NonceStore): Promise<{ app: AppServer; port: number }> {
  const env = parseEnv({ GENESYS_API_KEY: API_KEY, GENESYS_CLIENT_SECRET: SECRET, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MAX_SESSIONS: '100000' });
  const app = createAppServer({ env, logger, ...(nonceStore ? { nonceStore } : {}) });
  const { port } = await app.listen();
  return { app, port };
}

function upgradeOnce(port: number): Promise<number> {
  const ids = { organizationId: randomUUID(), sessionId: randomUUID(), correlationId: randomUUID() };
  const signed = signRequest({ path: '/audiohook', authority: `127.0.0.1:${port}`, ...ids, apiKey: API_KEY, clientSecretBase64: SECRET });
  const headers = {
    'Audiohook-Organization-Id': ids.organizationId,
    'Audiohook-Session-Id': ids.sessionId,
    'Audiohook-Correlation-Id': ids.correlationId,
    'X-API-KEY': API_KEY,
    Signature: signed.signature,
    'Signature-Input': signed.signatureInput,
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/audiohook`, { headers, perMessageDeflate: false });
    ws.once('open', () => {
      const ms = performance.now() - started;
      ws.terminate();
      resolve(ms);
    });
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const client = createRedisClient({ url: redis.url, logger, name: 'bench' });
  await client.connect();
  const shared = createSharedNonceStore({ redis: client, prefix: 'bench', instanceId: 'bench', clock: systemClock, logger });
  const local = await startServer();
  const inUpgrade: number[] = [];
  const timed: NonceStore = {
    async remember(nonce) {
      const t = performance.now();
      const fresh = await shared.remember(nonce);
      inUpgrade.push(performance.now() - t);
      return fresh;
    },
  };
  const fleet = await startServer(timed);
  try {
    const localMs: number[] = [];
    const sharedMs: number[] = [];
    for (let i = 0; i < WARMUP; i++) {
      await upgradeOnce(local.port);
      await upgradeOnce(fleet.port);
    }
    for (let i = 0; i < UPGRADES; i++) {
      localMs.push(await upgradeOnce(local.port));
      sharedMs.push(await upgradeOnce(fleet.port));
    }
    const rememberMs: number[] = [];
    for (let i = 0; i < UPGRADES; i++) {
      const t = performance.now();
      await shared.remember(randomUUID());
      rememberMs.push(performance.now() - t);
    }
    const a = percentiles(localMs)!;
    const b = percentiles(sharedMs)!;
    const r = percentiles(rememberMs)!;
    const u = percentiles(inUpgrade.slice(WARMUP))!;
    const row = (name: string, p: typeof a) => `| ${name} | ${p.count} | ${p.p50.toFixed(3)} | ${p.p90.toFixed(3)} | ${p.p99.toFixed(3)} | ${p.max.toFixed(3)} |`;
    process.stdout.write(
      [
        `signed upgrade → 101 (ms), ${UPGRADES} each, alternating; redis-server on loopback; ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
        '| | n | p50 | p90 | p99 | max |',
        '|---|---|---|---|---|---|',
        row('in-memory nonce cache (default)', a),
        row('shared nonce check (REDIS_URL)', b),
        row('shared remember() inside the upgrade', u),
        row('shared remember() alone, back to back', r),
        `added by the shared check: p50 ${(b.p50 - a.p50).toFixed(3)} ms, p99 ${(b.p99 - a.p99).toFixed(3)} ms`,
        '',
      ].join('\n'),
    );
  } finally {
    await local.app.close();
    await fleet.app.close();
    destroyQuietly(client);
    await redis.stop();
    stopAllRedis();
  }
}

main().catch((err: unknown) => {
  stopAllRedis();
  process.stderr.write(`bench:nonce failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
