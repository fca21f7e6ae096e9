import { describe, expect, it } from 'vitest';
import { formatDurationMs, formatSamples, parseDurationMs } from '../../src/audiohook/duration.js';
import { admitClientMessage, checkClientText } from '../../src/audiohook/inbound.js';
import { parseServerMessage } from '../../src/audiohook/schemas.js';
import { StreamTimeline } from '../../src/audiohook/timeline.js';
import { ServerMessageWriter } from '../../src/audiohook/writer.js';
import { SESSION_ID } from './harness.js';

describe('duration formatting and parsing', () => {
  it('formats fixed-point with three decimals, never exponent notation', () => {
    expect(formatDurationMs(0)).toBe('PT0.000S');
    expect(formatDurationMs(0.0001)).toBe('PT0.000S');
    expect(formatDurationMs(1)).toBe('PT0.001S');
    expect(formatDurationMs(999.6)).toBe('PT1.000S');
    expect(formatDurationMs(12_345)).toBe('PT12.345S');
    expect(formatDurationMs(3_600_000)).toBe('PT3600.000S');
    expect(formatDurationMs(1e-7)).toBe('PT0.000S');
    expect(formatSamples(1)).toBe('PT0.000S');
    expect(formatSamples(8)).toBe('PT0.001S');
    expect(formatSamples(12_000)).toBe('PT1.500S');
  });

  it('rejects negative and non-finite durations', () => {
    expect(() => formatDurationMs(-1)).toThrow(RangeError);
    expect(() => formatDurationMs(Number.NaN)).toThrow(RangeError);
    expect(() => formatDurationMs(Infinity)).toThrow(RangeError);
  });

  it('parses the RI grammar and nothing else', () => {
    expect(parseDurationMs('PT0S')).toBe(0);
    expect(parseDurationMs('PT0.0S')).toBe(0);
    expect(parseDurationMs('PT12.345S')).toBe(12_345);
    expect(parseDurationMs('PT.5S')).toBe(500);
    expect(parseDurationMs('PT0.0001S')).toBe(0.1);
    for (const bad of ['', 'PT', 'PTS', 'PT1.S', 'PT-1S', 'PT1e-7S', 'P1S', 'pt1s', 'PT1M', ' PT1S']) {
      expect(parseDurationMs(bad)).toBeNull();
    }
  });

  it('round-trips', () => {
    for (const ms of [0, 1, 20, 199, 1600, 59_999, 86_400_000]) expect(parseDurationMs(formatDurationMs(ms))).toBe(ms);
  });
});

describe('checkClientText', () => {
  const expectations = { sessionId: SESSION_ID, lastClientSeq: 4, lastServerSeq: 3 };
  const message = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({ version: '2', id: SESSION_ID, type: 'ping', seq: 5, serverseq: 3, position: 'PT1.0S', parameters: {}, ...overrides });

  it('accepts a well-formed next message and keeps the raw object', () => {
    const result = checkClientText(message({ extra: true }), expectations);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.envelope.seq).toBe(5);
      expect(result.raw.extra).toBe(true);
    }
  });

  it('accepts an uppercase session id (UUIDs are case-insensitive)', () => {
    expect(checkClientText(message({ id: SESSION_ID.toUpperCase() }), expectations).ok).toBe(true);
  });

  it.each([
    ['too-large', 'x'.repeat(65_536)],
    ['not-json', '{'],
    ['bad-envelope', '[]'],
    ['bad-envelope', 'null'],
    ['bad-envelope', message({ version: 2 })],
    ['bad-envelope', message({ seq: 0 })],
    ['bad-envelope', message({ seq: 5.5 })],
    ['bad-envelope', message({ serverseq: -1 })],
    ['bad-envelope', message({ position: 'PT1,0S' })],
    ['bad-envelope', message({ type: '' })],
    ['bad-envelope', message({ parameters: [] })],
    ['bad-envelope', message({ id: 'not-a-uuid' })],
    ['wrong-id', message({ id: '00000000-0000-0000-0000-000000000000' })],
    ['seq-gap', message({ seq: 6 })],
    ['seq-gap', message({ seq: 4 })],
    ['serverseq-ahead', message({ serverseq: 4 })],
  ])('%s: %#', (problem, text) => {
    const result = checkClientText(text, expectations);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem).toBe(problem);
      expect(result.reason.length).toBeLessThan(200);
    }
  });

  it('a text of exactly 65,535 characters is within the limit', () => {
    const base = message();
    const padded = base.replace('"parameters":{}', `"parameters":{"p":"${'x'.repeat(65_535 - base.length - 6)}"}`);
    expect(padded.length).toBe(65_535);
    expect(checkClientText(padded, expectations).ok).toBe(true);
  });
});

