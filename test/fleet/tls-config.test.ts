/**
 * rediss:// with a private CA (REDIS_CA_FILE / REDIS_CA_CERT) against a real TLS redis-server, the fleet as
 * serve starts it (startFleet), and the settings' validation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/cli/env.js';
import { fleetEnvSchema } from '../../src/fleet/env.js';
import { startFleet } from '../../src/fleet/index.js';
import { redactedRedisTarget, reconnectDelayMs, redisCaFromEnv, serverSupportsFleet } from '../../src/fleet/redis.js';
import { REPO_ROOT } from '../support/cli.js';
import { startRedis, stopAllRedis } from '../support/redis.js';
import { silent } from './support.js';

const TLS = { certFile: join(REPO_ROOT, 'fixtures/tls/server.pem'), keyFile: join(REPO_ROOT, 'fixtures/tls/server-key.pem') };
const CA_FILE = join(REPO_ROOT, 'fixtures/tls/ca.pem');

afterAll(() => stopAllRedis());

const fleetEnv = (extra: Record<string, string>) => fleetEnvSchema.parse(extra);

describe('fleet settings', () => {
  it('parses defaults, and names the variable on a bad value', () => {
    const env = parseEnv({ GENESYS_API_KEY: 'k' });
    expect(env.REDIS_URL).toBeUndefined();
    expect(env).toMatchObject({ REDIS_KEY_PREFIX: 'audiohook', OUTBOX_CLAIM_IDLE_MS: 60_000, OUTBOX_MAX_ATTEMPTS: 10, OUTBOX_MAX_LEN: 100_000 });
    expect(() => parseEnv({ GENESYS_API_KEY: 'k', REDIS_URL: 'http://cache:6379' })).toThrow(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => parseEnv({ GENESYS_API_KEY: 'k', MAX_FLEET_SESSIONS: '0' })).toThrow(/MAX_FLEET_SESSIONS/);
    expect(() => parseEnv({ GENESYS_API_KEY: 'k', REDIS_KEY_PREFIX: 'a b' })).toThrow(/REDIS_KEY_PREFIX/);
    expect(() => parseEnv({ GENESYS_API_KEY: 'k', OUTBOX_CLAIM_IDLE_MS: '10' })).toThrow(/OUTBOX_CLAIM_IDLE_MS/);
    expect(parseEnv({ GENESYS_API_KEY: 'k', REDIS_URL: 'rediss://default:pw@db.example:25061' }).REDIS_URL).toBe('rediss://default:pw@db.example:25061');
  });

  it('reads the CA from REDIS_CA_CERT or REDIS_CA_FILE, naming the variable when it is unusable', () => {
    const pem = readFileSync(CA_FILE, 'utf8');
    expect(redisCaFromEnv({})).toBeUndefined();
    expect(redisCaFromEnv({ REDIS_CA_FILE: CA_FILE })).toBe(pem);
    expect(redisCaFromEnv({ REDIS_CA_CERT: pem, REDIS_CA_FILE: '/nowhere' })).toBe(pem);
    expect(() => redisCaFromEnv({ REDIS_CA_FILE: '/nowhere/ca.pem' })).toThrow(/REDIS_CA_FILE \/nowhere\/ca.pem cannot be read/);
    expect(() => redisCaFromEnv({ REDIS_CA_FILE: join(REPO_ROOT, 'package.json') })).toThrow(/REDIS_CA_FILE .* is not a PEM certificate/);
    expect(() => redisCaFromEnv({ REDIS_CA_CERT: 'nope' })).toThrow(/REDIS_CA_CERT must be a PEM certificate/);
  });

  it('never logs credentials; reconnect backoff doubles from 100 ms to a 5 s cap with jitter', () => {
    expect(redactedRedisTarget('rediss://default:secret@db.example:25061')).toBe('rediss://db.example:25061');
    expect(reconnectDelayMs(0, () => 0)).toBe(100);
    expect(reconnectDelayMs(3, () => 0)).toBe(800);
    expect(reconnectDelayMs(50, () => 0)).toBe(5000);
    expect(reconnectDelayMs(50, () => 0.999)).toBeGreaterThanOrEqual(4000);
  });

  it('checks the server version for XAUTOCLAIM (Redis 6.2, any Valkey)', () => {
    expect(serverSupportsFleet('# Server\r\nredis_version:7.0.15\r\n')).toEqual({ ok: true, version: '7.0' });
    expect(serverSupportsFleet('redis_version:6.2.14\r\n')).toEqual({ ok: true, version: '6.2' });
    expect(serverSupportsFleet('redis_version:6.0.16\r\n')).toEqual({ ok: false, version: '6.0' });
    expect(serverSupportsFleet('redis_version:7.2.4\r\nvalkey_version:8.1.0\r\n').ok).toBe(true);
    expect(serverSupportsFleet('')).toEqual({ ok: true });
  });
});

describe('test support', () => {
  it('fails loudly, naming the package, when redis-server is missing', async () => {
    const saved = process.env.REDIS_SERVER_BIN;
    process.env.REDIS_SERVER_BIN = '/nonexistent/redis-server';
    try {
      await expect(startRedis()).rejects.toThrow(/redis-server not found .*apt-get install redis-server/);
    } finally {
      if (saved === undefined) delete process.env.REDIS_SERVER_BIN;
      else process.env.REDIS_SERVER_BIN = saved;
    }
  });
});

describe('rediss:// to a TLS redis-server', () => {
  it('connects with the CA from REDIS_CA_FILE; the shared nonce check works over TLS', async () => {
    const server = await startRedis({ tls: TLS });
    try {
      const fleet = await startFleet({ ...fleetEnv({ REDIS_CA_FILE: CA_FILE, INSTANCE_ID: 'tls-a' }), REDIS_URL: server.url }, { logger: silent });
      const other = await startFleet({ ...fleetEnv({ REDIS_CA_CERT: readFileSync(CA_FILE, 'utf8'), INSTANCE_ID: 'tls-b' }), REDIS_URL: server.url }, { logger: silent });
      try {
        expect(await fleet.nonceStore.remember('tls-nonce')).toBe(true);
        expect(await other.nonceStore.remember('tls-nonce')).toBe(false);
        fleet.registry.sessionStarted({ sessionId: 's', correlationId: 'c', organizationId: 'o' });
        expect(await other.liveCalls()).toBe(1);
      } finally {
        await fleet.close();
        await other.close();
      }
    } finally {
      await server.stop();
    }
  }, 20_000);

  it('without the CA the server is not trusted: start-up does not hang, upgrades fall back to the local check', async () => {
    const server = await startRedis({ tls: TLS });
    try {
      const started = Date.now();
      const fleet = await startFleet({ ...fleetEnv({ INSTANCE_ID: 'tls-untrusted' }), REDIS_URL: server.url }, { logger: silent });
      try {
        expect(Date.now() - started).toBeLessThan(7_000);
        expect(await fleet.nonceStore.remember('n')).toBe(true);
        expect(await fleet.nonceStore.remember('n')).toBe(false);
        expect(await fleet.liveCalls()).toBeUndefined();
      } finally {
        await fleet.close();
      }
    } finally {
      await server.stop();
    }
  }, 20_000);
});
