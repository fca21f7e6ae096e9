/**
 * `npm run bench [-- --quick]`: what the bridge adds to a call, and how many calls one process carries.
 *
 * The bridge runs as its own child process from the built output with production configuration (WORKERS
 * worker processes behind its port); the Realtime emulator (zero model delay) and the simulated Genesys calls
 * each run in a process of their own (emulator-child.ts, loadgen-child.ts), so the load no longer competes
 * with itself on one event loop. Every hop is a difference of two epoch readings (performance.timeOrigin +
 * performance.now()) taken in those two processes on the same machine, joined after each window (join.ts). Writes bench/results.json and the
 * "latest run" section of BENCHMARKS.md (a --quick run writes bench/results.quick.json only). Everything
 * is bounded (calls, durations, file descriptors) and the child is killed on exit or failure.
 *
 * Flags: --quick (smoke run, < 2 min), --no-build (use dist/ as is), --max-calls N (cap the sweep),
 *        --steps 100,250 (the sweep's call counts), --no-write (print only), --ca node-extra (trust the emulator CA through NODE_EXTRA_CA_CERTS
 *        instead of REALTIME_CA_FILE, to compare the cost of a per-connection CA list), --profile (the
 *        bridge writes a V8 CPU profile to $TMPDIR/audiohook-bench-profiles/ when it exits), --priority (run
 *        the harness and the bridge at nice −10 when permitted, so other work on a shared machine yields),
 *        --workers N (the bridge's WORKERS; default unset: one per available CPU),
 *        --node-options "…" (NODE_OPTIONS for the bridge, e.g. V8 heap flags), --bridge-env NAME=VALUE
 *        (repeatable: more environment for the bridge, e.g. an allocator's LD_PRELOAD), --compare N (see compareRun),
 *        --console (only the operations console comparison: the bridge's per-call CPU with ten open
 *        consoles versus none; writes bench/results.console.json).
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg, setPriority, totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { CallScript } from '../src/emulator/index.js';
import { buildDist, REPO_ROOT, startBridgeProcess, type BridgeProcess, type CaMode } from './bridge-process.js';
import { startBenchChild, type BenchChild } from './children.js';
import { runCodecBench } from './codec.js';
import { BENCH_CONSOLE_TOKEN, openConsoles, type ConsoleCost, type OpenConsoles } from './console.js';
import { MAX_CALLS } from './frame-tag.js';
import { joinWindow, type EmulatorLog, type LoadgenLog } from './join.js';
import { FRAME_MS, sleep } from './load.js';
import { machineInfo } from './machine.js';
import { consoleCostLine, renderLatestRun, spliceLatestRun } from './markdown.js';
import { openFilesLimit, processTree, ProcSampler, readTreeSample } from './proc.js';
import { fetchSelfReport } from './prom.js';
import { evaluateTargets, stepPassed, type BenchResults, type StepResult } from './results.js';
import { percentiles, slope } from './stats.js';

interface Plan {
  mode: 'quick' | 'full';
  sequentialOpens: number;
  concurrentOpens: number;
  lightCalls: number;
  bargeInCalls: number;
  windowMs: number;
  steps: number[];
  codecMsPerCase: number;
  /** Calls carried while the console comparison measures the bridge's CPU. */
  consoleCalls: number;
}

const QUICK: Plan = { mode: 'quick', sequentialOpens: 20, concurrentOpens: 100, lightCalls: 10, bargeInCalls: 20, windowMs: 6000, steps: [50, 100], codecMsPerCase: 300, consoleCalls: 30 };
const FULL: Plan = { mode: 'full', sequentialOpens: 100, concurrentOpens: 500, lightCalls: 10, bargeInCalls: 50, windowMs: 15_000, steps: [100, 250, 500, 1000, 2000, 4000], codecMsPerCase: 1000, consoleCalls: 100 };

const EMULATOR_DELTA_MS = 100;
/** File descriptors the load needs per call (simulator socket + emulator socket), plus slack. */
const FDS_PER_CALL = 2;
const FD_SLACK = 256;

