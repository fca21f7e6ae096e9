/**
 * The load side of the benchmark, living in the harness process: the Realtime emulator (zero model delay)
 * and N simulated Genesys calls, with the measurement points on one clock (performance.now()):
 * - inbound hop: a caller frame is written to the socket → the emulator receives the append carrying it;
 * - outbound hop: the emulator writes the first audio delta of a response → the caller receives audio;
 * - barge-in: the emulator writes speech_started → the caller receives `barge_in`; and the bytes of the
 *   interrupted response that still reach the caller afterwards (until the next response is created).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { ULAW_SILENCE } from '../src/audio/codec.js';
import { ulawTone } from '../src/audio/level.js';
import type { Emulator, EmulatorObserver } from '../src/emulator/index.js';
import { GenesysClient } from '../src/simulator/index.js';
import { frameId, readTagFromBase64, callIndexOf, writeTag } from './frame-tag.js';
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
  active: boolean;
  inboundHops: number[];
  outboundHops: number[];
  bargeIns: number[];
  staleBytes: number[];
  callerFramesSent: number;
  lateCallerFrames: number;
  maxCallerLatenessMs: number;
  botFrames: number;
  lateBotFrames: number;
  /** The gaps (ms) that made bot frames late, for diagnosis (bounded). */
  lateBotGapsMs: number[];
}

function newRecorder(): Recorder {
  return {
    active: false,
    inboundHops: [],
    outboundHops: [],
    bargeIns: [],
    staleBytes: [],
    callerFramesSent: 0,
    lateCallerFrames: 0,
    maxCallerLatenessMs: 0,
    botFrames: 0,
    lateBotFrames: 0,
    lateBotGapsMs: [],
  };
}

export class BenchCall {
  /** Set once the first bot audio arrived: the model session is ready, hops are meaningful. */
  measuring = false;
  botBytesInResponse = 0;
  speakUntilTick = 0;
  pendingOutboundAt: number | undefined;
  speechStartedAt: number | undefined;
  bargedAt: number | undefined;
  staleBytes = 0;
  lastBotFrameAt: number | undefined;
  lastDeltaResponseId: string | undefined;
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
  private readonly sessionToCall = new Map<string, number>();
  /** Caller frames in flight: tag → send time. */
  private readonly outstanding = new Map<number, number>();
  private nextIndex = 0;
  private loopDelay: IntervalHistogram | undefined;

  constructor(readonly bridgeUrl: string) {}

  /** The emulator observer that timestamps the model side of each hop. */
  readonly observer: EmulatorObserver = {
    onClientEvent: (sessionId, event, receivedAt) => {
      if (event.type !== 'input_audio_buffer.append') return;
      const tag = readTagFromBase64(event.audio);
      if (tag === null) return;
      if (!this.sessionToCall.has(sessionId)) this.sessionToCall.set(sessionId, callIndexOf(tag));
      const sentAt = this.outstanding.get(tag);
      if (sentAt === undefined) return;
      this.outstanding.delete(tag);
      if (this.recorder.active) this.recorder.inboundHops.push(receivedAt - sentAt);
    },
    onServerEvent: (sessionId, event) => {
      const index = this.sessionToCall.get(sessionId);
      const call = index === undefined ? undefined : this.calls[index];
      if (!call) return;
      switch (event.type) {
        case 'response.created':
          this.endStaleWindow(call);
          call.botBytesInResponse = 0;
          return;
        case 'response.output_audio.delta': {
          const responseId = String(event.response_id);
          if (responseId === call.lastDeltaResponseId) return;
          call.lastDeltaResponseId = responseId;
          if (this.recorder.active && call.measuring) call.pendingOutboundAt = performance.now();
          return;
        }
        case 'input_audio_buffer.speech_started':
          call.speechStartedAt = performance.now();
          return;
        default:
          return;
      }
    },
  };

  resetRecorder(): Recorder {
    this.recorder = newRecorder();
    this.outstanding.clear();
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
    void client.ended.then(() => {
      call.stop();
      this.endStaleWindow(call);
    });
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
    const measure = r.active && call.measuring;
    if (measure) this.outstanding.set(id, performance.now());
    if (!call.client.session.sendAudio(frame) && measure) this.outstanding.delete(id);
  }

  /** Caller frames that were measured but never reached the emulator. */
  lostFrames(): number {
    return this.outstanding.size;
  }

  private onBotAudio(call: BenchCall, bytes: number): void {
    const now = performance.now();
    call.measuring = true;
    call.botBytesInResponse += bytes;
    const r = this.recorder;
    if (call.pendingOutboundAt !== undefined) {
      if (r.active) r.outboundHops.push(now - call.pendingOutboundAt);
      call.pendingOutboundAt = undefined;
    }
    if (call.bargedAt !== undefined) call.staleBytes += bytes;
    if (r.active) {
      r.botFrames++;
      const gap = call.lastBotFrameAt === undefined ? undefined : now - call.lastBotFrameAt;
      if (gap !== undefined && gap > BOT_GAP_LATE_MS && gap < BOT_BURST_GAP_MS) {
        r.lateBotFrames++;
        if (r.lateBotGapsMs.length < 100) r.lateBotGapsMs.push(Math.round(gap));
      }
    }
    call.lastBotFrameAt = now;
  }

  private onBargeIn(call: BenchCall): void {
    const now = performance.now();
    if (call.speechStartedAt !== undefined && this.recorder.active) this.recorder.bargeIns.push(now - call.speechStartedAt);
    call.speechStartedAt = undefined;
    // A barge-in ends the reply: the next bot frame starts a new burst, not a late frame.
    call.lastBotFrameAt = undefined;
    call.bargedAt = now;
    call.staleBytes = 0;
  }

  /** Closes the window after a barge-in in which any audio received belongs to the interrupted reply. */
  private endStaleWindow(call: BenchCall): void {
    if (call.bargedAt === undefined) return;
    if (this.recorder.active) this.recorder.staleBytes.push(call.staleBytes);
    call.bargedAt = undefined;
    call.staleBytes = 0;
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
