/** Test doubles for driving one CallBridge without sockets: a scripted model and a recording CallControl. */
import { pino } from 'pino';
import type { RealtimeClientEvent, RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import type { CallContext, CallControl, CallHandler, SessionState } from '../../src/audiohook/handler.js';
import type { DisconnectReason, EventEntity } from '../../src/audiohook/schemas.js';
import type { BridgeDeps } from '../../src/bridge/bridge-deps.js';
import { createBridgeFactory, type BridgeFactory } from '../../src/bridge/call.js';
import { bridgeEnvSchema } from '../../src/bridge/env.js';
import type { ModelConnection } from '../../src/realtime/connection.js';
import { ModelConnectionError } from '../../src/realtime/connection.js';
import { realtimeEnvSchema } from '../../src/realtime/env.js';
import { ManualClock } from '../../src/util/clock.js';
import type { CallRecord, DeliveryResult } from '../../src/bridge/webhook.js';

export class ScriptedModel implements ModelConnection {
  readonly sent: RealtimeClientEvent[] = [];
  closed = false;
  private events: Array<(e: RealtimeServerEvent) => void> = [];
  private errors: Array<(e: ModelConnectionError) => void> = [];
  private closes: Array<(code: number, reason: string) => void> = [];
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  readonly ready = new Promise<void>((resolve, reject) => {
    this.resolveReady = resolve;
    this.rejectReady = reject;
  });
  bufferedAmount = 0;

  constructor() {
    this.ready.catch(() => undefined);
  }
  send(event: RealtimeClientEvent): void {
    if (!this.closed) this.sent.push(event);
  }
  onEvent(l: (e: RealtimeServerEvent) => void): void {
    this.events.push(l);
  }
  onError(l: (e: ModelConnectionError) => void): void {
    this.errors.push(l);
  }
  onClose(l: (code: number, reason: string) => void): void {
    this.closes.push(l);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closes) l(1000, 'call ended');
  }
  open(): void {
    this.resolveReady();
  }
  refuse(message: string): void {
    this.rejectReady(new ModelConnectionError(message));
  }
  emit(event: Record<string, unknown>): void {
    for (const l of this.events) l({ event_id: 'ev', ...event } as unknown as RealtimeServerEvent);
  }
  error(code: string, message = code, clientEventId?: string): void {
    for (const l of this.errors) l(new ModelConnectionError(message, code, clientEventId));
  }
  drop(code = 1006): void {
    this.closed = true;
    for (const l of this.closes) l(code, '');
  }
  ofType<T extends RealtimeClientEvent['type']>(type: T): Array<Extract<RealtimeClientEvent, { type: T }>> {
    return this.sent.filter((e) => e.type === type) as Array<Extract<RealtimeClientEvent, { type: T }>>;
  }
  sessionUpdated(input = 'audio/pcmu', output = 'audio/pcmu'): void {
    this.emit({
      type: 'session.updated',
      session: { type: 'realtime', audio: { input: { format: { type: input } }, output: { format: { type: output } } } },
    });
  }
}

export class RecordingControl implements CallControl {
  state: SessionState = 'active';
  readonly audio: Uint8Array[] = [];
  /** Each sendAudio with the clock time it happened at. */
  readonly audioAt: Array<{ at: number; bytes: number }> = [];
  readonly events: EventEntity[][] = [];
  disconnects: Array<{ reason: DisconnectReason; info?: string; outputs?: Record<string, string> }> = [];
  bufferedAmount = 0;
  constructor(private readonly clock: ManualClock) {}
  /** Clock time until which sendAudio refuses, as the protocol session does during a Genesys 429 hold. */
  refuseAudioUntil = Number.NEGATIVE_INFINITY;
  sendAudio(ulaw: Uint8Array): boolean {
    if (this.state !== 'active' || this.clock.now() < this.refuseAudioUntil) return false;
    this.audio.push(ulaw.slice());
    this.audioAt.push({ at: this.clock.now(), bytes: ulaw.length });
    return true;
  }
  sendEvent(entities: EventEntity[]): boolean {
    this.events.push(entities);
    return true;
  }
  disconnect(reason: DisconnectReason, info?: string, outputs?: Record<string, string>): void {
    this.disconnects.push({ reason, ...(info !== undefined ? { info } : {}), ...(outputs ? { outputs } : {}) });
    this.state = 'disconnecting';
  }
  pause(): void {}
  resume(): void {}
  get audioBytes(): number {
    return this.audio.reduce((n, a) => n + a.length, 0);
  }
  entityTypes(): string[] {
    return this.events.flat().map((e) => e.type);
  }
}

