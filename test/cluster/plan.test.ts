import { describe, expect, it } from 'vitest';
import { workerIdentityFrom, parsePrimaryMessage, parseWorkerMessage } from '../../src/cluster/ipc.js';
import { cgroupCpuLimit, RAPID_EXIT_MS, resolveWorkerCount, restartDelayMs, sessionShare, slotOfDirName, slotSpoolDir, usableCpus } from '../../src/cluster/plan.js';
import { parseEnv } from '../../src/cli/env.js';

describe('worker count', () => {
  it('is WORKERS, else the available parallelism, never above MAX_SESSIONS nor below 1', () => {
    expect(resolveWorkerCount(3, 8, 500)).toBe(3);
    expect(resolveWorkerCount(undefined, 8, 500)).toBe(8);
    expect(resolveWorkerCount(undefined, 0, 500)).toBe(1);
    expect(resolveWorkerCount(4, 8, 2)).toBe(2);
    expect(resolveWorkerCount(1, 8, 500)).toBe(1);
  });

  it('WORKERS is parsed by the zod config, unset by default, and a bad value names the variable', () => {
    expect(parseEnv({ GENESYS_API_KEY: 'k' }).WORKERS).toBeUndefined();
    expect(parseEnv({ GENESYS_API_KEY: 'k', WORKERS: '4' }).WORKERS).toBe(4);
    expect(() => parseEnv({ GENESYS_API_KEY: 'k', WORKERS: '0' })).toThrow(/WORKERS must be an integer from 1 to 256/);
    expect(() => parseEnv({ GENESYS_API_KEY: 'k', WORKERS: 'many' })).toThrow(/WORKERS/);
  });
});

describe('MAX_SESSIONS split between worker slots', () => {
  it('shares add up to the instance limit and differ by at most one', () => {
    for (const [max, workers] of [[500, 2], [501, 2], [7, 3], [3, 3], [100_000, 7]] as const) {
      const shares = Array.from({ length: workers }, (_, i) => sessionShare(max, workers, i + 1));
      expect(shares.reduce((a, b) => a + b, 0)).toBe(max);
      expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      expect(Math.min(...shares)).toBeGreaterThanOrEqual(1);
    }
    expect(sessionShare(501, 2, 1)).toBe(251);
    expect(sessionShare(501, 2, 2)).toBe(250);
  });

  it('refuses a slot outside 1..workers', () => {
    expect(() => sessionShare(10, 2, 0)).toThrow(RangeError);
    expect(() => sessionShare(10, 2, 3)).toThrow(RangeError);
  });
});

describe('spool directory per slot', () => {
  it('worker-<slot> under the configured directory, and back', () => {
    expect(slotSpoolDir('/var/spool/ah', 2)).toBe('/var/spool/ah/worker-2');
    expect(slotOfDirName('worker-12')).toBe(12);
    expect(slotOfDirName('worker-0')).toBeUndefined();
    expect(slotOfDirName('worker-1x')).toBeUndefined();
    expect(slotOfDirName('other')).toBeUndefined();
  });
});

describe('replacing a dead worker', () => {
  it('at once after a long run; backing off 0.5 s doubling to 30 s while it keeps dying young', () => {
    expect(restartDelayMs(RAPID_EXIT_MS, 5)).toEqual({ delayMs: 0, rapidExits: 0 });
    let rapid = 0;
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const next = restartDelayMs(100, rapid);
      rapid = next.rapidExits;
      delays.push(next.delayMs);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });
});

describe('IPC messages and worker identity', () => {
  it('parses ours, ignores anything else', () => {
    expect(parseWorkerMessage({ type: 'audiohook:nonce', id: 1, nonce: 'abc' })).toEqual({ type: 'audiohook:nonce', id: 1, nonce: 'abc' });
    expect(parseWorkerMessage({ type: 'prom-client:getMetricsRes', requestId: 1 })).toBeUndefined();
    expect(parseWorkerMessage({ type: 'audiohook:nonce', id: 1, nonce: '' })).toBeUndefined();
    // Any nonce a request's headers can carry (Node caps headers at 16 KiB) reaches the primary.
    expect(parseWorkerMessage({ type: 'audiohook:nonce', id: 1, nonce: 'n'.repeat(16_000) })).toBeDefined();
    expect(parseWorkerMessage('NODE_CLUSTER')).toBeUndefined();
    expect(parsePrimaryMessage({ type: 'audiohook:nonce-result', id: 2, fresh: false })).toMatchObject({ fresh: false });
    expect(parsePrimaryMessage({ type: 'audiohook:nonce-result', id: 2, fresh: 'yes' })).toBeUndefined();
  });

  it('a worker knows its slot only when forked by our primary', () => {
    const env = { AUDIOHOOK_WORKER_SLOT: '2', AUDIOHOOK_WORKER_COUNT: '3' };
    expect(workerIdentityFrom(env, true)).toEqual({ slot: 2, count: 3 });
    expect(workerIdentityFrom(env, false)).toBeUndefined();
    expect(workerIdentityFrom({ AUDIOHOOK_WORKER_SLOT: '4', AUDIOHOOK_WORKER_COUNT: '3' }, true)).toBeUndefined();
    expect(workerIdentityFrom({}, true)).toBeUndefined();
  });
});

describe('the CPUs a container may use', () => {
  const files = (entries: Record<string, string>) => (path: string) => entries[path];

  it('reads the cgroup v2 quota, rounded up; no quota is no limit', () => {
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '100000 100000\n' }))).toBe(1);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(2);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '50000 100000' }))).toBe(1);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
  });

  it('falls back to cgroup v1, and to nothing without a cgroup or with garbage', () => {
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '200000\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBe(2);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBeUndefined();
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'nonsense' }))).toBeUndefined();
  });

  it('a 1-vCPU container on a 32-CPU host runs one worker by default, not 32; WORKERS still decides when set', () => {
    expect(resolveWorkerCount(undefined, usableCpus(32, 1), 350)).toBe(1);
    expect(resolveWorkerCount(undefined, usableCpus(2, undefined), 350)).toBe(2);
    expect(resolveWorkerCount(undefined, usableCpus(4, 8), 350)).toBe(4);
    expect(resolveWorkerCount(3, usableCpus(32, 1), 350)).toBe(3);
  });
});
