/**
 * Test harness for the protocol session: an in-memory ProtocolSocket, a minimal Genesys-like client that
 * numbers its messages correctly, a recording CallHandler, and captured pino logs.
 */
import { expect } from 'vitest';
import type {
  CallContext,
  CallControl,
  CallHandler,
  CloseCause,
  ProtocolSession,
  ProtocolSocket,
  SessionOptions,
} from '../../src/audiohook/handler.js';
import { formatDurationMs } from '../../src/audiohook/duration.js';
import { parseServerMessage, type ServerMessage } from '../../src/audiohook/schemas.js';
import { createSession } from '../../src/audiohook/session.js';
import { createLogger } from '../../src/log/logger.js';
import { ManualClock } from '../../src/util/clock.js';

export const SESSION_ID = '30b0e395-84d3-4570-ac13-9a62d8f514c0';
export const ORG_ID = 'd7934305-0972-4844-938e-9060eef73d05';
export const CORRELATION_ID = 'e160e428-53e2-487c-977d-96989bf5c99d';
export const CONVERSATION_ID = '654eff96-52f7-42fb-8fe7-a4f9f33c3291';
export const PARTICIPANT_ID = '1aec8efd-e26f-45f0-fdb1-bcfe549fb148';
export const NULL_UUID = '00000000-0000-0000-0000-000000000000';
export const ANI = 'tel:+15555551234';
export const DNIS = 'tel:+18005556789';

export const PCMU_MONO = { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 };

export class FakeSocket implements ProtocolSocket {
  readonly texts: string[] = [];
  readonly binaries: Uint8Array[] = [];
  closeCalls = 0;
  bufferedAmount = 0;

  sendText(text: string): void {
    this.texts.push(text);
  }
  sendBinary(data: Uint8Array): void {
    this.binaries.push(data);
  }
  close(): void {
    this.closeCalls++;
  }

  /** Every text sent, strictly validated as a server message. */
  get messages(): ServerMessage[] {
    return this.texts.map((text) => {
      const parsed = parseServerMessage(JSON.parse(text));
      if (!parsed.success) throw new Error(`invalid server message ${text}: ${parsed.error.message}`);
      return parsed.data;
    });
  }

  get types(): string[] {
    return this.messages.map((m) => m.type);
  }

  last(): ServerMessage {
    const all = this.messages;
    const m = all[all.length - 1];
    if (!m) throw new Error('no server message sent');
    return m;
  }