const CONVERSATION_SCRIPT: CallScript = {
  name: 'bench-conversation',
  greeting: { audio: { toneMs: 600 }, transcript: 'Hello.' },
  turns: [],
  textCues: [],
  fallback: { audio: { toneMs: 1000 }, transcript: 'I see.' },
};
const INTERRUPTIBLE_SCRIPT: CallScript = {
  name: 'bench-barge-in',
  greeting: { audio: { toneMs: 3000 }, transcript: 'Hello, this is a long greeting.' },
  turns: [],
  textCues: [],
  fallback: { audio: { toneMs: 3000 }, transcript: 'This is a long reply to interrupt.' },
};

function parseArgs(argv: string[]) {
  const flag = (name: string) => argv.includes(name);
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const maxCalls = value('--max-calls');
  const stepsArg = value('--steps');
  const steps = stepsArg ? stepsArg.split(',').map(Number) : undefined;
  if (steps?.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error('--steps must be a comma-separated list of call counts');
  const workersArg = value('--workers');
  const workers = workersArg === undefined ? undefined : Number(workersArg);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) throw new Error('--workers must be a positive integer');
  const ca = value('--ca') ?? 'file';
  if (ca !== 'file' && ca !== 'node-extra') throw new Error('--ca must be file or node-extra');
  const nodeOptions = value('--node-options');
  // --bridge-env NAME=VALUE (repeatable): more environment for the bridge (e.g. LD_PRELOAD of an allocator).
  const bridgeEnv: Record<string, string> = {};
  argv.forEach((arg, i) => {
    if (arg !== '--bridge-env') return;
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(argv[i + 1] ?? '');
    if (!match) throw new Error('--bridge-env takes NAME=VALUE');
    bridgeEnv[match[1]!] = match[2]!;
  });
  const compare = value('--compare');
  if (compare !== undefined && !(Number.isInteger(Number(compare)) && Number(compare) > 0)) throw new Error('--compare must be a call count');
  return { nodeOptions, bridgeEnv, compare: compare === undefined ? undefined : Number(compare), consoleOnly: flag('--console'), steps, priority: flag('--priority'), profile: flag('--profile'), quick: flag('--quick'), build: !flag('--no-build'), write: !flag('--no-write'), maxCalls: maxCalls ? Number(maxCalls) : undefined, caMode: ca as CaMode, workers };
}

