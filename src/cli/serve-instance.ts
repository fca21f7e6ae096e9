/**
 * `serve` for the whole instance: WORKERS (default: the available parallelism) bridge processes behind one
 * port, or with WORKERS=1 the single process exactly as `serve()` runs it. The primary (src/cluster/primary.ts)
 * runs no bridge; each worker is `serve()` with its slot's share of MAX_SESSIONS, its own spool directory,
 * live session ids, nonces and /metrics answered for the instance by the primary, and log lines carrying `worker`.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { adoptOrphanedSpoolFiles } from '../cluster/spool-adopt.js';
import { workerIdentityFrom, type WorkerIdentity } from '../cluster/ipc.js';
import { cgroupCpuLimit, resolveWorkerCount, sessionShare, slotSpoolDir, usableCpus } from '../cluster/plan.js';
import { runPrimary } from '../cluster/primary.js';
import { createLogger, type Logger } from '../log/logger.js';
import { DEFAULT_MAX_SESSIONS } from '../server/env-shape.js';
import type { ServeEnv, ServeOptions } from './serve.js';

/** Runs until a signal ends the process (the primary exits with its workers' verdict). */
export async function serveInstance(env: ServeEnv, options: Pick<ServeOptions, 'configWarnings'> = {}): Promise<void> {
  const logger = createLogger(env.LOG_LEVEL);
  const identity = workerIdentityFrom(process.env, cluster.isWorker);
  // Configuration warnings are logged once, by the primary (or the single process).
  if (identity) return serveWorker(env, identity, logger.child({ worker: identity.slot }));
  const maxSessions = env.MAX_SESSIONS ?? DEFAULT_MAX_SESSIONS;
  const quotaCpus = cgroupCpuLimit(readTextFile);
  const workers = resolveWorkerCount(env.WORKERS, usableCpus(availableParallelism(), quotaCpus), maxSessions);
  const spoolRoot = env.SUMMARY_WEBHOOK_URL ? env.SUMMARY_SPOOL_DIR : undefined;
  if (workers === 1) {
    // Records a multi-worker run left in worker-<n>/ come back to the single spool directory.
    if (spoolRoot) await adoptSpool(spoolRoot, 1, logger);
    const { serve } = await import('./serve.js');
    await serve(env, { logger, ...options });
    return;
  }
  const primaryLog = logger.child({ role: 'primary' });
  for (const warning of options.configWarnings ?? []) primaryLog.warn({ component: 'config' }, warning);
  primaryLog.info({ workers, maxSessionsPerWorker: sessionShare(maxSessions, workers, workers), schedulableCpus: availableParallelism(), cpuQuota: quotaCpus ?? 'none', configured: env.WORKERS !== undefined }, `starting ${workers} workers`);
  const primary = await runPrimary({
    workers,
    logger: primaryLog,
    ...(spoolRoot ? { beforeFork: () => adoptSpool(spoolRoot, workers, primaryLog) } : {}),
  });
  const code = await primary.done;
  primaryLog.info({ code }, code === 0 ? 'shutdown complete' : 'stopped');
  process.exit(code);
}

async function serveWorker(env: ServeEnv, identity: WorkerIdentity, logger: Logger): Promise<void> {
  // Loaded here, not at the top: the primary never runs the bridge and should not carry its code in memory.
  const [{ serve }, { instanceMetrics, leavePrimary, primaryNonceStore, primarySessionIds, processLink }, { createMetrics }, { workerConsoleRelay }, { Counter }] = await Promise.all([
    import('./serve.js'),
    import('../cluster/worker.js'),
    import('../server/metrics.js'),
    import('../cluster/console-relay.js'),
    import('prom-client'),
  ]);
  const link = processLink();
  const metrics = createMetrics();
  const maxSessions = env.MAX_SESSIONS ?? DEFAULT_MAX_SESSIONS;
  const workerEnv: ServeEnv = {
    ...env,
    MAX_SESSIONS: sessionShare(maxSessions, identity.count, identity.slot),
    ...(env.SUMMARY_SPOOL_DIR ? { SUMMARY_SPOOL_DIR: slotSpoolDir(env.SUMMARY_SPOOL_DIR, identity.slot) } : {}),
    ...workerInstanceId(env, identity.slot),
  };
  const consoleRelayOf = (e: ServeEnv, registry: import('prom-client').Registry) => {
    const dropped = new Counter({
      name: 'audiohook_console_relay_dropped_total',
      help: 'Console events not relayed between workers (IPC channel backed up, or too large)',
      registers: [registry],
    });
    dropped.inc(0);
    return workerConsoleRelay(link, { transcripts: e.CONSOLE_TRANSCRIPTS, onDrop: () => dropped.inc() });
  };
  // Ctrl-C reaches the whole process group: only the primary's forwarded SIGTERM counts here.
  process.on('SIGINT', () => undefined);
  await serve(workerEnv, {
    logger,
    metrics: instanceMetrics(metrics, link, identity.slot),
    // With REDIS_URL the console's fleet channel carries every worker's calls too (src/fleet/console-channel.ts).
    ...(env.CONSOLE_TOKEN && !fleetMode(env) ? { consoleRelay: consoleRelayOf(env, metrics.registry) } : {}),
    signals: ['SIGTERM'],
    // With REDIS_URL (fleet mode) the fleet's shared store is used instead: it spans instances, so workers too.
    ...(fleetMode(env) ? {} : { nonceStore: primaryNonceStore(link, logger) }),
    // Instance-wide in fleet mode too: the fleet registers live calls but does not refuse a duplicate id.
    sessionIds: primarySessionIds(link, logger),
    serverClosed: () => leavePrimary(link),
  });
}

async function adoptSpool(root: string, workers: number, logger: Logger): Promise<void> {
  const report = await adoptOrphanedSpoolFiles(root, workers);
  if (report.moved > 0) logger.info({ moved: report.moved }, 'summary spool: records of an earlier run handed to this run');
  for (const file of report.skipped) logger.warn({ file }, 'summary spool: a record of that name already exists; left in place');
}

/** Fleet mode (REDIS_URL, src/fleet) brings its own instance-spanning nonce store. */
export function fleetMode(env: ServeEnv): boolean {
  const url = (env as { REDIS_URL?: unknown }).REDIS_URL;
  return typeof url === 'string' && url !== '';
}

/**
 * Fleet mode names each process in Redis (stream consumer, live-call registry) by INSTANCE_ID; workers of one
 * instance must not share a name, so a configured one gets `-w<slot>` (the default already includes the pid).
 */
export function workerInstanceId(env: ServeEnv, slot: number): { INSTANCE_ID?: string } {
  const id = (env as { INSTANCE_ID?: unknown }).INSTANCE_ID;
  return typeof id === 'string' && id !== '' ? { INSTANCE_ID: `${id.slice(0, 94)}-w${slot}` } : {};
}

function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
