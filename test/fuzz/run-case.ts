/**
 * One fuzz case: a (possibly mutated) client sequence driven through `createSession` in-process over a
 * checking fake socket and a ManualClock, then ended (client close, socket loss or silence) and settled.
 * Returns every invariant violation (see checker.ts plus the end-of-session checks here).
 */
import type { Logger } from 'pino';
import type { CallControl, CallHandler, CallHandlerFactory, ProtocolSession } from '../../src/audiohook/handler.js';
import { formatDurationMs } from '../../src/audiohook/duration.js';
import { createSession } from '../../src/audiohook/session.js';
import { SESSION_DEFAULTS } from '../../src/audiohook/session-limits.js';
import { ManualClock } from '../../src/util/clock.js';
import { InvariantChecker } from './checker.js';
import { mutate } from './mutate.js';
import { caseSeed, Prng } from './prng.js';
import { FUZZ_CORRELATION_ID, FUZZ_ORG_ID, FUZZ_SESSION_ID, validSequence, type ControlAction, type Step } from './sequence.js';

export interface HandlerProfile {
  createCall: 'ok' | 'throw' | 'none';
  /** Probability that any handler callback throws. */
  throwRate: number;
  onClose: 'sync' | 'async' | 'stuck' | 'throw' | 'reject';
  /** The call reacts to callbacks by sending audio/events (echo, acknowledgements). */
  reactive: boolean;
  /** Control actions may pass invalid arguments (wrong types, bad reasons, non-string variables). */
  hostileControl: boolean;
}

export type Ending = 'close' | 'drop' | 'silence';

export interface FuzzCase {
  index: number;
  seed: number;
  steps: Step[];
  mutations: string[];
  profile: HandlerProfile;
  ending: Ending;
}

export interface CaseOutcome {
  violations: string[];
  leaked: boolean;
  opened: boolean;
  disconnectReason: string | null;
  closedSent: boolean;
}

/** Builds case `index` of a campaign deterministically. */
export function buildCase(seed: number, index: number): FuzzCase {
  const rng = new Prng(caseSeed(seed, index));
  const sequence = validSequence(rng);
  // About one case in six stays valid: it must then run without any protocol error.
  const mutationCount = rng.chance(0.17) ? 0 : rng.int(1, 4);
  const mutations = mutate(sequence, rng, mutationCount);
  const clean = mutationCount === 0 || rng.chance(0.5);
  const profile: HandlerProfile = clean
    ? { createCall: 'ok', throwRate: 0, onClose: rng.pick(['sync', 'async'] as const), reactive: rng.chance(0.5), hostileControl: false }
    : {
        createCall: rng.pick(['ok', 'ok', 'ok', 'ok', 'throw', 'none'] as const),
        throwRate: rng.pick([0, 0, 0.05, 0.3]),
        onClose: rng.pick(['sync', 'async', 'stuck', 'throw', 'reject'] as const),
        reactive: rng.chance(0.5),
        hostileControl: true,
      };
  const ending = rng.pick<Ending>(['close', 'close', 'close', 'drop', 'silence']);
  return { index, seed: caseSeed(seed, index), steps: sequence.steps, mutations, profile, ending };
}

const MICROTASK_TURNS = 12;