const log = (text: string) => process.stdout.write(`${text}\n`);
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const plan = { ...(args.quick ? QUICK : FULL), ...(args.steps ? { steps: args.steps } : {}) };
  const startedAt = performance.now();
  const date = new Date().toISOString();
  const fdLimit = openFilesLimit();
  const machine = machineInfo(fdLimit);
  log(`audiohook-realtime benchmark (${plan.mode}) ${date}`);
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, open files ${fdLimit ?? 'unlimited'}, load average ${machine.loadAverage1mAtStart}`);

  const priority = args.priority ? raisePriority(0) : null;
  if (args.priority) log(priority === null ? 'could not raise the priority (not permitted); running at normal priority' : `running at nice ${priority}`);
  if (args.build) {
    log('building dist/ (tsc -p tsconfig.build.json)…');
    await buildDist();
  }
  if (!existsSync(resolve(REPO_ROOT, 'dist/bridge/call.js'))) throw new Error('dist/ is missing: run without --no-build');

  let emulator: BenchChild<{ baseURL: string; caPath: string }> | undefined;
  let loadgen: BenchChild<true> | undefined;
  let bridge: BridgeProcess | undefined;
  const stopAll = async () => {
    await loadgen?.stop();
    await bridge?.stop();
    await emulator?.stop();
  };
  const onSignal = () => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const nice = (pid: number) => {
    if (priority !== null) raisePriority(pid);
  };
  const startLoad = async (bridgeEnv?: Record<string, string>): Promise<World> => {
    await loadgen?.stop();
    await bridge?.stop();
    bridge = await startBridgeProcess({
      emulatorBaseURL: emulator!.ready.baseURL,
      caFile: emulator!.ready.caPath,
      caMode: args.caMode,
      profile: args.profile,
      ...(args.workers ? { workers: args.workers } : {}),
      env: { ...args.bridgeEnv, ...bridgeEnv, ...(args.nodeOptions ? { NODE_OPTIONS: args.nodeOptions } : {}) },
    });
    nice(bridge.pid);
    loadgen = await startBenchChild<true>('bench/loadgen-child.ts', { BENCH_BRIDGE_URL: bridge.url }, nice);
    await sleep(1000);
    const pids = processTree(bridge.pid);
    for (const pid of pids) nice(pid);
    return { bridge, bridgePids: pids, loadgen, emulator: emulator! };
  };
  try {
    emulator = await startBenchChild('bench/emulator-child.ts', { BENCH_EMULATOR_DELTA_MS: String(EMULATOR_DELTA_MS), BENCH_EMULATOR_SCRIPT: JSON.stringify(CONVERSATION_SCRIPT) }, nice);
    // The console comparison on a bridge of its own (CONSOLE_TOKEN set).
    const consoleCost = async (): Promise<ConsoleCost> => {
      const consoleWorld = await startLoad({ CONSOLE_TOKEN: BENCH_CONSOLE_TOKEN, CONSOLE_TRANSCRIPTS: 'true' });
      log(`console cost: ${plan.consoleCalls} calls without consoles, with ${CONSOLES}, without again…`);
      const cost = await measureConsoleCost(consoleWorld, plan.consoleCalls, plan.windowMs);
      log(`  ${consoleCostLine(cost)}`);
      return cost;
    };
    if (args.consoleOnly) {
      const cost = await consoleCost();
      if (args.write) {
        writeFileSync(resolve(REPO_ROOT, 'bench/results.console.json'), `${JSON.stringify({ date, machine, consoleCost: cost }, null, 2)}\n`);
        log('wrote bench/results.console.json');
      }
      return;
    }
    let world = await startLoad();
    if (args.compare !== undefined) {
      await compareRun(world, args.compare, plan.concurrentOpens, plan.windowMs);
      return;
    }
    log(`bridge: pid ${world.bridge.pid} (${world.bridgePids.length} process(es): primary + workers), node ${world.bridge.entry}, WORKERS=${args.workers ?? 'unset'}, LOG_LEVEL=warn, CA via ${args.caMode === 'file' ? 'REALTIME_CA_FILE' : 'NODE_EXTRA_CA_CERTS'}, ${world.bridge.url}; emulator pid ${world.emulator.pid} ${world.emulator.ready.baseURL} (instant); load generator pid ${world.loadgen.pid}`);

    // 1. open → opened
    log(`open → opened: ${plan.sequentialOpens} one at a time, then ${plan.concurrentOpens} concurrent…`);
    const opened = await world.loadgen.call<{ sequential: number[]; concurrent: number[]; failures: number }>({ cmd: 'open-latency', sequential: plan.sequentialOpens, concurrent: plan.concurrentOpens });
    await sleep(2000);
    const openLatency = {
      sequential: percentiles(opened.sequential),
      concurrentSessions: plan.concurrentOpens,
      concurrent: percentiles(opened.concurrent),
      concurrentFailures: opened.failures,
    };
    log(`  sequential ${JSON.stringify(openLatency.sequential)}\n  concurrent ${JSON.stringify(openLatency.concurrent)}`);

    // 2 + 3. hops at light load
    log(`hops at light load: ${plan.lightCalls} calls…`);
    const lightLoad = await runStep(world, plan.lightCalls, 'conversational', plan.windowMs, 0);
    log(`  inbound ${JSON.stringify(lightLoad.inboundHopMs)}\n  outbound ${JSON.stringify(lightLoad.outboundHopMs)}`);

    // 4. barge-in
    log(`barge-in: ${plan.bargeInCalls} calls interrupting every reply…`);
    await world.emulator.call({ cmd: 'set-script', script: INTERRUPTIBLE_SCRIPT });
    const bargeStep = await runStep(world, plan.bargeInCalls, 'interrupting', plan.windowMs, 0);
    await world.emulator.call({ cmd: 'set-script', script: CONVERSATION_SCRIPT });
    const joined = bargeStep.joined;
    const bargeIn = {
      calls: plan.bargeInCalls,
      reactionMs: percentiles(joined.bargeInReactions),
      interruptions: joined.staleBytes.length,
      staleBytesTotal: joined.staleBytes.reduce((a, b) => a + b, 0),
      staleBytesMax: Math.max(0, ...joined.staleBytes),
    };
    log(`  reaction ${JSON.stringify(bargeIn.reactionMs)}, stale bytes ${bargeIn.staleBytesTotal} over ${bargeIn.interruptions} interruptions`);

    // The console's cost to calls (its own bridge process).
    const consoleResult = await consoleCost();

    // 5 + 6. capacity sweep and memory slope, on a fresh bridge process: RSS is a high-water mark (freed
    // heap is rarely returned), so the burst of opens above would otherwise hide the first steps' growth.
    world = await startLoad();
    const baseline = readTreeSample(world.bridgePids);
    const fdCap = fdLimit === null ? Infinity : Math.floor((fdLimit - FD_SLACK) / FDS_PER_CALL);
    const cap = Math.min(fdCap, args.maxCalls ?? Infinity, MAX_CALLS - 1);
    const steps: StepResult[] = [];
    let capacityCalls: number | null = null;
    let stoppedBecause = 'all planned steps ran';
    for (const calls of plan.steps) {
      if (calls > cap) {
        stoppedBecause = calls > fdCap ? `${calls} calls would need more than the open-files limit (${fdLimit}) allows` : `${calls} calls exceed --max-calls`;
        break;
      }
      const last = steps.at(-1);
      if (last) {
        // Bound memory: don't start a step whose projected bridge RSS would take half of the machine's memory.
        const perCallBytes = Math.max(0, (last.bridgeRssMiB * 2 ** 20 - baseline.rssBytes) / last.calls);
        const projected = last.bridgeRssMiB * 2 ** 20 + perCallBytes * (calls - last.calls);
        if (projected > totalmem() / 2) {
          stoppedBecause = `${calls} calls would need ~${mib(projected)} MiB of bridge RSS (over half of this machine's memory)`;
          break;
        }
      }
      log(`capacity step: ${calls} calls…`);
      let step = withoutJoined(await runStep(world, calls, 'conversational', plan.windowMs, baseline.rssBytes));
      if (!step.passed) {
        // Shared 2-core machines have bursts of foreign load; a step counts as failed only if it fails twice.
        log(`  missed (in p99 ${step.inboundHopMs?.p99}, out p99 ${step.outboundHopMs?.p99}, late ${step.lateCallerFrames}/${step.lateBotFrames}, load ${step.loadAverage1m}); repeating once`);
        step = { ...withoutJoined(await runStep(world, calls, 'conversational', plan.windowMs, baseline.rssBytes)), attempts: 2 };
      }
      steps.push(step);
      log(`  in p99 ${step.inboundHopMs?.p99} out p99 ${step.outboundHopMs?.p99} late ${step.lateCallerFrames}/${step.lateBotFrames}${step.lateBotFrames ? ` (gaps ${step.lateBotGapsMs.join(',')} ms)` : ''} missing ${step.lostFrames} frames/${step.missingBotMs} ms bot (${step.botRepliesChecked} replies checked), underruns ${step.botUnderruns} (max ${step.maxBotUnderrunMs} ms) dropped ${step.droppedCalls} bridge ${step.bridgeCpuSecondsPerCallMinute} CPU-s/call-min, cpu ${step.bridgeCpuAvgPercent}% over ${step.bridgeProcesses} proc, rss ${step.bridgeRssMiB} MiB (${step.bridgeRssPerCallKB} KB/call), worker loop p99 ${step.workerLoopLagP99Ms.join('/') || step.bridgeLoopLagP99Ms} ms; load generator ${step.loadgenCpuPercent}% (loop p99 ${step.loadgenLoopDelayP99Ms} ms), emulator ${step.emulatorCpuPercent}% → ${step.passed ? 'pass' : 'FAIL'}`);
      if (!step.passed) {
        stoppedBecause = `the ${calls}-call step missed the criteria`;
        break;
      }
      capacityCalls = calls;
    }
    const points = [{ x: 0, y: baseline.rssBytes }, ...steps.map((s) => ({ x: s.calls, y: s.bridgeRssMiB * 2 ** 20 }))];
    const perCall = slope(points);
    const memory = {
      baselineRssMiB: mib(baseline.rssBytes),
      bytesPerCall: perCall === null ? null : Math.round(perCall),
      points: steps.map((s) => ({ calls: s.calls, rssMiB: s.bridgeRssMiB })),
    };

    // 7. codec
    log('codec throughput…');
    const codec = runCodecBench(plan.codecMsPerCase);
    for (const c of codec) log(`  ${c.name}: ${c.mbPerSecond} MB/s`);

    const partial: Omit<BenchResults, 'targets'> = {
      date,
      mode: plan.mode,
      durationS: Math.round((performance.now() - startedAt) / 1000),
      machine,
      setup: { bridgeEntry: world.bridge.entry, bridgeLogLevel: 'warn', caTrust: args.caMode === 'file' ? 'REALTIME_CA_FILE' : 'NODE_EXTRA_CA_CERTS', emulatorSpeed: 'instant', emulatorDeltaMs: EMULATOR_DELTA_MS, frameMs: FRAME_MS, nice: priority, workers: args.workers ?? null, loadProcesses: 'separate' },
      openLatency,
      lightLoad: withoutJoined(lightLoad),
      bargeIn,
      capacity: { steps, capacityCalls, stoppedBecause },
      memory,
      codec,
      consoleCost: consoleResult,
    };
    const results: BenchResults = { ...partial, targets: evaluateTargets(partial) };
    log('');
    for (const t of results.targets) log(`target ${t.name}: ${t.value} (goal ${t.target}) → ${t.met === null ? 'n/a' : t.met ? 'met' : 'MISSED'}`);
    if (world.bridge.output.length > 0) log(`bridge printed ${world.bridge.output.length} line(s); last: ${world.bridge.output.at(-1)}`);
    if (args.write && plan.mode === 'quick') {
      // A smoke check must not replace the recorded full run.
      writeFileSync(resolve(REPO_ROOT, 'bench/results.quick.json'), `${JSON.stringify(results, null, 2)}\n`);
      log('wrote bench/results.quick.json (BENCHMARKS.md and bench/results.json keep the last full run)');
    } else if (args.write) {
      writeFileSync(resolve(REPO_ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
      const mdPath = resolve(REPO_ROOT, 'BENCHMARKS.md');
      const doc = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '# Benchmarks\n';
      writeFileSync(mdPath, spliceLatestRun(doc, renderLatestRun(results)));
      log('wrote bench/results.json and BENCHMARKS.md');
    }
  } finally {
    await stopAll();
  }
}

