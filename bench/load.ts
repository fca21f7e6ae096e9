/**
 * The load generator of the benchmark: N simulated Genesys calls, in a process of their own (loadgen-child.ts).
 * It logs, with `epochNow()`, what the caller side of each hop sees; the emulator (another process) logs the
 * model side, and the harness joins the two (join.ts):
 * - inbound hop: a caller frame is written to the socket → the emulator receives the append carrying it;
 * - outbound hop: the emulator writes the first audio delta of a response → the caller receives audio;
 * - barge-in: the emulator writes speech_started → the caller receives `barge_in`; and the bytes of the
 *   interrupted response that still reach the caller afterwards (until the next response is created).
 * Late frames (caller frames written late; gaps inside a reply) and bot underruns (the playout of a reply
 * running dry, reply-playout.ts) need only this side and are counted here.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { ULAW_SILENCE } from '../src/audio/codec.js';
import { ulawTone } from '../src/audio/level.js';
import { GenesysClient } from '../src/simulator/index.js';
import { frameId, writeTag } from './frame-tag.js';
import { epochNow, type LoadgenLog } from './join.js';
import { ReplyPlayout } from './reply-playout.js';
import { BENCH_API_KEY, BENCH_CLIENT_SECRET } from './bridge-process.js';

export const FRAME_MS = 200;
const FRAME_BYTES = FRAME_MS * 8;
/** A caller frame is late when written more than this after it was due (the definition). */
export const LATE_FRAME_MS = 50;
/** Bot frames of one reply more than a frame + LATE_FRAME_MS apart: the bridge's pacing was late. */
const BOT_GAP_LATE_MS = FRAME_MS + LATE_FRAME_MS;
/** A longer silence starts a new reply (the caller's cycle leaves ≥ 2 s between replies). */
const BOT_BURST_GAP_MS = 1500;

const LOOP_MONITOR_RESOLUTION_MS = 10;

const TONE_FRAME = ulawTone(FRAME_MS, 440);
const SILENCE_FRAME = new Uint8Array(FRAME_BYTES).fill(ULAW_SILENCE);

/** What a caller says in frame `tick`: speech (a tone) or silence. */
export type VoicePolicy = (call: BenchCall, tick: number) => boolean;

/** Speaks 1 s out of every 4 s, starting 2 s in, so replies (and the greeting) play while the caller is quiet. */
export const conversationalVoice: VoicePolicy = (_call, tick) => tick % 20 >= 10 && tick % 20 < 15;

/** Interrupts every bot reply once 600 ms of it has arrived, speaking for 600 ms. */
export const interruptingVoice: VoicePolicy = (call, tick) => {
  if (tick < call.speakUntilTick) return true;
  if (call.measuring && call.botBytesInResponse >= 600 * 8) {
    call.botBytesInResponse = Number.NEGATIVE_INFINITY; // once per response
    call.speakUntilTick = tick + 3;
    return true;
  }
  return false;
};

export interface Recorder {
  /** Counting late frames (the window). */
  active: boolean;
  /** Logging hop events (the window and the collection grace after it). */
  logging: boolean;
  log: LoadgenLog;
  callerFramesSent: number;
  lateCallerFrames: number;
  maxCallerLatenessMs: number;
  botFrames: number;
  lateBotFrames: number;
  /** The gaps (ms) that made bot frames late, for diagnosis (bounded). */
  lateBotGapsMs: number[];
  /** Times a reply's playout ran dry before its next chunk arrived (the caller heard a gap), and the longest gap. */
  botUnderruns: number;
  maxBotUnderrunMs: number;
}

function newRecorder(): Recorder {
  return {
    active: false,
    logging: false,
    log: { windowStart: 0, windowEnd: 0, sentTags: [], sentAt: [], audioCall: [], audioAt: [], audioBytes: [], bargeIns: [] },
    callerFramesSent: 0,
    lateCallerFrames: 0,
    maxCallerLatenessMs: 0,
    botFrames: 0,
    lateBotFrames: 0,
    lateBotGapsMs: [],
    botUnderruns: 0,
    maxBotUnderrunMs: 0,
  };
}

export class BenchCall {
  /** Set once the first bot audio arrived: the model session is ready, hops are meaningful. */
  measuring = false;
  botBytesInResponse = 0;
  speakUntilTick = 0;
  lastBotFrameAt: number | undefined;
  readonly playout = new ReplyPlayout();
  private tick = 0;
  private anchor = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    readonly index: number,
    readonly client: GenesysClient,
    private readonly world: LoadWorld,
    private readonly voice: VoicePolicy,
  ) {}

  startStreaming(): void {
    this.anchor = performance.now();
    this.step();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private step(): void {
    if (this.stopped || this.client.session.audioState === 'stopped') return;
    const due = this.anchor + this.tick * FRAME_MS;
    const frame = new Uint8Array(FRAME_BYTES);
    frame.set(this.voice(this, this.tick) ? TONE_FRAME : SILENCE_FRAME);
    const id = frameId(this.index, this.tick);
    writeTag(frame, id);
    this.world.sendCallerFrame(this, id, frame, due);
    this.tick++;
    this.timer = setTimeout(() => this.step(), Math.max(0, this.anchor + this.tick * FRAME_MS - performance.now()));
  }
}

export class LoadWorld {
  recorder: Recorder = newRecorder();
  readonly calls: (BenchCall | undefined)[] = [];
  private nextIndex = 0;
  private loopDelay: IntervalHistogram | undefined;

