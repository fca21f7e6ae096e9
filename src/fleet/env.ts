/**
 * Environment variables of the fleet mode (several instances sharing one Valkey/Redis). Without
 * REDIS_URL none of this is used: nonce cache in memory, summary spool on disk, exactly as before.
 */
import { z } from 'zod';
import { intInRange, msInRange } from '../config/env-fields.js';

export const DEFAULT_KEY_PREFIX = 'audiohook';

export const fleetEnvShape = {
  /**
   * `redis://` or `rediss://` (TLS) URL of the shared Valkey/Redis. On App Platform bind it:
   * `REDIS_URL: ${<db>.DATABASE_URL}` (a managed Valkey URL is `rediss://default:…@host:25061`).
   */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, { message: 'must be a redis:// or rediss:// URL' })
    .optional(),
  /** PEM file of the CA that signed the server's certificate (rediss:// to a private CA). */
  REDIS_CA_FILE: z.string().min(1).optional(),
  /** The same CA as PEM text, for platforms that inject it as a variable (App Platform `${<db>.CA_CERT}`). */
  REDIS_CA_CERT: z.string().min(1).optional(),
  /** Prefix of every key, so several deployments (or stages) can share one database. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'must be 1–64 characters of A-Z a-z 0-9 _ . : -' })
    .default(DEFAULT_KEY_PREFIX),
  /** This instance's stable name in the fleet (consumer name, live-call registry). Default: hostname-pid-random. */
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, { message: 'must be 1–100 characters of A-Z a-z 0-9 _ . -' })
    .optional(),
  /** Fleet-wide cap on live calls; above it upgrades get 503 (each instance's MAX_SESSIONS still applies). */
  MAX_FLEET_SESSIONS: intInRange(1, 10_000_000).optional(),
  /** An outbox entry pending this long on one instance (dead, or its attempt failed) is claimed by another. */
  OUTBOX_CLAIM_IDLE_MS: msInRange(1000, 3_600_000).default(60_000),
  /** Delivery attempts (claims) before an entry moves to the dead-letter stream. */
  OUTBOX_MAX_ATTEMPTS: intInRange(1, 1000).default(10),
  /** Cap on entries waiting in the outbox stream; beyond it a record gets one attempt and counts as dropped. */
  OUTBOX_MAX_LEN: intInRange(100, 10_000_000).default(100_000),
  /**
   * How long a provisional record waits for its final one while the instance that wrote it is alive (a
   * safety net, as the file spool's: every ending path delivers within SUMMARY_TIMEOUT_MS + FAREWELL_TIMEOUT_MS).
   */
  OUTBOX_PROVISIONAL_GRACE_MS: msInRange(1000, 3_600_000).default(180_000),
};

export const fleetEnvSchema = z.object(fleetEnvShape);
export type FleetEnv = z.infer<typeof fleetEnvSchema>;