/**
 * `--compare N`: the figures one optimisation is judged by, in about a minute: N concurrent opens
 * (open → opened), then two windows of an N-call step (bridge CPU-seconds per call-minute, hops, RSS).
 * Prints one JSON line (`compare: {…}`), writes nothing. bench/compare.sh runs it for a list of commits.
 */
async function compareRun(world: World, calls: number, concurrentOpens: number, windowMs: number): Promise<void> {
  const opened = await world.loadgen.call<{ sequential: number[]; concurrent: number[]; failures: number }>({ cmd: 'open-latency', sequential: 0, concurrent: concurrentOpens });
  await sleep(2000);
  const idle = readTreeSample(world.bridgePids);
  const windows: StepResult[] = [];
  for (let i = 0; i < 2; i++) windows.push(withoutJoined(await runStep(world, calls, 'conversational', windowMs, idle.rssBytes)));
  const summary = {
    calls,
    workers: world.bridgePids.length > 1 ? world.bridgePids.length - 1 : 1,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    openedP99Ms: percentiles(opened.concurrent)?.p99 ?? null,
    openFailures: opened.failures,
    cpuSecondsPerCallMinute: windows.map((w) => w.bridgeCpuSecondsPerCallMinute),
    inboundP99Ms: windows.map((w) => w.inboundHopMs?.p99 ?? null),
    outboundP99Ms: windows.map((w) => w.outboundHopMs?.p99 ?? null),
    lateFrames: windows.map((w) => w.lateCallerFrames + w.lateBotFrames),
    missing: windows.map((w) => `${w.lostFrames} frames / ${w.missingBotMs} ms`),
    botUnderruns: windows.map((w) => w.botUnderruns),
    rssPerCallKB: windows.map((w) => w.bridgeRssPerCallKB),
    emulatorCpuPercent: windows.map((w) => w.emulatorCpuPercent),
    loadgenCpuPercent: windows.map((w) => w.loadgenCpuPercent),
  };
  log(`compare: ${JSON.stringify(summary)}`);
}

