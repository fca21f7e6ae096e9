/**
 * The cluster primary: forks WORKERS bridge processes that share the listening port (node:cluster; the primary
 * accepts connections and hands them to workers round-robin), and serves what must be one per instance:
 * - the signature nonce cache (workers ask over IPC, so a replay to another worker is refused);
 * - the live Audiohook-Session-Id claims (a duplicate on another worker is refused; a dead worker's are released);
 * - /metrics, aggregated over every worker's registry (prom-client's AggregatorRegistry) plus its own;
 * - SIGTERM/SIGINT: forwarded as SIGTERM to every worker (each drains as a single process does), then exit 0
 *   once all have exited; a second signal is forwarded too and means "now", as in a single process;
 * - a worker that dies is replaced in the same slot (its calls are lost; its spooled records are replayed by
 *   the replacement, which owns the same spool directory).
 * The primary runs no bridge code and holds no call.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Logger } from '../log/logger.js';
import { NonceCache } from '../server/nonce-cache.js';
import { systemClock } from '../util/clock.js';
import { InstanceSessionIds } from './session-claims.js';
import { BoundedSender } from './console-relay.js';
import { parseWorkerMessage, WORKER_COUNT_VAR, WORKER_SLOT_VAR, type PrimaryToWorker } from './ipc.js';
import { restartDelayMs } from './plan.js';

/** How long the primary waits for every worker's registry before answering /metrics with what it has. */
export const METRICS_COLLECT_TIMEOUT_MS = 2_000;

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** Runs before the first fork (the spool hand-over, spool-adopt.ts). */
  beforeFork?: () => Promise<void>;
}

export interface Primary {
  /** Resolves with the exit code once every worker has exited after a signal (or start-up failed). */
  readonly done: Promise<number>;
}

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

interface Slot {
  worker: Worker;
  /** Console events relayed to this worker, bounded (src/cluster/console-relay.ts). */
  consoleEvents: BoundedSender<PrimaryToWorker>;
  startedAt: number;
  listening: boolean;
  rapidExits: number;
}

interface Collection {
  pending: Set<number>;
  responses: MetricJson[][];
  finish: () => void;
}

