/**
 * Structure-aware mutations of a valid client sequence: wrong types, missing/extra fields, seq and
 * serverseq abuse, wrong ids, bad positions, oversize and non-JSON text, reordering and duplication,
 * malformed binary frames, socket loss and clock jumps. Each returns a short label for the report.
 */
import { MAX_TEXT_MESSAGE_CHARS } from '../../src/audiohook/schemas.js';
import type { Prng } from './prng.js';
import { FUZZ_ORG_ID, NULL_UUID, type Step, type ValidSequence } from './sequence.js';

type Message = Extract<Step, { kind: 'message' }>;
type Mutator = (steps: Step[], rng: Prng, sequence: ValidSequence) => string;

const OTHER_UUID = '11111111-2222-4333-8444-555555555555';

/** Values of every JSON type, plus edge numbers and strings. */
function junkValue(rng: Prng): unknown {
  return rng.pick<() => unknown>([
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 1.5,
    () => 2 ** 53 + 2,
    () => 1e308,
    () => '',
    () => 'x'.repeat(rng.int(1, 300)),
    () => '\u0000\ud800\ufffd',
    () => [],
    () => [1, 'two', null],
    () => ({}),
    () => ({ nested: { deeper: [{}] } }),
    () => FUZZ_ORG_ID,
    () => 'PT1.0S',
  ])();
}

function messages(steps: Step[]): Message[] {
  return steps.filter((s): s is Message => s.kind === 'message');
}

function someMessage(steps: Step[], rng: Prng): Message | null {
  const list = messages(steps);
  return list.length === 0 ? null : rng.pick(list);
}

function paramsOf(m: Message): Record<string, unknown> | null {
  const p = m.message.parameters;
  return typeof p === 'object' && p !== null && !Array.isArray(p) ? (p as Record<string, unknown>) : null;
}

const ENVELOPE_KEYS = ['version', 'id', 'type', 'seq', 'serverseq', 'position', 'parameters'];

