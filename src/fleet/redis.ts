/**
 * The connection to the shared Valkey/Redis (node-redis v6): TLS with an optional private CA, reconnect
 * with capped exponential backoff, a keepalive PING below the managed service's 300 s idle timeout, and
 * fail-fast commands while disconnected (callers decide what a failure means; nothing waits in a queue).
 */
import { readFileSync } from 'node:fs';
import { createClient, type RedisClientType } from 'redis';
import type { Logger } from 'pino';
import type { FleetEnv } from './env.js';

export type RedisClient = RedisClientType;

/** Managed Valkey closes connections idle for 300 s (`valkey_timeout`); ping well inside that. */
export const PING_INTERVAL_MS = 60_000;
export const CONNECT_TIMEOUT_MS = 5_000;
const RECONNECT_BASE_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/** Delay before reconnect attempt `retries` (0-based): 100 ms doubling to 5 s, minus up to 20 % jitter. */
export function reconnectDelayMs(retries: number, random: () => number = Math.random): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(retries, 16));
  return Math.round(base * (1 - 0.2 * random()));
}

export class FleetConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetConfigError';
  }
}

/** The CA to trust for rediss://, from REDIS_CA_CERT (PEM text) or REDIS_CA_FILE; undefined: system CAs. */
export function redisCaFromEnv(env: Pick<FleetEnv, 'REDIS_CA_FILE' | 'REDIS_CA_CERT'>): string | undefined {
  if (env.REDIS_CA_CERT) {
    if (!env.REDIS_CA_CERT.includes('-----BEGIN CERTIFICATE-----')) {
      throw new FleetConfigError('REDIS_CA_CERT must be a PEM certificate (-----BEGIN CERTIFICATE-----)');
    }
    return env.REDIS_CA_CERT;
  }
  if (!env.REDIS_CA_FILE) return undefined;
  let text: string;
  try {
    text = readFileSync(env.REDIS_CA_FILE, 'utf8');
  } catch (err) {
    throw new FleetConfigError(`REDIS_CA_FILE ${env.REDIS_CA_FILE} cannot be read: ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new FleetConfigError(`REDIS_CA_FILE ${env.REDIS_CA_FILE} is not a PEM certificate`);
  }
  return text;
}

/** Host of a redis URL without credentials, for logs. */
export function redactedRedisTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(unparsable URL)';
  }
}

export interface RedisConnectionOptions {
  url: string;
  ca?: string;
  logger: Logger;
  /** Called on every change of readiness (connected and handshaken, or not). */
  onReadyChange?: (ready: boolean) => void;
  name: string;
}

/**
 * Creates a client (not connected yet). Errors are logged (never thrown as 'error' events, which would
 * crash the process), at warn for the first of a run of failures and debug for the rest.
 */
export function createRedisClient(options: RedisConnectionOptions): RedisClient {
  const tls = options.url.startsWith('rediss://');
  let failing = false;
  const client = createClient({
    url: options.url,
    name: options.name,
    disableOfflineQueue: true,
    pingInterval: PING_INTERVAL_MS,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      reconnectStrategy: (retries: number) => reconnectDelayMs(retries),
      ...(tls ? { tls: true as const, ...(options.ca ? { ca: options.ca } : {}) } : {}),
    },
  }) as RedisClient;
  client.on('error', (err: Error) => {
    const log = { err: { message: err.message }, target: redactedRedisTarget(options.url), connection: options.name };
    if (!failing) options.logger.warn(log, 'redis connection problem; reconnecting with backoff');
    else options.logger.debug(log, 'redis connection problem');
    failing = true;
  });
  client.on('ready', () => {
    if (failing) options.logger.info({ target: redactedRedisTarget(options.url), connection: options.name }, 'redis connection restored');
    failing = false;
    options.onReadyChange?.(true);
  });
  client.on('end', () => options.onReadyChange?.(false));
  client.on('reconnecting', () => options.onReadyChange?.(false));
  return client;
}

/**
 * Connects, waiting at most `waitMs` for the first connection: an unreachable server at start-up must not
 * keep the instance from serving calls (it degrades, see nonce-store.ts and outbox.ts, and keeps retrying).
 */
export async function connectInBackground(client: RedisClient, waitMs: number, logger: Logger): Promise<boolean> {
  const connecting = client.connect().then(
    () => true,
    (err: unknown) => {
      logger.warn({ err: { message: (err as Error).message } }, 'redis connect failed');
      return false;
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), waitMs);
  });
  const ok = await Promise.race([connecting, timeout]);
  clearTimeout(timer);
  return ok;
}

/**
 * Whether the server's INFO reports a version with everything the fleet uses (XAUTOCLAIM: Redis 6.2;
 * Valkey reports a Redis-compatible `redis_version` ≥ 7.2). Unknown: assumed fine.
 */
export function serverSupportsFleet(info: string): { ok: boolean; version?: string } {
  const version = /^(?:valkey_version|redis_version):(\d+)\.(\d+)/m.exec(info);
  if (!version) return { ok: true };
  const [major, minor] = [Number(version[1]), Number(version[2])];
  const text = `${major}.${minor}`;
  return { ok: major > 6 || (major === 6 && minor >= 2), version: text };
}

/** Rejects after `ms` (the command itself is not cancelled; with the offline queue off it fails on its own). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Drops a connection now, whatever state it is in (destroy() throws on a client that is already closed). */
export function destroyQuietly(client: RedisClient): void {
  try {
    client.destroy();
  } catch {
    // already closed
  }
}