export async function runPrimary(options: PrimaryOptions): Promise<Primary> {
  const { workers, logger } = options;
  await options.beforeFork?.();

  const nonces = new NonceCache({ clock: systemClock });
  const sessionIds = new InstanceSessionIds();
  const registry = new Registry();
  const restarts = new Counter({ name: 'audiohook_worker_restarts_total', help: 'Workers replaced after they died', registers: [registry] });
  const alive = new Gauge({ name: 'audiohook_workers', help: 'Worker processes running', registers: [registry] });
  restarts.inc(0);
  const relayDropped = new Counter({
    name: 'audiohook_console_relay_dropped_total',
    help: 'Console events not relayed between workers (IPC channel backed up, or too large)',
    registers: [registry],
  });
  relayDropped.inc(0);

  const slots = new Map<number, Slot>();
  const rapidExitsBySlot = new Map<number, number>();
  const collections = new Map<number, Collection>();
  let nextCollection = 1;
  let everListening = false;
  let stopping = false;
  let exitCode = 0;
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));

  const send = (worker: Worker, message: PrimaryToWorker) => {
    if (worker.isConnected()) worker.send(message);
  };

  const fork = (slot: number) => {
    const worker = cluster.fork({ [WORKER_SLOT_VAR]: String(slot), [WORKER_COUNT_VAR]: String(workers) });
    const consoleEvents = new BoundedSender<PrimaryToWorker>((message, written) => {
      if (!worker.isConnected()) return false;
      worker.send(message, undefined, {}, () => written());
      return true;
    });
    const state: Slot = { worker, consoleEvents, startedAt: performance.now(), listening: false, rapidExits: rapidExitsBySlot.get(slot) ?? 0 };
    slots.set(slot, state);
    alive.set(slots.size);
    logger.info({ worker: slot, pid: worker.process.pid }, 'worker started');
    worker.on('listening', () => {
      state.listening = true;
      everListening = true;
    });
    worker.on('message', (message: unknown) => onMessage(worker, message));
    worker.on('exit', (code, signal) => onExit(slot, state, code, signal));
  };

  const onExit = (slot: number, state: Slot, code: number | null, signal: string | null) => {
    const released = sessionIds.releaseWorker(state.worker.id);
    if (released > 0) logger.info({ worker: slot, released }, 'released the session ids of an exited worker');
    if (slots.get(slot) !== state) return;
    slots.delete(slot);
    alive.set(slots.size);
    for (const collection of collections.values()) {
      if (collection.pending.delete(state.worker.id) && collection.pending.size === 0) collection.finish();
    }
    if (stopping) {
      // Killed by the forwarded SIGTERM before it installed its handler (still starting, so no calls): clean.
      if (code !== 0 && signal !== 'SIGTERM') exitCode = 1;
      logger.info({ worker: slot, pid: state.worker.process.pid, code, signal }, 'worker exited');
      if (slots.size === 0) finish(exitCode);
      return;
    }
    if (!everListening) {
      // A worker that never served is a start-up failure (port taken, unusable spool): stop, do not loop.
      logger.error({ worker: slot, code, signal }, 'worker failed during start-up; stopping');
      stopping = true;
      exitCode = 1;
      for (const other of slots.values()) other.worker.process.kill('SIGTERM');
      if (slots.size === 0) finish(exitCode);
      return;
    }
    const { delayMs, rapidExits } = restartDelayMs(performance.now() - state.startedAt, state.rapidExits);
    rapidExitsBySlot.set(slot, rapidExits);
    restarts.inc();
    logger.error(
      { worker: slot, pid: state.worker.process.pid, code, signal, restartInMs: delayMs },
      'worker died: its live calls are lost; replacing it',
    );
    setTimeout(() => {
      if (!stopping) fork(slot);
    }, delayMs);
  };

  const onMessage = (worker: Worker, raw: unknown) => {
    const message = parseWorkerMessage(raw);
    if (!message) return;
    switch (message.type) {
      case 'audiohook:nonce':
        send(worker, { type: 'audiohook:nonce-result', id: message.id, fresh: nonces.remember(message.nonce) });
        return;
      case 'audiohook:session-claim':
        send(worker, { type: 'audiohook:session-claim-result', id: message.id, claimed: sessionIds.claim(worker.id, message.sessionId) });
        return;
      case 'audiohook:session-release':
        sessionIds.release(worker.id, message.sessionId);
        return;
      case 'audiohook:leaving':
        // Cluster's own messages to this worker (connections handed over) were sent before this answer.
        send(worker, { type: 'audiohook:left', id: message.id });
        return;
      case 'audiohook:metrics':
        void aggregateMetrics().then(
          (text) => send(worker, { type: 'audiohook:metrics-text', id: message.id, text, contentType: registry.contentType }),
          (err: unknown) => {
            logger.error({ err }, 'aggregating worker metrics failed');
            send(worker, { type: 'audiohook:metrics-text', id: message.id, text: '', contentType: registry.contentType });
          },
        );
        return;
      case 'audiohook:console-event':
        // Relayed as received: each receiving worker parses the event at its edge.
        for (const slot of slots.values()) {
          if (slot.worker === worker) continue;
          if (!slot.consoleEvents.offer({ type: 'audiohook:console-event', event: message.event })) relayDropped.inc();
        }
        return;
      case 'audiohook:metrics-json': {
        const collection = collections.get(message.id);
        if (!collection || !collection.pending.delete(worker.id)) return;
        collection.responses.push(message.metrics as MetricJson[]);
        if (collection.pending.size === 0) collection.finish();
        return;
      }
    }
  };

  const aggregateMetrics = async (): Promise<string> => {
    const id = nextCollection++;
    const own = (await registry.getMetricsAsJSON()) as MetricJson[];
    const responses: MetricJson[][] = [own];
    await new Promise<void>((resolve) => {
      const pending = new Set<number>();
      const timer = setTimeout(() => {
        logger.warn({ missing: pending.size }, 'metrics: some workers did not answer in time');
        collection.finish();
      }, METRICS_COLLECT_TIMEOUT_MS);
      const collection: Collection = {
        pending,
        responses,
        finish: () => {
          clearTimeout(timer);
          collections.delete(id);
          resolve();
        },
      };
      collections.set(id, collection);
      for (const { worker } of slots.values()) {
        if (!worker.isConnected()) continue;
        pending.add(worker.id);
        send(worker, { type: 'audiohook:metrics-collect', id });
      }
      if (pending.size === 0) collection.finish();
    });
    return AggregatorRegistry.aggregate(responses).metrics();
  };

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    stopping = true;
    logger.info({ signal, workers: slots.size, forwarded: signals }, signals > 1 ? 'second signal: workers close now' : 'shutting down: draining every worker');
    for (const { worker } of slots.values()) worker.process.kill('SIGTERM');
    if (slots.size === 0) finish(exitCode);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  for (let slot = 1; slot <= workers; slot++) fork(slot);
  return { done };
}
