/**
 * Decisions of the worker cluster, pure: how many workers, each worker's share of MAX_SESSIONS, its spool
 * directory, and how long to wait before replacing a worker that died. No processes, no clocks of their own.
 */
import { join } from 'node:path';

/**
 * Workers to run: WORKERS, else the parallelism available to this process; never more than MAX_SESSIONS
 * (a worker must be able to carry at least one session).
 */
export function resolveWorkerCount(configured: number | undefined, available: number, maxSessions: number): number {
  const wanted = configured ?? Math.max(1, available);
  return Math.max(1, Math.min(wanted, maxSessions));
}

/**
 * The CPUs a container's CPU quota allows (cgroup v2 `cpu.max`, else v1 `cpu.cfs_quota_us` /
 * `cpu.cfs_period_us`), rounded up; undefined when there is no quota or no cgroup file. Node's
 * availableParallelism() counts the CPUs the process may be scheduled on, not its quota: in a 1-vCPU
 * container on a 32-CPU host (Kubernetes, App Platform) it says 32, and 32 workers of ~100 MB each would not
 * even fit the instance's memory. Pure: `read` returns a file's text or undefined.
 */
export function cgroupCpuLimit(read: (path: string) => string | undefined): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 && v2.length >= 1) {
    if (v2[0] === 'max') return undefined;
    return cpusOf(Number(v2[0]), Number(v2[1] ?? 100_000));
  }
  const quota = read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us');
  const period = read('/sys/fs/cgroup/cpu/cpu.cfs_period_us');
  if (quota === undefined || period === undefined) return undefined;
  return cpusOf(Number(quota.trim()), Number(period.trim()));
}

function cpusOf(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.ceil(quota / period));
}

/** The parallelism the default worker count uses: the schedulable CPUs, capped by a container CPU quota. */
export function usableCpus(schedulable: number, quotaCpus: number | undefined): number {
  return quotaCpus === undefined ? schedulable : Math.min(schedulable, quotaCpus);
}

/**
 * MAX_SESSIONS is split between the workers (slots 1..workers): the first `max % workers` slots take one more.
 * A split, not a count coordinated through the primary: admission stays synchronous and local (no IPC round
 * trip before each upgrade, no over-admission race between workers), and the primary's round-robin hand-off of
 * connections fills the shares evenly, so the instance refuses within a few sessions of the configured limit.
 */
export function sessionShare(maxSessions: number, workers: number, slot: number): number {
  if (slot < 1 || slot > workers) throw new RangeError(`worker slot ${slot} outside 1..${workers}`);
  return Math.floor(maxSessions / workers) + (slot <= maxSessions % workers ? 1 : 0);
}

/** Each worker slot spools into its own subdirectory, so no two workers ever deliver the same record. */
export function slotSpoolDir(root: string, slot: number): string {
  return join(root, slotDirName(slot));
}

export function slotDirName(slot: number): string {
  return `worker-${slot}`;
}

/** `worker-<n>` → n, else undefined. */
export function slotOfDirName(name: string): number | undefined {
  const match = /^worker-([1-9][0-9]{0,3})$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** A worker that dies within this long of its start counts as a crash loop. */
export const RAPID_EXIT_MS = 10_000;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/**
 * Delay before replacing a worker that exited: at once after a worker that ran a while; after one that died
 * soon after its start, 0.5 s doubling per consecutive rapid exit up to 30 s (a worker that cannot start —
 * disk full, a bug on start-up — must not spin the CPU).
 */
export function restartDelayMs(ranForMs: number, previousRapidExits: number): { delayMs: number; rapidExits: number } {
  if (ranForMs >= RAPID_EXIT_MS) return { delayMs: 0, rapidExits: 0 };
  const rapidExits = previousRapidExits + 1;
  return { delayMs: Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (rapidExits - 1)), rapidExits };
}