interface World {
  bridge: BridgeProcess;
  /** The bridge's primary and its workers. */
  bridgePids: number[];
  loadgen: BenchChild<true>;
  emulator: BenchChild<{ baseURL: string; caPath: string }>;
}

const CONSOLES = 10;

/**
 * The bridge's CPU for the same calls without consoles, with CONSOLES open (each following the live view and
 * one call's timeline), and without again (the mean of the two runs without is the baseline: drift and
 * foreign load on a shared machine affect both sides alike).
 */
async function measureConsoleCost(world: World, calls: number, windowMs: number): Promise<ConsoleCost> {
  const before = await runStep(world, calls, 'conversational', windowMs, 0);
  let consoles: OpenConsoles | undefined;
  let countingSince = 0;
  let seen = { bytes: 0, messages: 0, lost: 0, seconds: 0 };
  const during = await runStep(world, calls, 'conversational', windowMs, 0, {
    beforeWindow: async () => {
      consoles = await openConsoles(world.bridge.port, CONSOLES);
      await sleep(1000);
      consoles.resetCounts();
      countingSince = performance.now();
    },
    atWindowEnd: () => {
      seen = { ...consoles!.totals(), seconds: (performance.now() - countingSince) / 1000 };
    },
  });
  consoles?.close();
  const after = await runStep(world, calls, 'conversational', windowMs, 0);
  const perCall = (cpu: number) => Math.round((cpu / calls) * 1000) / 1000;
  const without = (before.bridgeCpuAvgPercent + after.bridgeCpuAvgPercent) / 2;
  return {
    calls,
    consoles: CONSOLES,
    windowMs,
    withoutCpuPercent: [before.bridgeCpuAvgPercent, after.bridgeCpuAvgPercent],
    withCpuPercent: during.bridgeCpuAvgPercent,
    perCallWithoutPercent: perCall(without),
    perCallWithPercent: perCall(during.bridgeCpuAvgPercent),
    bytesPerConsolePerSecond: Math.round(seen.bytes / CONSOLES / Math.max(0.001, seen.seconds)),
    messagesPerConsole: Math.round(seen.messages / CONSOLES),
    consolesLost: seen.lost,
  };
}