/** Lets promise continuations (the close transaction) run. */
async function settleMicrotasks(turns = MICROTASK_TURNS): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/** The independent oracle for "the session will take this text's seq as the client's last seq". */
export function acknowledgedSeq(text: string, value: unknown): number | null {
  if (text.length > 65_535 || typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const m = value as Record<string, unknown>;
  const isInt = (v: unknown, min: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
  const ok =
    m.version === '2' &&
    typeof m.id === 'string' &&
    m.id.toLowerCase() === FUZZ_SESSION_ID &&
    typeof m.type === 'string' &&
    m.type.length > 0 &&
    isInt(m.seq, 1) &&
    isInt(m.serverseq, 0) &&
    typeof m.position === 'string' &&
    /^PT(?:\d*\.)?\d+S$/.test(m.position) &&
    typeof m.parameters === 'object' &&
    m.parameters !== null &&
    !Array.isArray(m.parameters);
  return ok ? (m.seq as number) : null;
}

function textOf(step: Extract<Step, { kind: 'message' }>, serverSeq: number): string {
  const message = step.autoServerseq ? { ...step.message, serverseq: serverSeq } : step.message;
  const text = JSON.stringify(message);
  if (step.padTo === undefined || text.length >= step.padTo) return text;
  // `_pad` is an unknown envelope key (ignored by the session): only the size changes. It is serialized
  // last, so the padding goes just before the closing brace.
  const skeleton = JSON.stringify({ ...message, _pad: '' });
  return `${skeleton.slice(0, -2)}${'a'.repeat(Math.max(0, step.padTo - skeleton.length))}"}`;
}

export async function runCase(fuzzCase: FuzzCase, logger: Logger, errorLog: string[]): Promise<CaseOutcome> {
  const rng = new Prng(fuzzCase.seed ^ 0xa5a5a5a5);
  const { profile } = fuzzCase;
  const clock = new ManualClock(0);
  const check = new InvariantChecker();
  let control: CallControl | null = null;
  let handlerCreated = false;
  let onCloseCalls = 0;
  let lastAckedSeq = 0;
  let sawClosing = false;

  const maybeThrow = (what: string) => {
    if (profile.throwRate > 0 && rng.chance(profile.throwRate)) throw new Error(`fuzz handler fault in ${what}`);
  };
  const handler: CallHandler = {
    onAudio: (ulaw) => {
      maybeThrow('onAudio');
      if (profile.reactive && rng.chance(0.3)) control?.sendAudio(ulaw);
    },
    onDtmf: (digit) => {
      maybeThrow('onDtmf');
      if (profile.reactive) control?.sendEvent([{ type: 'dtmf_echo', data: { digit } }]);
    },
    onPlaybackStarted: () => maybeThrow('onPlaybackStarted'),
    onPlaybackCompleted: () => maybeThrow('onPlaybackCompleted'),
    onPaused: () => maybeThrow('onPaused'),
    onResumed: () => {
      maybeThrow('onResumed');
      if (profile.reactive) control?.sendAudio(new Uint8Array(160).fill(0xff));
    },
    onUpdate: () => maybeThrow('onUpdate'),
    onDiscarded: () => maybeThrow('onDiscarded'),
    onClientError: (error) => {
      maybeThrow('onClientError');
      if (profile.reactive) control?.sendEvent([{ type: 'client_error_seen', data: { code: error.code } }]);
    },
    onClose: () => {
      onCloseCalls++;
      control?.sendEvent([{ type: 'final', data: { n: onCloseCalls } }]);
      switch (profile.onClose) {
        case 'sync':
          return;
        case 'async':
          return Promise.resolve().then(() => undefined);
        case 'stuck':
          return new Promise<void>(() => {});
        case 'throw':
          throw new Error('fuzz onClose throws');
        case 'reject':
          return Promise.reject(new Error('fuzz onClose rejects'));
      }
    },
  };
  const createCall: CallHandlerFactory = (_context, c) => {
    if (profile.createCall === 'throw') throw new Error('fuzz createCall fails');
    control = c;
    handlerCreated = true;
    return handler;
  };

  let session: ProtocolSession;
  try {
    session = createSession({
      socket: check.socket(),
      sessionId: FUZZ_SESSION_ID,
      organizationId: FUZZ_ORG_ID,
      correlationId: FUZZ_CORRELATION_ID,
      connectorId: 'fuzz',
      logger,
      clock,
      ...(profile.createCall === 'none' ? {} : { createCall }),
    });
  } catch (err) {
    return { violations: [`createSession threw: ${String(err)}`], leaked: true, opened: false, disconnectReason: null, closedSent: false };
  }
  let finished = false;
  void session.finished.then(() => (finished = true));

  const entry = (what: string, run: () => void) => {
    try {
      run();
    } catch (err) {
      check.fail(`${what} threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const deliverText = (text: string, value: unknown) => {
    check.noteClientText(value);
    const ack = acknowledgedSeq(text, value);
    if (ack !== null) lastAckedSeq = ack;
    const m = value as Record<string, unknown> | null;
    check.pingInFlight = m && m.type === 'ping' && typeof m.seq === 'number' ? m.seq : null;
    entry('handleText', () => session.handleText(text));
    check.pingInFlight = null;
  };

  const runControl = (action: ControlAction) => {
    const c = control;
    if (!c) return;
    const hostile = profile.hostileControl && rng.chance(0.3);
    entry(`control.${action}`, () => {
      switch (action) {
        case 'audio':
          c.sendAudio(hostile ? (rng.pick(['x', null, [1, 2]]) as unknown as Uint8Array) : rng.bytes(rng.pick([0, 1, 160, 8000, 70_001])));
          break;
        case 'event':
          c.sendEvent(hostile ? (rng.pick([[], [{ type: '' }], 'x', null]) as never) : [{ type: 'bot_turn', data: { text: 'hello' } }]);
          break;
        case 'pause':
          c.pause();
          break;
        case 'resume':
          c.resume();
          break;
        case 'disconnect':
          if (hostile) c.disconnect(rng.pick(['bogus', 'error', 'completed']) as never, rng.pick([undefined, 5, 'x'.repeat(2000)]) as never, rng.pick([{ a: 1 }, 'vars', { ok: 'yes', bad: [] }]) as never);
          else c.disconnect('completed', 'done', { result: 'ok' });
          break;
      }
    });
  };

  for (const step of fuzzCase.steps) {
    switch (step.kind) {
      case 'message': {
        const text = textOf(step, check.serverSeq);
        deliverText(text, step.message);
        break;
      }
      case 'text': {
        let value: unknown = null;
        try {
          value = JSON.parse(step.text);
        } catch {
          // not JSON: that is the point
        }
        deliverText(step.text, value);
        break;
      }
      case 'binary':
        entry('handleBinary', () => session.handleBinary(step.data));
        break;
      case 'advance':
        entry('clock timers', () => clock.advance(step.ms));
        break;
      case 'socket-closed':
        check.clientDropped = true;
        entry('handleSocketClosed', () => session.handleSocketClosed(step.code));
        break;
      case 'control':
        runControl(step.action);
        break;
    }
    await settleMicrotasks();
    if (session.state === 'closing') sawClosing = true;
  }

  // End the session the way a client would.
  // After a seq of 2^53 - 1 no valid close can follow (its seq would not be a safe integer).
  const closable = lastAckedSeq < Number.MAX_SAFE_INTEGER;
  if (fuzzCase.ending === 'close' && closable && !check.clientDropped && session.state !== 'closing' && session.state !== 'closed') {
    const close = {
      version: '2',
      id: FUZZ_SESSION_ID,
      type: 'close',
      seq: lastAckedSeq + 1,
      serverseq: check.serverSeq,
      position: formatDurationMs(0),
      parameters: { reason: 'end' },
    };
    deliverText(JSON.stringify(close), close);
    await settleMicrotasks();
    const after: string = session.state; // re-read: TypeScript narrowed it before the close
    if (after !== 'closing' && after !== 'closed') check.fail(`a well-formed close left the session ${after}`);
    sawClosing = true;
  } else if (fuzzCase.ending === 'drop' && !check.clientDropped) {
    check.clientDropped = true;
    entry('handleSocketClosed', () => session.handleSocketClosed(1006));
  }
  // Let every bound run out: close handler (3 s), close wait (10 s), idle (60 s).
  for (let i = 0; i < 4; i++) {
    entry('clock timers', () => clock.advance(i === 0 ? SESSION_DEFAULTS.closeHandlerTimeoutMs : 30_000));
    await settleMicrotasks();
    if (i === 0 && sawClosing && !check.clientDropped && !check.closedSent) check.fail('close was not answered with closed within the close-handler bound');
  }

  if (session.state !== 'closed') check.fail(`session ended in state ${session.state}`);
  if (!finished) check.fail('finished did not resolve');
  if (clock.pending !== 0) check.fail(`${clock.pending} timers left behind`);
  if (onCloseCalls > 1) check.fail(`onClose called ${onCloseCalls} times`);
  if (handlerCreated && onCloseCalls !== 1) check.fail('onClose was not called');
  if (check.socketCloseCalls > 1) check.fail(`socket.close called ${check.socketCloseCalls} times`);
  if (!check.clientDropped && check.socketCloseCalls === 0) check.fail('session ended without closing the transport');
  for (const line of errorLog) {
    if (/internal session error|illegal state transition/.test(line)) check.fail(`session bug logged: ${line.slice(0, 200)}`);
  }
  if (fuzzCase.mutations.length === 0 && !profile.hostileControl) {
    // A valid sequence with a well-behaved call must never see a protocol error.
    if (!check.opened) check.fail('valid sequence was not opened');
    if (check.disconnectReason === 'error') check.fail('valid sequence ended with disconnect error');
    if (errorLog.length > 0) check.fail(`valid sequence logged errors: ${errorLog[0]!.slice(0, 200)}`);
  }

  const leaked = session.state !== 'closed' || !finished || clock.pending !== 0;
  return {
    violations: check.violations,
    leaked,
    opened: check.opened,
    disconnectReason: check.disconnectReason,
    closedSent: check.closedSent,
  };
}