describe('admitClientMessage (type and state, then the schema)', () => {
  const ping = { version: '2', id: SESSION_ID, type: 'ping', seq: 2, serverseq: 1, position: 'PT0S', parameters: {} };
  it('admits a valid message allowed in the state, parsed', () => {
    const admitted = admitClientMessage('ping', 'active', ping);
    expect(admitted.kind).toBe('message');
    expect(admitted.kind === 'message' && admitted.message.type).toBe('ping');
  });
  it('never fails on a type it does not know', () => {
    expect(admitClientMessage('brand_new_type', 'active', { ...ping, type: 'brand_new_type' })).toEqual({ kind: 'unknown' });
  });
  it('ignores a second open; refuses keys before open, and a malformed message without echoing its content', () => {
    expect(admitClientMessage('open', 'active', { ...ping, type: 'open' })).toEqual({ kind: 'ignore', unexpected: true });
    expect(admitClientMessage('dtmf', 'preparing', { ...ping, type: 'dtmf' })).toEqual({ kind: 'violation', reason: 'unexpected dtmf message in state preparing' });
    const bad = admitClientMessage('dtmf', 'active', { ...ping, type: 'dtmf', parameters: { digit: 'secret-123' } });
    expect(bad.kind).toBe('violation');
    expect(JSON.stringify(bad)).not.toContain('secret-123');
  });
});

describe('ServerMessageWriter', () => {
  it('numbers messages 1, 2, … and echoes the last client seq; every message validates strictly', () => {
    const out: string[] = [];
    const writer = new ServerMessageWriter(SESSION_ID, (t) => out.push(t));
    writer.acknowledge(1);
    writer.send('opened', { startPaused: false, media: [] });
    writer.acknowledge(2);
    writer.send('pong', {});
    writer.send('event', { entities: [{ type: 'barge_in', data: {} }] });
    const parsed = out.map((t) => JSON.parse(t) as Record<string, unknown>);
    expect(parsed.map((m) => [m.type, m.seq, m.clientseq])).toEqual([
      ['opened', 1, 1],
      ['pong', 2, 2],
      ['event', 3, 2],
    ]);
    for (const m of parsed) expect(parseServerMessage(m).success).toBe(true);
    expect(writer.lastServerSeq).toBe(3);
  });

  it('a failed transport send does not consume a seq', () => {
    let fail = true;
    const out: string[] = [];
    const writer = new ServerMessageWriter(SESSION_ID, (t) => {
      if (fail) throw new Error('closed');
      out.push(t);
    });
    expect(() => writer.send('pong', {})).toThrow();
    fail = false;
    writer.send('pong', {});
    expect(JSON.parse(out[0]!).seq).toBe(1);
  });
});

describe('StreamTimeline', () => {
  it('position = samples / 8000 plus reported gaps', () => {
    const t = new StreamTimeline();
    expect(t.positionMs).toBe(0);
    t.addSamples(1600);
    expect(t.positionMs).toBe(200);
    t.skip(500);
    t.addSamples(4);
    expect(t.positionMs).toBe(700.5);
    expect(t.receivedSamples).toBe(1604);
    expect(() => t.addSamples(-1)).toThrow(RangeError);
    expect(() => t.addSamples(1.5)).toThrow(RangeError);
    expect(() => t.skip(-1)).toThrow(RangeError);
  });
});