  ofType(type: string): ServerMessage[] {
    return this.messages.filter((m) => m.type === type);
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function captureLogs() {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const logger = createLogger('trace', {
    write(s: string) {
      raw.push(s);
      lines.push(JSON.parse(s) as LogLine);
    },
  });
  return { logger, lines, raw };
}

export type Recorded = { callback: string; args: unknown[] };

/** A CallHandler that records every callback; onClose behaviour is configurable. */
export function recordingHandler(onClose?: (cause: CloseCause) => void | Promise<void>) {
  const calls: Recorded[] = [];
  const record =
    (callback: string) =>
    (...args: unknown[]) => {
      calls.push({ callback, args });
    };
  const handler: CallHandler = {
    onAudio: (ulaw, positionMs) => calls.push({ callback: 'onAudio', args: [Uint8Array.from(ulaw), positionMs] }),
    onDtmf: record('onDtmf'),
    onPlaybackStarted: record('onPlaybackStarted'),
    onPlaybackCompleted: record('onPlaybackCompleted'),
    onPaused: record('onPaused'),
    onResumed: record('onResumed'),
    onUpdate: record('onUpdate'),
    onDiscarded: record('onDiscarded'),
    onClientError: record('onClientError'),
    onClose: (cause) => {
      calls.push({ callback: 'onClose', args: [cause] });
      return onClose?.(cause);
    },
  };
  return { handler, calls, names: () => calls.map((c) => c.callback) };
}

export interface HarnessOptions extends Partial<SessionOptions> {
  /** Handler returned by createCall; omit for a recording handler. null = no createCall at all. */
  handler?: CallHandler | null;
  onClose?: (cause: CloseCause) => void | Promise<void>;
}

/** A session wired to a fake socket and a fake Genesys client that numbers its messages correctly. */
export function makeHarness(options: HarnessOptions = {}) {
  const clock = new ManualClock(1_000);
  const socket = new FakeSocket();
  const logs = captureLogs();
  const recorder = recordingHandler(options.onClose);
  const contexts: CallContext[] = [];
  let control: CallControl | undefined;
  const { handler: chosenHandler, onClose: _unused, ...sessionOverrides } = options;
  const handler = chosenHandler === undefined ? recorder.handler : chosenHandler;
  // The call setups the session deferred (SessionOptions.deferCallSetup): run by client.open() right after
  // the `open`, as the loop's next turn would, or by a test that wants to see the time between.
  const deferred: Array<() => void> = [];
  const runDeferred = () => {
    for (let run = deferred.shift(); run; run = deferred.shift()) run();
  };
  const createCall =
    handler === null
      ? undefined
      : (context: CallContext, c: CallControl) => {
          contexts.push(context);
          control = c;
          return handler;
        };
  const session: ProtocolSession = createSession({
    socket,
    sessionId: SESSION_ID,
    organizationId: ORG_ID,
    correlationId: CORRELATION_ID,
    connectorId: 'bot-a',
    logger: logs.logger,
    clock,
    deferCallSetup: (run) => deferred.push(run),
    ...(createCall ? { createCall } : {}),
    ...sessionOverrides,
  });
  const client = new FakeClient(session, socket, runDeferred);
  return {
    clock,
    /** Call setups still waiting for the loop's next turn. */
    deferred,
    runDeferred,
    socket,
    logs,
    session,
    client,
    calls: recorder.calls,
    names: recorder.names,
    contexts,
    get control(): CallControl {
      if (!control) throw new Error('createCall was not called');
      return control;
    },
  };
}

export function openParameters(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    organizationId: ORG_ID,
    conversationId: CONVERSATION_ID,
    participant: { id: PARTICIPANT_ID, ani: ANI, aniName: 'Jane Caller', dnis: DNIS },
    media: [PCMU_MONO],
    language: 'en-US',
    inputVariables: { customerTier: 'gold' },
    ...overrides,
  };
}

/** The Genesys side: correct seq/serverseq/position unless a test overrides them. */
export class FakeClient {
  seq = 0;
  positionMs = 0;

  constructor(
    private readonly session: ProtocolSession,
    private readonly socket: FakeSocket,
    /** Runs the call setups the session deferred (the loop's next turn); open() calls it. */
    private readonly nextTurn: () => void = () => {},
  ) {}

  get serverseq(): number {
    const messages = this.socket.messages;
    return messages.length === 0 ? 0 : messages[messages.length - 1]!.seq;
  }

  envelope(type: string, parameters: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}) {
    this.seq++;
    return {
      version: '2',
      id: SESSION_ID,
      type,
      seq: this.seq,
      serverseq: this.serverseq,
      position: formatDurationMs(this.positionMs),
      parameters,
      ...overrides,
    };
  }

  send(type: string, parameters: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}): void {
    this.session.handleText(JSON.stringify(this.envelope(type, parameters, overrides)));
  }

  /** Sends `open` and lets the loop turn after it run (the deferred call setup); see openOnly(). */
  open(overrides: Record<string, unknown> = {}): void {
    this.openOnly(overrides);
    this.nextTurn();
  }

  /** Sends `open` alone: the call is not set up until the loop's next turn or the next event. */
  openOnly(overrides: Record<string, unknown> = {}): void {
    this.send('open', openParameters(overrides));
  }

  /** Sends PCMU mono audio (or any bytes) and advances the client position by its duration at 1 byte/sample. */
  audio(bytes: Uint8Array, bytesPerSampleFrame = 1): void {
    this.session.handleBinary(bytes);
    this.positionMs += ((bytes.length / bytesPerSampleFrame) * 1000) / 8000;
  }
}

/** The invariants the Genesys client checks on every server message (AudioHook spec: message envelope). */
export function expectWellSequenced(socket: FakeSocket): void {
  const messages = socket.messages; // also validates each message strictly
  messages.forEach((m, i) => {
    expect(m.seq).toBe(i + 1);
    expect(m.id).toBe(SESSION_ID);
    expect(m.version).toBe('2');
    expect(m.parameters).toBeTypeOf('object');
    if (i > 0) expect(m.clientseq).toBeGreaterThanOrEqual(messages[i - 1]!.clientseq);
  });
}

/** Lets promise continuations (close handler, finished) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

export function bytes(length: number, fill = 0x55): Uint8Array {
  return new Uint8Array(length).fill(fill);
}
