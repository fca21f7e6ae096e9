/** The machine a run was measured on, printed and stored with every result. */
import { cpus, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  node: string;
  kernel: string;
  memoryGiB: number;
  openFilesLimit: number | null;
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
  };
}
