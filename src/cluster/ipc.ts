/**
 * Messages between the primary and its workers over the cluster IPC channel (JSON serialisation). Both ends
 * are this program, but a message is still parsed at the edge: anything else on the channel (prom-client's
 * own, a future version's) is ignored, never trusted.
 */
import { z } from 'zod';
import { MAX_CONSOLE_EVENT_CHARS } from './console-relay.js';

const PREFIX = 'audiohook:';

export const workerToPrimarySchema = z.discriminatedUnion('type', [
  /** Record a signature nonce instance-wide; the primary answers `nonce-result`. */
  z.object({ type: z.literal(`${PREFIX}nonce`), id: z.number().int(), nonce: z.string().min(1).max(16_384) }), // within Node's 16 KiB header limit
  /** Claim a live Audiohook-Session-Id (lowercased UUID) instance-wide; the primary answers `session-claim-result`. */
  z.object({ type: z.literal(`${PREFIX}session-claim`), id: z.number().int(), sessionId: z.string().min(1).max(128) }),
  /** The session (or its handshake) ended: the id may be used again. No answer. */
  z.object({ type: z.literal(`${PREFIX}session-release`), sessionId: z.string().min(1).max(128) }),
  /** A worker's /metrics: the primary aggregates every worker's registry and answers `metrics-text`. */
  z.object({ type: z.literal(`${PREFIX}metrics`), id: z.number().int() }),
  /** A worker's answer to `metrics-collect`: its registries as prom-client JSON. */
  z.object({ type: z.literal(`${PREFIX}metrics-json`), id: z.number().int(), metrics: z.array(z.unknown()) }),
  /** A CallEvent of this worker for the other workers' consoles (JSON; parsed by the receiving worker). */
  z.object({ type: z.literal(`${PREFIX}console-event`), event: z.string().max(MAX_CONSOLE_EVENT_CHARS) }),
  /** The worker closed its server and is about to exit; the primary answers `left` (see leavePrimary). */
  z.object({ type: z.literal(`${PREFIX}leaving`), id: z.number().int() }),
]);
export type WorkerToPrimary = z.infer<typeof workerToPrimarySchema>;

export const primaryToWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal(`${PREFIX}nonce-result`), id: z.number().int(), fresh: z.boolean() }),
  z.object({ type: z.literal(`${PREFIX}session-claim-result`), id: z.number().int(), claimed: z.boolean() }),
  z.object({ type: z.literal(`${PREFIX}metrics-text`), id: z.number().int(), text: z.string(), contentType: z.string() }),
  z.object({ type: z.literal(`${PREFIX}metrics-collect`), id: z.number().int() }),
  z.object({ type: z.literal(`${PREFIX}left`), id: z.number().int() }),
  /** Another worker's CallEvent, relayed (src/cluster/console-relay.ts). */
  z.object({ type: z.literal(`${PREFIX}console-event`), event: z.string().max(MAX_CONSOLE_EVENT_CHARS) }),
]);
export type PrimaryToWorker = z.infer<typeof primaryToWorkerSchema>;

/** Parsed message, or undefined for anything that is not ours. */
export function parseWorkerMessage(message: unknown): WorkerToPrimary | undefined {
  const parsed = workerToPrimarySchema.safeParse(message);
  return parsed.success ? parsed.data : undefined;
}

export function parsePrimaryMessage(message: unknown): PrimaryToWorker | undefined {
  const parsed = primaryToWorkerSchema.safeParse(message);
  return parsed.success ? parsed.data : undefined;
}

/** Environment variables the primary sets for each worker it forks (not settings: never read from .env). */
export const WORKER_SLOT_VAR = 'AUDIOHOOK_WORKER_SLOT';
export const WORKER_COUNT_VAR = 'AUDIOHOOK_WORKER_COUNT';

export interface WorkerIdentity {
  /** 1..count; a replacement worker takes the slot of the one it replaces. */
  slot: number;
  count: number;
}

/** This process's slot when it is a worker forked by our primary; undefined otherwise. */
export function workerIdentityFrom(source: NodeJS.ProcessEnv, isWorker: boolean): WorkerIdentity | undefined {
  if (!isWorker) return undefined;
  const slot = Number(source[WORKER_SLOT_VAR]);
  const count = Number(source[WORKER_COUNT_VAR]);
  if (!Number.isInteger(slot) || !Number.isInteger(count) || slot < 1 || slot > count) return undefined;
  return { slot, count };
}