export const flush = () => new Promise<void>((r) => setImmediate(r));

export interface Harness {
  clock: ManualClock;
  /** The latest model connection the bridge opened. */
  model: ScriptedModel;
  /** Every model connection the bridge opened, in order. */
  models: ScriptedModel[];
  control: RecordingControl;
  handler: CallHandler;
  factory: BridgeFactory;
  records: Array<{ record: CallRecord; delivery: DeliveryResult | undefined }>;
  connects: number;
}

export function startCall(
  options: {
    vars?: Record<string, string>;
    env?: Record<string, string>;
    deps?: Partial<BridgeDeps>;
    /** Every connect throws this (no handshake details: a configuration error). */
    connectFails?: string;
    /** The next connects throw these, in order; later ones succeed. */
    connectErrors?: ModelConnectionError[];
  } = {},
): Harness {
  const clock = new ManualClock(1000);
  const model = new ScriptedModel();
  const control = new RecordingControl(clock);
  const records: Harness['records'] = [];
  const env = { ...realtimeEnvSchema.parse(options.env ?? {}), ...bridgeEnvSchema.parse(options.env ?? {}) };
  const h = { clock, model, models: [], control, records, connects: 0 } as unknown as Harness;
  const connectErrors = [...(options.connectErrors ?? [])];
  const factory = createBridgeFactory({
    env,
    connect: { apiKey: 'sk-test', connectTimeoutMs: env.MODEL_CONNECT_TIMEOUT_MS },
    clock,
    connectModel: async () => {
      h.connects++;
      if (options.connectFails) throw new ModelConnectionError(options.connectFails);
      const error = connectErrors.shift();
      if (error) throw error;
      // The first connection is the one created up front; each later one is new (a new session).
      const next = h.models.length === 0 ? model : new ScriptedModel();
      h.models.push(next);
      h.model = next;
      return next;
    },
    // Deterministic jitter: half the cap.
    random: () => 0.5,
    sink: {
      deliver: async () => ({ delivered: true, attempts: 1, status: 200 }),
    },
    onCallFinished: (record, delivery) => records.push({ record, delivery }),
    ...options.deps,
  });
  const context: CallContext = {
    sessionId: 'sess-1',
    correlationId: 'corr-1',
    organizationId: 'org-1',
    conversationId: 'conv-1',
    connectorId: 'bot',
    participant: { id: 'p', ani: 'tel:+1555', aniName: '', dnis: 'tel:+1666' } as CallContext['participant'],
    language: 'en-US',
    inputVariables: options.vars ?? {},
    customConfig: {},
    media: { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 } as CallContext['media'],
    layout: {} as CallContext['layout'],
    logger: pino({ level: 'silent' }),
    openedAt: 1000,
  };
  h.factory = factory;
  h.handler = factory(context, control);
  return h;
}

/** Opens the model socket and confirms the session. */
export async function makeReady(h: Harness): Promise<void> {
  await flush();
  h.model.open();
  await flush();
  h.model.sessionUpdated();
}

/** Emits a bot response with audio of `ms` milliseconds in deltas of 100 ms. Leaves it open unless done. */
export function botSpeaks(h: Harness, responseId: string, itemId: string, ms: number, opts: { done?: boolean; metadata?: unknown } = {}): void {
  h.model.emit({ type: 'response.created', response: { id: responseId, status: 'in_progress', metadata: opts.metadata ?? null } });
  h.model.emit({ type: 'conversation.item.added', previous_item_id: null, item: { id: itemId, type: 'message', role: 'assistant' } });
  for (let sent = 0; sent < ms; sent += 100) {
    h.model.emit({
      type: 'response.output_audio.delta',
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: Buffer.alloc(800, 0x55).toString('base64'),
    });
  }
  if (opts.done) responseDone(h, responseId);
}

export function responseDone(h: Harness, responseId: string, extra: Record<string, unknown> = {}): void {
  h.model.emit({
    type: 'response.done',
    response: {
      id: responseId,
      status: 'completed',
      output: [],
      usage: { total_tokens: 30, input_tokens: 20, output_tokens: 10, input_token_details: { cached_tokens: 5, audio_tokens: 12, text_tokens: 8 }, output_token_details: { audio_tokens: 9, text_tokens: 1 } },
      ...extra,
    },
  });
}

export function summaryDone(h: Harness, text: string): void {
  h.model.emit({
    type: 'response.done',
    response: {
      id: 'resp_summary',
      status: 'completed',
      metadata: { purpose: 'call_summary' },
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] }],
    },
  });
}
