/** The machine a run was measured on, printed and stored with every result. */
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  node: string;
  kernel: string;
  memoryGiB: number;
  openFilesLimit: number | null;
  /** Other work on the machine when the run started (1-minute load average). */
  loadAverage1mAtStart: number;
}

export function machineInfo(openFilesLimit: number | null): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    node: process.version,
    kernel: release(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    openFilesLimit,
    loadAverage1mAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}