const mutators: Record<string, Mutator> = {
  'field-junk': (steps, rng) => {
    const m = someMessage(steps, rng);
    if (!m) return 'noop';
    const params = paramsOf(m);
    if (params && Object.keys(params).length > 0 && rng.chance(0.6)) {
      const key = rng.pick(Object.keys(params));
      params[key] = junkValue(rng);
      return `param ${String(m.message.type)}.${key}`;
    }
    const key = rng.pick(ENVELOPE_KEYS);
    m.message[key] = junkValue(rng);
    if (key === 'serverseq') m.autoServerseq = false;
    return `envelope ${key}`;
  },
  'field-missing': (steps, rng) => {
    const m = someMessage(steps, rng);
    if (!m) return 'noop';
    const params = paramsOf(m);
    if (params && Object.keys(params).length > 0 && rng.chance(0.5)) {
      delete params[rng.pick(Object.keys(params))];
      return 'param missing';
    }
    const key = rng.pick(ENVELOPE_KEYS);
    delete m.message[key];
    if (key === 'serverseq') m.autoServerseq = false;
    return `envelope ${key} missing`;
  },
  'field-extra': (steps, rng) => {
    const m = someMessage(steps, rng);
    if (!m) return 'noop';
    const target = rng.chance(0.5) ? paramsOf(m) ?? m.message : m.message;
    // defineProperty: a plain assignment to `__proto__` would set the prototype, not add a JSON key.
    const key = rng.pick(['extra', '__proto__', 'constructor', 'toString', 'seq2']);
    Object.defineProperty(target, key, { value: junkValue(rng), enumerable: true, writable: true, configurable: true });
    return 'extra field';
  },
  seq: (steps, rng) => {
    const list = messages(steps);
    const m = list.length ? rng.pick(list) : null;
    if (!m) return 'noop';
    const seq = typeof m.message.seq === 'number' ? m.message.seq : 1;
    const kind = rng.pick(['skip', 'repeat', 'negative', 'zero', 'huge', 'float', 'string', 'back'] as const);
    m.message.seq = {
      skip: seq + rng.int(2, 5),
      repeat: seq - 1,
      negative: -seq,
      zero: 0,
      huge: rng.pick([Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e300]),
      float: seq + 0.5,
      string: String(seq),
      back: Math.max(1, seq - rng.int(2, 10)),
    }[kind];
    return `seq ${kind}`;
  },
  serverseq: (steps, rng) => {
    const m = someMessage(steps, rng);
    if (!m) return 'noop';
    m.autoServerseq = false;
    m.message.serverseq = rng.pick([-1, 0.5, 1_000, Number.MAX_SAFE_INTEGER, 2 ** 60, 0]);
    return 'serverseq';
  },
  id: (steps, rng) => {
    const m = someMessage(steps, rng);
    if (!m) return 'noop';
    const id = String(m.message.id ?? '');
    m.message.id = rng.pick([OTHER_UUID, NULL_UUID, id.toUpperCase(), 'not-a-uuid', `${id} `, '']);
    return 'id';
  },
  position: (steps, rng) => {
    const m = someMessage(steps, rng);
    if (!m) return 'noop';
    m.message.position = rng.pick(['PT-1S', '1.0', 'PT1e3S', 'PT.S', 'P1DT2S', 'PT00000000000000000000001.5S', 'PT99999999999999999999S', 'pt1s', '']);
    return 'position';
  },
  version: (steps, rng) => {
    const m = someMessage(steps, rng);
    if (!m) return 'noop';
    m.message.version = rng.pick(['1', 2, '2.0', '', null]);
    return 'version';
  },
  type: (steps, rng) => {
    const m = someMessage(steps, rng);
    if (!m) return 'noop';
    m.message.type = rng.pick(['', 'OPEN', 'open', 'close', 'ping', 'paused', 'resumed', 'opened', 'closed', 'pong', 'x'.repeat(1000), 'unknown_type']);
    return 'type';
  },
  'open-params': (steps, rng) => {
    const open = messages(steps).find((m) => m.message.type === 'open');
    const params = open ? paramsOf(open) : null;
    if (!params) return 'noop';
    const kind = rng.pick(['org', 'probe', 'participant', 'media-garbage', 'media-empty', 'media-not-array', 'variables', 'config', 'language', 'languages'] as const);
    switch (kind) {
      case 'org':
        params.organizationId = rng.pick([OTHER_UUID, FUZZ_ORG_ID.toUpperCase(), 'nope']);
        break;
      case 'probe':
        params.conversationId = NULL_UUID;
        break;
      case 'participant':
        params.participant = rng.pick([null, {}, { id: 'x', ani: 1 }, []]);
        break;
      case 'media-garbage':
        params.media = Array.isArray(params.media) ? [...params.media] : [];
        (params.media as unknown[]).splice(rng.int(0, 2), 0, junkValue(rng), { type: 'audio', format: 'PCMU', channels: 'external', rate: 8000 });
        break;
      case 'media-empty':
        params.media = [];
        break;
      case 'media-not-array':
        params.media = junkValue(rng);
        break;
      case 'variables':
        params.inputVariables = rng.pick([{ a: 1 }, [], 'x', { a: null }]);
        break;
      case 'config':
        params.customConfig = rng.pick([[], 'x', 5, { deep: { deeper: {} } }]);
        break;
      case 'language':
        params.language = junkValue(rng);
        break;
      case 'languages':
        params.supportedLanguages = junkValue(rng);
        break;
    }
    return `open ${kind}`;
  },
  oversize: (steps, rng) => {
    const m = someMessage(steps, rng);
    if (!m) return 'noop';
    m.padTo = rng.pick([MAX_TEXT_MESSAGE_CHARS - 1, MAX_TEXT_MESSAGE_CHARS, MAX_TEXT_MESSAGE_CHARS + 1, 70_000, 200_000]);
    return `oversize ${m.padTo}`;
  },
  'not-json': (steps, rng) => {
    const index = rng.int(0, steps.length);
    const m = someMessage(steps, rng);
    const full = m ? JSON.stringify(m.message) : '{"version":"2"}';
    const text = rng.pick<() => string>([
      () => full.slice(0, rng.int(0, full.length - 1)),
      () => `\ufeff${full}`,
      () => full.replace(/"/, "'"),
      () => `${full}}`,
      () => `${full}\n${full}`,
      () => rng.pick(['null', '[]', '"str"', '{}', '1e999', 'true', '', ' ', 'NaN']),
      () => '['.repeat(10_000) + ']'.repeat(10_000),
      () => String.fromCharCode(...rng.bytes(rng.int(1, 200))),
      () => full.replace(/"parameters":\{/, '"parameters":{"s":"\ud800\udfff\ud800",'),
    ])();
    steps.splice(index, 0, { kind: 'text', text });
    return 'not json';
  },
  reorder: (steps, rng) => {
    if (steps.length < 2) return 'noop';
    const a = rng.int(0, steps.length - 1);
    const b = rng.int(0, steps.length - 1);
    [steps[a], steps[b]] = [steps[b]!, steps[a]!];
    return 'swap';
  },
  'early-step': (steps, rng) => {
    const candidates = steps.filter((s) => s.kind !== 'advance');
    if (candidates.length === 0) return 'noop';
    const step = rng.pick(candidates);
    steps.splice(steps.indexOf(step), 1);
    steps.unshift(step);
    return `early ${step.kind === 'message' ? String(step.message.type) : step.kind}`;
  },
  duplicate: (steps, rng) => {
    const candidates = steps.filter((s) => s.kind === 'message' || s.kind === 'binary');
    if (candidates.length === 0) return 'noop';
    const step = rng.pick(candidates);
    const copy: Step = step.kind === 'message' ? { ...step, message: structuredClone(step.message) } : step;
    steps.splice(rng.int(steps.indexOf(step) + 1, steps.length), 0, copy);
    return `duplicate ${step.kind === 'message' ? String(step.message.type) : 'binary'}`;
  },
  drop: (steps, rng) => {
    if (steps.length === 0) return 'noop';
    steps.splice(rng.int(0, steps.length - 1), 1);
    return 'drop step';
  },
  binary: (steps, rng, sequence) => {
    const frame = sequence.frameBytes ?? 1;
    const data = rng.pick<() => Uint8Array>([
      () => new Uint8Array(0),
      () => rng.bytes(frame * rng.int(1, 100) + (frame > 1 ? rng.int(1, frame - 1) : 0)),
      () => rng.bytes(1),
      () => rng.bytes(3),
      () => new Uint8Array(rng.pick([64_000, 64_001, 65_536, 200_000])),
      () => (rng.chance(0.05) ? new Uint8Array(1 << 20) : rng.bytes(rng.int(0, 5000))),
    ])();
    steps.splice(rng.int(0, steps.length), 0, { kind: 'binary', data });
    return `binary ${data.length}`;
  },
  'socket-closed': (steps, rng) => {
    steps.splice(rng.int(0, steps.length), 0, { kind: 'socket-closed', code: rng.pick([1000, 1001, 1006, 1011]) });
    return 'socket closed';
  },
  'clock-jump': (steps, rng) => {
    steps.splice(rng.int(0, steps.length), 0, { kind: 'advance', ms: rng.pick([2_999, 3_001, 9_999, 10_000, 10_001, 30_000, 60_000, 61_000]) });
    return 'clock jump';
  },
  'control-burst': (steps, rng) => {
    for (let i = rng.int(1, 6); i > 0; i--) {
      steps.splice(rng.int(0, steps.length), 0, { kind: 'control', action: rng.pick(['audio', 'event', 'pause', 'resume', 'disconnect'] as const) });
    }
    return 'control burst';
  },
};

export const MUTATOR_NAMES = Object.keys(mutators);

/** Applies `count` random mutations in place; returns their labels. */
export function mutate(sequence: ValidSequence, rng: Prng, count: number): string[] {
  const labels: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = rng.pick(MUTATOR_NAMES);
    labels.push(`${name}: ${mutators[name]!(sequence.steps, rng, sequence)}`);
  }
  return labels;
}
