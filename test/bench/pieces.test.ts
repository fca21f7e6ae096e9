/** The benchmark harness's pure pieces (no timing assertions: figures come from `npm run bench`). */
import { describe, expect, it } from 'vitest';
import { ULAW_DECODE } from '../../src/audio/codec.js';
import { callIndexOf, frameId, readTag, readTagFromBase64, TAG_BYTES, writeTag } from '../../bench/frame-tag.js';
import { END_MARKER, START_MARKER, spliceLatestRun } from '../../bench/markdown.js';
import { cpuPercent, parseOpenFilesLimit, parseStatCpuTicks, parseStatusRssBytes } from '../../bench/proc.js';
import { stepPassed, type StepResult } from '../../bench/results.js';
import { percentileOfSorted, percentiles, slope } from '../../bench/stats.js';
import { promValue, selfReportFromMetrics, workerLagsFromMetrics } from '../../bench/prom.js';
import { joinWindow, type EmulatorLog, type LoadgenLog } from '../../bench/join.js';
import { processTree } from '../../bench/proc.js';
import { ReplyPlayout } from '../../bench/reply-playout.js';

describe('stats', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unsorted
    expect(percentiles(values)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentileOfSorted([7], 0.99)).toBe(7);
    expect(percentiles([])).toBeNull();
  });

  it('fits a least-squares slope', () => {
    expect(slope([{ x: 0, y: 10 }, { x: 100, y: 30 }, { x: 200, y: 50 }])).toBeCloseTo(0.2);
    expect(slope([{ x: 5, y: 1 }])).toBeNull();
    expect(slope([{ x: 5, y: 1 }, { x: 5, y: 2 }])).toBeNull();
  });
});

describe('frame tags', () => {
  it('round-trips ids through a frame and through base64', () => {
    const id = frameId(12_345, 200_000);
    expect(callIndexOf(id)).toBe(12_345);
    const frame = new Uint8Array(1600).fill(0x10);
    writeTag(frame, id);
    expect(readTag(frame)).toBe(id);
    expect(readTagFromBase64(Buffer.from(frame).toString('base64'))).toBe(id);
    expect(frame[TAG_BYTES]).toBe(0x10);
    expect(() => frameId(2 ** 14, 0)).toThrow(RangeError);
  });

  it('uses only near-silent μ-law codes, and rejects untagged audio', () => {
    const frame = new Uint8Array(TAG_BYTES);
    writeTag(frame, 0xffffffff);
    writeTag(frame, 0x12345678);
    for (const b of frame) expect(Math.abs(ULAW_DECODE[b]!)).toBeLessThan(128);
    expect(readTag(new Uint8Array(TAG_BYTES).fill(0x7f))).toBeNull();
    expect(readTag(new Uint8Array(3))).toBeNull();
  });
});

describe('/proc parsing', () => {
  it('reads utime+stime past a command name with spaces and parentheses', () => {
    const stat = '4242 (node (bridge) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 11 0 12345';
    expect(parseStatCpuTicks(stat)).toBe(325);
    expect(() => parseStatCpuTicks('1 (x) S')).toThrow();
  });

  it('reads VmRSS and the open-files limit', () => {
    expect(parseStatusRssBytes('Name:\tnode\nVmRSS:\t  20480 kB\nThreads: 11\n')).toBe(20480 * 1024);
    expect(() => parseStatusRssBytes('Name: node\n')).toThrow();
    expect(parseOpenFilesLimit('Limit  Soft Limit  Hard Limit  Units\nMax open files            20000                20000                files\n')).toBe(20000);
    expect(parseOpenFilesLimit('Max open files            unlimited            unlimited            files\n')).toBeNull();
  });

  it('turns tick deltas into % of one core', () => {
    expect(cpuPercent({ at: 0, cpuTicks: 100, rssBytes: 0 }, { at: 2000, cpuTicks: 300, rssBytes: 0 })).toBe(100);
  });
});

