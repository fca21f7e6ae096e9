/** The shape of bench/results.json, the targets from the issue, and their evaluation. */
import type { CodecResult } from './codec.js';
import type { ConsoleCost } from './console.js';
import type { MachineInfo } from './machine.js';
import type { Percentiles } from './stats.js';

export interface StepResult {
  calls: number;
  opened: number;
  openFailures: number;
  /** Opened calls no longer open at the end of the window (ended by the bridge, e.g. model not ready in time). */
  droppedCalls: number;
  windowMs: number;
  inboundHopMs: Percentiles | null;
  outboundHopMs: Percentiles | null;
  callerFramesSent: number;
  /** Caller frames the load generator wrote > 50 ms after due (load-generator health). */
  lateCallerFrames: number;
  maxCallerLatenessMs: number;
  botFrames: number;
  /** Bot frames of a reply arriving > frame + 50 ms after the previous one (the bridge's pacing late). */
  lateBotFrames: number;
  /** Up to 20 of the gaps that made bot frames late (diagnosis: ~400 ms = a whole frame period skipped). */
  lateBotGapsMs: number[];
  /** Measured caller frames the emulator never received (join.ts). */
  lostFrames: number;
  /** Bot audio of replies that ran to their end that never reached the caller, ms (join.ts). Absent before 2026-11-30 11:30. */
  missingBotMs?: number;
  /** The replies missingBotMs judged. */
  botRepliesChecked?: number;
  /** Times a reply's playout ran dry mid-reply, a gap the caller heard (reply-playout.ts), and the longest. Absent before 2026-11-30 11:30. */
  botUnderruns?: number;
  maxBotUnderrunMs?: number;
  /** The bridge's processes measured (the primary plus its workers; 1 with WORKERS=1). */
  bridgeProcesses: number;
  /** Summed over the bridge's processes; 100% = one core. */
  bridgeCpuAvgPercent: number;
  bridgeCpuMaxPercent: number;
  /** Bridge CPU-seconds (all processes, from /proc) per minute of call time in the window. */
  bridgeCpuSecondsPerCallMinute: number;
  /** Summed over the bridge's processes. */
  bridgeRssMiB: number;
  /** (bridge RSS − its idle RSS) / calls. */
  bridgeRssPerCallKB: number | null;
  /** From the bridge's /metrics at the end of the window: JS heap used, external (Buffers), loop lag p99. */
  bridgeHeapUsedMiB: number | null;
  bridgeExternalMiB: number | null;
  bridgeLoopLagP99Ms: number | null;
  /** Event-loop delay p99 of each bridge worker (WORKERS > 1), by slot. */
  workerLoopLagP99Ms: number[];
  /** The load generator's own process (simulated calls): CPU (100% = one core) and event-loop delay p99. */
  loadgenCpuPercent: number;
  loadgenLoopDelayP99Ms: number | null;
  /** The emulator's own process: CPU, 100% = one core. */
  emulatorCpuPercent: number;
  /** 1-minute load average at the end of the window: foreign load on a shared machine shows here. */
  loadAverage1m: number;
  /** 2 when the first attempt missed the criteria and the step was repeated. */
  attempts: number;
  /** hop p99 < 20 ms (both directions), no late, missing or underrun frames, every call opened and still up. */
  passed: boolean;
}

export interface TargetCheck {
  name: string;
  target: string;
  value: string;
  met: boolean | null;
}

export interface BenchResults {
  date: string;
  mode: 'quick' | 'full';
  durationS: number;
  machine: MachineInfo;
  setup: {
    bridgeEntry: string;
    bridgeLogLevel: 'warn';
    /** How the bridge trusted the emulator's CA (REALTIME_CA_FILE is the production setting). */
    caTrust: 'REALTIME_CA_FILE' | 'NODE_EXTRA_CA_CERTS';
    emulatorSpeed: 'instant';
    emulatorDeltaMs: number;
    frameMs: number;
    /** The bridge's WORKERS (null: unset, the bridge's default of one per available CPU). */
    workers: number | null;
    /** Where the load runs: its own processes since the cluster work (earlier runs: the harness process). */
    loadProcesses: 'separate';
    /** Nice value of the harness and the bridge (--priority), null when run at normal priority. */
    nice: number | null;
  };
  openLatency: { sequential: Percentiles | null; concurrentSessions: number; concurrent: Percentiles | null; concurrentFailures: number };
  lightLoad: StepResult | null;
  bargeIn: { calls: number; reactionMs: Percentiles | null; interruptions: number; staleBytesTotal: number; staleBytesMax: number } | null;
  capacity: { steps: StepResult[]; capacityCalls: number | null; stoppedBecause: string };
  memory: { baselineRssMiB: number; bytesPerCall: number | null; points: { calls: number; rssMiB: number }[] };
  codec: CodecResult[];
  /** The bridge's per-call CPU with ten open consoles versus none (absent in runs before the console). */
  consoleCost?: ConsoleCost;
  targets: TargetCheck[];
}