  constructor(readonly bridgeUrl: string) {}

  resetRecorder(): Recorder {
    this.recorder = newRecorder();
    return this.recorder;
  }

  startLoopMonitor(): void {
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
    this.loopDelay.enable();
  }

  /** Harness event-loop delay p99 (ms) since startLoopMonitor: how loaded the load generator was. */
  stopLoopMonitor(): number | null {
    const h = this.loopDelay;
    if (!h) return null;
    h.disable();
    this.loopDelay = undefined;
    // The histogram records whole sampling intervals; the delay is what exceeds the interval.
    return Math.round(Math.max(0, h.percentile(99) / 1e6 - LOOP_MONITOR_RESOLUTION_MS) * 10) / 10;
  }

  /** Connects one simulated Genesys call (signed upgrade), wired to the measurements; not yet opened. */
  async connect(voice: VoicePolicy): Promise<BenchCall> {
    const client = await GenesysClient.connect({ url: this.bridgeUrl, apiKey: BENCH_API_KEY, clientSecret: BENCH_CLIENT_SECRET, connectTimeoutMs: 30_000 });
    const call = new BenchCall(this.nextIndex++, client, this, voice);
    this.calls[call.index] = call;
    client.session.onEvent((event) => {
      if (event.kind === 'server-audio') this.onBotAudio(call, event.bytes);
      else if (event.kind === 'server-message' && event.message.type === 'event') {
        const entities = (event.message.parameters as { entities: { type: string }[] }).entities;
        if (entities.some((e) => e.type === 'barge_in')) this.onBargeIn(call);
      }
    });
    void client.ended.then(() => call.stop());
    return call;
  }

  /** Sends `open`; resolves with the open → opened time in ms. Streaming starts at `opened`. */
  open(call: BenchCall, timeoutMs = 30_000): Promise<number> {
    return new Promise((resolveOpen, reject) => {
      let sentAt = 0;
      const unsubscribe = call.client.session.onEvent((event) => {
        if (event.kind === 'server-message' && event.message.type === 'opened') {
          const ms = performance.now() - sentAt;
          unsubscribe();
          clearTimeout(timer);
          call.startStreaming();
          resolveOpen(ms);
        } else if (event.kind === 'state' && (event.state === 'failed' || event.state === 'closed')) {
          unsubscribe();
          clearTimeout(timer);
          reject(new Error(`call ${call.index} ended (${event.state}) before opened`));
        }
      });
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`call ${call.index}: no opened within ${timeoutMs} ms`));
      }, timeoutMs);
      sentAt = performance.now();
      // GenesysClient.open() sends synchronously; its own promise is not used (we timestamp the event itself).
      call.client.open().catch(() => undefined);
    });
  }

  async hangUp(call: BenchCall): Promise<void> {
    call.stop();
    try {
      await call.client.close('end', 15_000);
    } catch {
      call.client.terminate();
    }
    this.calls[call.index] = undefined;
  }

  sendCallerFrame(call: BenchCall, id: number, frame: Uint8Array, due: number): void {
    const now = performance.now();
    const r = this.recorder;
    if (r.active) {
      const lateness = now - due;
      r.callerFramesSent++;
      if (lateness > LATE_FRAME_MS) r.lateCallerFrames++;
      if (lateness > r.maxCallerLatenessMs) r.maxCallerLatenessMs = lateness;
    }
    const at = epochNow();
    if (call.client.session.sendAudio(frame) && r.active && call.measuring) {
      r.log.sentTags.push(id);
      r.log.sentAt.push(at);
    }
  }

  private onBotAudio(call: BenchCall, bytes: number): void {
    const now = performance.now();
    call.measuring = true;
    // A new reply (after a barge-in or a pause): the interrupting caller counts its bytes afresh.
    const newReply = call.lastBotFrameAt === undefined || now - call.lastBotFrameAt >= BOT_BURST_GAP_MS;
    if (newReply) call.botBytesInResponse = 0;
    call.botBytesInResponse += bytes;
    const dryMs = call.playout.arrive(now, bytes / 8, newReply);
    const r = this.recorder;
    if (r.logging) {
      r.log.audioCall.push(call.index);
      r.log.audioAt.push(epochNow());
      r.log.audioBytes.push(bytes);
    }
    if (r.active) {
      r.botFrames++;
      if (dryMs > 0) {
        r.botUnderruns++;
        r.maxBotUnderrunMs = Math.max(r.maxBotUnderrunMs, dryMs);
      }
      const gap = call.lastBotFrameAt === undefined ? undefined : now - call.lastBotFrameAt;
      if (gap !== undefined && gap > BOT_GAP_LATE_MS && gap < BOT_BURST_GAP_MS) {
        r.lateBotFrames++;
        if (r.lateBotGapsMs.length < 100) r.lateBotGapsMs.push(Math.round(gap));
      }
    }
    call.lastBotFrameAt = now;
  }

  private onBargeIn(call: BenchCall): void {
    if (this.recorder.logging) this.recorder.log.bargeIns.push({ call: call.index, at: epochNow() });
    // A barge-in ends the reply: the next bot frame starts a new burst, not a late frame.
    call.lastBotFrameAt = undefined;
    call.botBytesInResponse = 0;
    call.playout.flush();
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; collects results and failures. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<{ results: R[]; errors: Error[] }> {
  const results: R[] = [];
  const errors: Error[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        results.push(await fn(item));
      } catch (err) {
        errors.push(err as Error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return { results, errors };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