describe('capacity criterion', () => {
  const base: Omit<StepResult, 'passed'> = {
    calls: 100, opened: 100, openFailures: 0, droppedCalls: 0, windowMs: 1000,
    inboundHopMs: { count: 10, p50: 1, p90: 2, p99: 19.9, max: 30 },
    outboundHopMs: { count: 10, p50: 1, p90: 2, p99: 3, max: 4 },
    callerFramesSent: 500, lateCallerFrames: 0, maxCallerLatenessMs: 10, botFrames: 100, lateBotFrames: 0, lateBotGapsMs: [], lostFrames: 0,
    bridgeProcesses: 3, bridgeCpuAvgPercent: 10, bridgeCpuMaxPercent: 20, bridgeCpuSecondsPerCallMinute: 0.06, bridgeRssMiB: 100, bridgeRssPerCallKB: 200, bridgeHeapUsedMiB: 50, bridgeExternalMiB: 5, bridgeLoopLagP99Ms: 11,
    workerLoopLagP99Ms: [1, 2], loadgenCpuPercent: 50, loadgenLoopDelayP99Ms: 5, emulatorCpuPercent: 30, loadAverage1m: 1, attempts: 1,
  };
  it('passes below 20 ms p99 with no late frames and fails otherwise', () => {
    expect(stepPassed(base)).toBe(true);
    expect(stepPassed({ ...base, inboundHopMs: { ...base.inboundHopMs!, p99: 20 } })).toBe(false);
    expect(stepPassed({ ...base, lateBotFrames: 1 })).toBe(false);
    expect(stepPassed({ ...base, lateCallerFrames: 1 })).toBe(false);
    expect(stepPassed({ ...base, openFailures: 1 })).toBe(false);
    expect(stepPassed({ ...base, droppedCalls: 1 })).toBe(false);
    expect(stepPassed({ ...base, outboundHopMs: null })).toBe(false);
    expect(stepPassed({ ...base, lostFrames: 1 })).toBe(false);
    expect(stepPassed({ ...base, missingBotMs: 0.125 })).toBe(false);
    expect(stepPassed({ ...base, botUnderruns: 1 })).toBe(false);
    expect(stepPassed({ ...base, missingBotMs: 0, botUnderruns: 0 })).toBe(true);
  });
});

describe('BENCHMARKS.md splicing', () => {
  it('replaces only the generated section and appends it when absent', () => {
    const doc = `# B\n\nintro\n\n${START_MARKER}\nold\n${END_MARKER}\n\n## Analysis\nkept\n`;
    const next = spliceLatestRun(doc, 'new table');
    expect(next).toContain('intro');
    expect(next).toContain('## Analysis\nkept');
    expect(next).toContain(`${START_MARKER}\nnew table\n${END_MARKER}`);
    expect(next).not.toContain('old');
    expect(spliceLatestRun('# B\n', 'x')).toBe(`# B\n\n${START_MARKER}\nx\n${END_MARKER}\n`);
  });
});

describe('bridge /metrics self-report', () => {
  it('reads heap, external memory and loop lag from Prometheus text', () => {
    const text = [
      '# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
      '# TYPE nodejs_heap_size_used_bytes gauge',
      'nodejs_heap_size_used_bytes 52428800',
      'nodejs_external_memory_bytes 3145728',
      'nodejs_eventloop_lag_p99_seconds 0.0223',
      'audiohook_sessions_total{reason="completed"} 3',
    ].join('\n');
    expect(selfReportFromMetrics(text)).toEqual({ heapUsedMiB: 50, externalMiB: 3, loopLagP99Ms: 12.3, workerLoopLagP99Ms: [] });
    expect(promValue(text, 'audiohook_sessions_total')).toBe(3);
    expect(promValue(text, 'missing_metric')).toBeNull();
  });
});

describe('per-worker loop delay from the instance /metrics', () => {
  it('reads each worker slot in order, in ms', () => {
    const text = [
      '# TYPE audiohook_worker_event_loop_delay_p99_seconds gauge',
      'audiohook_worker_event_loop_delay_p99_seconds{worker="2"} 0.0031',
      'audiohook_worker_event_loop_delay_p99_seconds{worker="1"} 0.0123',
    ].join('\n');
    expect(workerLagsFromMetrics(text)).toEqual([12.3, 3.1]);
    expect(workerLagsFromMetrics('nodejs_eventloop_lag_p99_seconds 0.01')).toEqual([]);
  });

  it('finds the children of a process (the bridge primary\'s workers) in /proc', () => {
    expect(processTree(process.pid)[0]).toBe(process.pid);
  });
});