export const CAPACITY_HOP_P99_MS = 20;

export function stepPassed(step: Omit<StepResult, 'passed'>): boolean {
  return (
    step.openFailures === 0 &&
    step.droppedCalls === 0 &&
    step.inboundHopMs !== null &&
    step.outboundHopMs !== null &&
    step.inboundHopMs.p99 < CAPACITY_HOP_P99_MS &&
    step.outboundHopMs.p99 < CAPACITY_HOP_P99_MS &&
    step.lateCallerFrames === 0 &&
    step.lateBotFrames === 0 &&
    step.lostFrames === 0 &&
    (step.missingBotMs ?? 0) === 0 &&
    (step.botUnderruns ?? 0) === 0
  );
}

const fmt = (v: number | null | undefined, unit = 'ms') => (v === null || v === undefined ? 'n/a' : `${v} ${unit}`);

/** The targets next to the measured values (a miss is information, not a failure). */
export function evaluateTargets(r: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const at1000 = r.capacity.steps.find((s) => s.calls === 1000);
  const hop = (name: string, p: Percentiles | null | undefined): TargetCheck => ({
    name,
    target: 'p99 < 1 ms at 1000 calls',
    value: at1000 ? fmt(p?.p99) : 'not measured (no 1000-call step)',
    met: at1000 && p ? p.p99 < 1 : null,
  });
  const decode = r.codec.find((c) => c.name.startsWith('μ-law decode'));
  return [
    hop('inbound hop', at1000?.inboundHopMs),
    hop('outbound hop', at1000?.outboundHopMs),
    {
      name: 'barge-in reaction',
      target: 'p99 < 2 ms, 0 stale bytes',
      value: r.bargeIn ? `${fmt(r.bargeIn.reactionMs?.p99)}, ${r.bargeIn.staleBytesTotal} stale bytes` : 'not measured',
      met: r.bargeIn?.reactionMs ? r.bargeIn.reactionMs.p99 < 2 && r.bargeIn.staleBytesTotal === 0 : null,
    },
    {
      name: `opened latency (${r.openLatency.concurrentSessions} concurrent)`,
      target: 'p99 < 5 ms at 500 concurrent opens',
      value: fmt(r.openLatency.concurrent?.p99),
      met: r.openLatency.concurrent && r.openLatency.concurrentSessions >= 500 ? r.openLatency.concurrent.p99 < 5 : null,
    },
    {
      name: 'capacity',
      target: `≥ 1500 calls (${r.machine.cores} cores here, load generator and emulator on the same machine)`,
      value: r.capacity.capacityCalls === null ? 'no step passed' : `${r.capacity.capacityCalls} calls`,
      met: r.capacity.capacityCalls === null ? false : r.capacity.capacityCalls >= 1500,
    },
    (() => {
      const at500 = r.capacity.steps.find((s) => s.calls === 500);
      return {
        name: 'CPU per call-minute',
        target: '≤ 0.035 CPU-s per call-minute at 500 calls',
        value: at500 ? `${at500.bridgeCpuSecondsPerCallMinute} CPU-s` : 'not measured (no 500-call step)',
        met: at500 ? at500.bridgeCpuSecondsPerCallMinute <= 0.035 : null,
      };
    })(),
    {
      name: 'memory per call',
      target: '< 150 KB RSS per call',
      value: r.memory.bytesPerCall === null ? 'n/a' : `${Math.round(r.memory.bytesPerCall / 1024)} KB`,
      met: r.memory.bytesPerCall === null ? null : r.memory.bytesPerCall < 150 * 1024,
    },
    {
      name: 'μ-law decode',
      target: '≥ 500 MB/s',
      value: decode ? `${decode.mbPerSecond} MB/s` : 'n/a',
      met: decode ? decode.mbPerSecond >= 500 : null,
    },
  ];
}
