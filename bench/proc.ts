/** CPU time and resident memory of a process from Linux /proc (the bridge child's load). */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime in ticks, from the text of /proc/<pid>/stat. */
export function parseStatCpuTicks(stat: string): number {
  // The command name (field 2) is parenthesised and may contain spaces; fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unparseable /proc stat');
  return utime + stime;
}

/** VmRSS in bytes, from the text of /proc/<pid>/status. */
export function parseStatusRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error('no VmRSS in /proc status');
  return Number(match[1]) * 1024;
}

export interface ProcSample {
  /** performance.now() of the reading. */
  at: number;
  cpuTicks: number;
  rssBytes: number;
}

export function readProcSample(pid: number): ProcSample {
  return {
    at: performance.now(),
    cpuTicks: parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')),
    rssBytes: parseStatusRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8')),
  };
}

/** CPU use between two samples as % of one core (200 = both cores of a 2-core machine). */
export function cpuPercent(from: ProcSample, to: ProcSample): number {
  const seconds = (to.at - from.at) / 1000;
  if (seconds <= 0) return 0;
  return ((to.cpuTicks - from.cpuTicks) / CLOCK_TICKS_PER_SECOND / seconds) * 100;
}

/** Samples a process every `intervalMs` until stopped. */
export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  /** One pid, or several summed (the bridge's primary and workers). */
  constructor(
    private readonly pid: number | readonly number[],
    private readonly intervalMs = 1000,
  ) {}

  start(): this {
    this.take();
    this.timer = setInterval(() => this.take(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): { cpuAvgPercent: number; cpuMaxPercent: number; rssEndBytes: number; rssMaxBytes: number } {
    clearInterval(this.timer);
    this.take();
    const s = this.samples;
    let max = 0;
    for (let i = 1; i < s.length; i++) max = Math.max(max, cpuPercent(s[i - 1]!, s[i]!));
    return {
      cpuAvgPercent: s.length > 1 ? cpuPercent(s[0]!, s[s.length - 1]!) : 0,
      cpuMaxPercent: max,
      rssEndBytes: s.at(-1)?.rssBytes ?? 0,
      rssMaxBytes: Math.max(0, ...s.map((x) => x.rssBytes)),
    };
  }

  private take(): void {
    try {
      this.samples.push(typeof this.pid === 'number' ? readProcSample(this.pid) : readTreeSample(this.pid));
    } catch {
      // the process has exited; the run reports what it has
    }
  }
}

/** The soft "Max open files" limit from the text of /proc/<pid>/limits; null when unlimited or absent. */
export function parseOpenFilesLimit(limits: string): number | null {
  const match = /^Max open files\s+(\S+)/m.exec(limits);
  if (!match || match[1] === 'unlimited') return null;
  const n = Number(match[1]);
  return Number.isFinite(n) ? n : null;
}

export function openFilesLimit(): number | null {
  try {
    return parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null;
  }
}

/** The pid and its direct children (a cluster primary and its workers), from the parent field of /proc/<pid>/stat. */
export function processTree(root: number): number[] {
  const pids = [root];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) follows the state, after the parenthesised command name.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === root) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Sum of readProcSample over several processes (those that have exited are left out). */
export function readTreeSample(pids: readonly number[]): ProcSample {
  let cpuTicks = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    try {
      const s = readProcSample(pid);
      cpuTicks += s.cpuTicks;
      rssBytes += s.rssBytes;
    } catch {
      // gone
    }
  }
  return { at: performance.now(), cpuTicks, rssBytes };
}