/** Sets nice −10 on `pid` (0 = this process); returns it, or null when not permitted. */
function raisePriority(pid: number): number | null {
  try {
    setPriority(pid, -10);
    return -10;
  } catch {
    return null;
  }
}

type StepWithJoin = StepResult & { joined: ReturnType<typeof joinWindow> };

function withoutJoined(step: StepWithJoin): StepResult {
  const { joined: _joined, ...rest } = step;
  return rest;
}

interface WindowCounters {
  callerFramesSent: number;
  lateCallerFrames: number;
  maxCallerLatenessMs: number;
  botFrames: number;
  lateBotFrames: number;
  lateBotGapsMs: number[];
  botUnderruns: number;
  maxBotUnderrunMs: number;
  loopDelayP99Ms: number | null;
  cpuSeconds: number;
  droppedCalls: number;
}

/** Opens `calls` calls, lets them reach steady state, measures for `windowMs`, hangs them all up. */
async function runStep(
  world: World,
  calls: number,
  voice: 'conversational' | 'interrupting',
  windowMs: number,
  idleRssBytes: number,
  hooks: {
    /** Runs once the calls are in steady state, just before the measured window (e.g. opening consoles). */
    beforeWindow?: () => Promise<void>;
    /** Runs as the window ends. */
    atWindowEnd?: () => void;
  } = {},
): Promise<StepWithJoin> {
  const open = await world.loadgen.call<{ opened: number; failures: number; firstError: string | null }>({ cmd: 'open-step', calls, voice });
  await sleep(2000);
  await hooks.beforeWindow?.();
  await fetchSelfReport(world.bridge.port); // resets the bridge's lag histograms, so the next reading covers the window only
  await world.emulator.call({ cmd: 'collect' }); // drops what came before the window
  const bridgePids = processTree(world.bridge.pid);
  const sampler = new ProcSampler(bridgePids, 1000).start();
  const emulatorSampler = new ProcSampler(world.emulator.pid, 1000).start();
  const loadgenSampler = new ProcSampler(world.loadgen.pid, 1000).start();
  const startedAt = performance.now();
  await world.loadgen.call({ cmd: 'window-start' });
  await sleep(windowMs);
  const counters = await world.loadgen.call<WindowCounters>({ cmd: 'window-end' });
  hooks.atWindowEnd?.();
  const seconds = (performance.now() - startedAt) / 1000;
  const proc = sampler.stop();
  const emulatorProc = emulatorSampler.stop();
  const loadgenProc = loadgenSampler.stop();
  const self = await fetchSelfReport(world.bridge.port);
  await sleep(1000); // frames in flight at the end of the window still arrive
  const loadLog = await world.loadgen.call<LoadgenLog>({ cmd: 'collect' });
  const emuLog = await world.emulator.call<EmulatorLog>({ cmd: 'collect' });
  const joined = joinWindow(loadLog, emuLog);
  await world.loadgen.call({ cmd: 'hang-up' });
  await sleep(Math.min(5000, 1000 + calls * 2)); // the bridge finishes its summaries before the next step
  const cpuSeconds = (proc.cpuAvgPercent / 100) * seconds;
  const step = {
    calls,
    opened: open.opened,
    openFailures: open.failures,
    droppedCalls: counters.droppedCalls,
    windowMs,
    inboundHopMs: percentiles(joined.inboundHops),
    outboundHopMs: percentiles(joined.outboundHops),
    callerFramesSent: counters.callerFramesSent,
    lateCallerFrames: counters.lateCallerFrames,
    maxCallerLatenessMs: counters.maxCallerLatenessMs,
    botFrames: counters.botFrames,
    lateBotFrames: counters.lateBotFrames,
    lateBotGapsMs: counters.lateBotGapsMs,
    lostFrames: joined.lostFrames,
    missingBotMs: joined.missingBotMs,
    botRepliesChecked: joined.repliesChecked,
    botUnderruns: counters.botUnderruns,
    maxBotUnderrunMs: counters.maxBotUnderrunMs,
    bridgeProcesses: bridgePids.length,
    bridgeCpuAvgPercent: Math.round(proc.cpuAvgPercent),
    bridgeCpuMaxPercent: Math.round(proc.cpuMaxPercent),
    bridgeCpuSecondsPerCallMinute: calls > 0 ? Math.round((cpuSeconds / (calls * (seconds / 60))) * 10_000) / 10_000 : 0,
    bridgeRssMiB: mib(proc.rssEndBytes),
    bridgeRssPerCallKB: idleRssBytes > 0 && calls > 0 ? Math.round((proc.rssEndBytes - idleRssBytes) / calls / 1024) : null,
    bridgeHeapUsedMiB: self?.heapUsedMiB ?? null,
    bridgeExternalMiB: self?.externalMiB ?? null,
    bridgeLoopLagP99Ms: self?.loopLagP99Ms ?? null,
    workerLoopLagP99Ms: self?.workerLoopLagP99Ms ?? [],
    loadgenCpuPercent: Math.round(loadgenProc.cpuAvgPercent),
    loadgenLoopDelayP99Ms: counters.loopDelayP99Ms,
    emulatorCpuPercent: Math.round(emulatorProc.cpuAvgPercent),
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    attempts: 1,
  };
  if (open.failures > 0) log(`  ${open.failures} call(s) failed to open: ${open.firstError}`);
  return { ...step, passed: stepPassed(step), joined };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