describe('joining the load generator\'s and the emulator\'s logs (separate processes)', () => {
  const load: LoadgenLog = {
    windowStart: 1000,
    windowEnd: 2000,
    sentTags: [11, 12, 13],
    sentAt: [1100, 1300, 1500],
    // call 0: audio at 1205 (reply to delta at 1200), a barge-in at 1610 then stale 160 bytes at 1620, next reply audio at 1900
    audioCall: [0, 0, 0, 0, 1],
    audioAt: [1205, 1400, 1620, 1900, 1510],
    audioBytes: [800, 1600, 160, 1600, 800],
    bargeIns: [{ call: 0, at: 1610 }, { call: 0, at: 2500 }],
  };
  const emu: EmulatorLog = {
    appendTags: [11, 12],
    appendAt: [1100.5, 1301.25],
    events: [
      { call: 0, kind: 'first-delta', at: 1200 },
      { call: 1, kind: 'first-delta', at: 1508 },
      { call: 0, kind: 'speech-started', at: 1607 },
      { call: 0, kind: 'created', at: 1700 },
      { call: 0, kind: 'first-delta', at: 1898 },
      { call: 0, kind: 'first-delta', at: 2600 }, // after the window
    ],
    replies: [],
  };

  it('inbound hops by frame id, lost frames counted', () => {
    const j = joinWindow(load, emu);
    expect(j.inboundHops).toEqual([0.5, 1.25]);
    expect(j.lostFrames).toBe(1);
  });

  it('outbound hops: first delta of a response in the window → the first audio the caller receives after it', () => {
    expect(joinWindow(load, emu).outboundHops.sort((a, b) => a - b)).toEqual([2, 2, 5]);
  });

  it('barge-in reaction from speech_started, and stale bytes until the next response is created', () => {
    const j = joinWindow(load, emu);
    expect(j.bargeInReactions).toEqual([3]);
    expect(j.staleBytes).toEqual([160]);
  });
});

describe('missing bot audio: what the model wrote for a completed reply against what the caller received', () => {
  const load: LoadgenLog = {
    windowStart: 10_000,
    windowEnd: 20_000,
    sentTags: [],
    sentAt: [],
    // call 0: reply A (8000 bytes written) arrives whole; reply B (8000 written) arrives 1600 short;
    // reply C starts too close to the window's end to judge. Call 1: a reply before the window.
    audioCall: [0, 0, 0, 0, 0, 0, 0, 1],
    audioAt: [11_000, 11_400, 11_800, 14_000, 14_400, 18_500, 18_700, 9_500],
    audioBytes: [3200, 3200, 1600, 3200, 3200, 1600, 1600, 8000],
    bargeIns: [],
  };
  const emu: EmulatorLog = {
    appendTags: [],
    appendAt: [],
    events: [],
    replies: [
      { call: 0, firstDeltaAt: 13_990, bytes: 8000 },
      { call: 0, firstDeltaAt: 10_990, bytes: 8000 },
      { call: 0, firstDeltaAt: 18_490, bytes: 8000 },
      { call: 1, firstDeltaAt: 9_490, bytes: 8000 },
    ],
  };

  it('counts the shortfall of replies that started in the window early enough to have played out', () => {
    const j = joinWindow(load, emu);
    expect(j.missingBotMs).toBe(200);
    expect(j.repliesChecked).toBe(2);
  });

  it('counts nothing when every reply arrived whole', () => {
    const whole = { ...load, audioBytes: [3200, 3200, 1600, 3200, 3200, 1600, 1600, 8000], audioAt: [11_000, 11_400, 11_800, 14_000, 14_400, 14_800, 18_700, 9_500] };
    expect(joinWindow(whole, emu).missingBotMs).toBe(0);
  });
});

describe('bot underruns: a reply\'s playout as the caller hears it', () => {
  it('runs dry only when audio of the same reply arrives after everything before it has played', () => {
    const playout = new ReplyPlayout();
    expect(playout.arrive(0, 400, true)).toBe(0); // 0–400 queued
    expect(playout.arrive(200, 200, false)).toBe(0); // on time: plays 400–600
    expect(playout.arrive(610, 200, false)).toBe(0); // 10 ms dry: within the tolerance
    expect(playout.arrive(900, 200, false)).toBe(90); // 810 → 900: a 90 ms gap heard
    expect(playout.arrive(5000, 200, true)).toBe(0); // a new reply is not a gap
    playout.flush();
    expect(playout.arrive(9000, 200, false)).toBe(0); // after a barge-in nothing was queued to run dry
  });
});
