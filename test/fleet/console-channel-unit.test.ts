/**
 * The fleet console channel's pure parts and its logic over an in-memory bus (no Redis, manual clock):
 * the envelope (own messages, privacy at the source, parsing at the edge, bounds), the presence bookkeeping
 * (late joiners, silent instances, missed endings), and publishing that drops instead of queueing.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/bridge/call-events.js';
import { ConsoleStore } from '../../src/console/store.js';
import type { CallRow } from '../../src/console/wire.js';
import {
  consoleChannelDropCounter,
  createConsoleChannel,
  type ChannelPublisher,
  type ChannelSubscriber,
  type ConsoleChannel,
  type DropReason,
} from '../../src/fleet/console-channel.js';
import {
  decodeEnvelope,
  encodeEventEnvelope,
  encodePresence,
  encodeSignal,
  FleetPresence,
  MAX_ENVELOPE_CHARS,
  type ConsoleEnvelope,
} from '../../src/fleet/console-envelope.js';
import { ManualClock } from '../../src/util/clock.js';
import { callRecord, CallScript, delivered } from '../console/support.js';

const silent = pino({ level: 'silent' });
const A = { sender: 'bridge-a#01', instance: 'bridge-a' };

const row = (callId: string, overrides: Partial<CallRow> = {}): CallRow => ({
  callId,
  bot: 'order-status',
  connectorId: 'connector-7',
  conversationId: `conv-${callId}`,
  instance: 'bridge-a',
  startedAt: 1_000,
  activity: 'listening',
  bargeIns: 0,
  toolCalls: 0,
  reconnects: 0,
  dtmfEntries: 0,
  ...overrides,
});

const envelopeOf = (text: string, self = 'someone-else'): ConsoleEnvelope => {
  const decoded = decodeEnvelope(text, self);
  if (decoded.own || 'dropped' in decoded) throw new Error(`not an envelope: ${JSON.stringify(decoded)}`);
  return decoded.envelope;
};


/** Instances bridge-a and bridge-b on one bus and clock, both channels started. */
async function startedPair() {
  const bus = new Bus();
  const clock = new ManualClock();
  const a = node(bus, clock, 'bridge-a');
  const b = node(bus, clock, 'bridge-b');
  a.channel.start();
  b.channel.start();
  await settle();
  return { bus, clock, a, b };
}

describe('the envelope', () => {
  it('carries an event into another store exactly as the local one records it', () => {
    const call = new CallScript('c1');
    const events: CallEvent[] = [
      call.started(),
      call.ev('activity', { activity: 'listening' }, 10),
      call.ev('dtmf', { count: 2 }, 10),
      call.ev('call.ended', { record: callRecord('c1'), delivery: delivered }, 10),
    ];
    const local = new ConsoleStore({ transcripts: false, maxEnded: 5 });
    const remote = new ConsoleStore({ transcripts: false, maxEnded: 5 });
    for (const event of events) {
      local.onCallEvent(event);
      const envelope = envelopeOf(encodeEventEnvelope(A, event, false)!);
      expect(envelope).toMatchObject({ kind: 'event', sender: A.sender, instance: A.instance });
      remote.onCallEvent((envelope as Extract<ConsoleEnvelope, { kind: 'event' }>).event);
    }
    expect(remote.endedCalls()).toEqual(local.endedCalls());
  });

  it("recognises the process's own messages, and only its own (a longer sender id is another process)", () => {
    const event = new CallScript('c1').started();
    for (const text of [encodeEventEnvelope(A, event, false)!, encodePresence(A, [row('c1')]), encodeSignal(A, 'hello'), encodeSignal(A, 'bye')]) {
      expect(decodeEnvelope(text, A.sender)).toEqual({ own: true });
      expect(decodeEnvelope(text, 'bridge-a#0')).toMatchObject({ own: false, envelope: { sender: A.sender } });
      expect(decodeEnvelope(text, 'bridge-a#011')).toMatchObject({ own: false, envelope: { sender: A.sender } });
    }
  });

  it('never encodes transcript text with transcripts off (events and the ended record)', () => {
    const call = new CallScript('c2');
    expect(encodeEventEnvelope(A, call.ev('transcript', { role: 'caller', text: 'my card number is 4111' }), false)).toBeUndefined();
    expect(encodeEventEnvelope(A, call.ev('transcript', { role: 'caller', text: 'my card number is 4111' }), true)).toContain('4111');
    const ended = call.ev('call.ended', { record: callRecord('c2') });
    expect(encodeEventEnvelope(A, ended, false)).not.toContain('Where is my order');
    expect(encodeEventEnvelope(A, ended, true)).toContain('Where is my order');
  });

  it('drops what is malformed or too large, naming why, and never throws', () => {
    const ok = encodeSignal(A, 'hello');
    expect(decodeEnvelope('not json', 'me')).toEqual({ own: false, dropped: 'malformed' });
    expect(decodeEnvelope(ok.replace('"v":1', '"v":2'), 'me')).toEqual({ own: false, dropped: 'malformed' });
    expect(decodeEnvelope(ok.replace('"hello"', '"rm -rf"'), 'me')).toEqual({ own: false, dropped: 'malformed' });
    expect(decodeEnvelope(encodePresence(A, [row('c1', { activity: 'hacking' as never })]), 'me')).toEqual({ own: false, dropped: 'malformed' });
    expect(decodeEnvelope(encodePresence(A, [row('c1', { bargeIns: -1 })]), 'me')).toEqual({ own: false, dropped: 'malformed' });
    const badEvent = `{"v":1,"sender":"x","instance":"y","kind":"event","event":{"type":"call.started","callId":"c","at":1}}`;
    expect(decodeEnvelope(badEvent, 'me')).toEqual({ own: false, dropped: 'malformed' });
    expect(decodeEnvelope(`{"v":1,"sender":"x","instance":"y","kind":"hello","pad":"${'x'.repeat(MAX_ENVELOPE_CHARS)}"}`, 'me')).toEqual({
      own: false,
      dropped: 'too_large',
    });
    expect(decodeEnvelope('null', 'me')).toEqual({ own: false, dropped: 'malformed' });
    expect(decodeEnvelope('[]', 'me')).toEqual({ own: false, dropped: 'malformed' });
  });

  it('announces as many rows as fit, saying whether the list is complete', () => {
    const rows = Array.from({ length: 50 }, (_, i) => row(`call-${i}`));
    const whole = envelopeOf(encodePresence(A, rows));
    expect(whole).toMatchObject({ kind: 'presence', complete: true });
    const cut = envelopeOf(encodePresence(A, rows, 2_000)) as Extract<ConsoleEnvelope, { kind: 'presence' }>;
    expect(cut.complete).toBe(false);
    expect(cut.rows.length).toBeGreaterThan(0);
    expect(cut.rows.length).toBeLessThan(50);
  });
});

describe('FleetPresence (injected clock)', () => {
  it('expires a process silent for longer than the timeout, with its live calls; not before', () => {
    const p = new FleetPresence(3_000);
    const call = new CallScript('c1');
    p.onEvent('a#1', 'bridge-a', call.started(), 0);
    p.onEvent('a#1', 'bridge-a', new CallScript('c2').started(), 500);
    p.onEvent('b#1', 'bridge-b', new CallScript('c3').started(), 2_000);
    expect(p.expire(3_500)).toEqual([]);
    expect(p.expire(3_501)).toEqual([{ sender: 'a#1', instance: 'bridge-a', calls: ['c1', 'c2'], silentMs: 3_001 }]);
    expect(p.size).toBe(1);
    // Any message keeps a process alive.
    p.heard('b#1', 'bridge-b', 4_000);
    expect(p.expire(6_000)).toEqual([]);
    expect(p.expire(7_001).map((s) => s.calls)).toEqual([['c3']]);
  });

  it("an ended call is no longer the process's; a complete announcement names the calls whose ending was missed", () => {
    const p = new FleetPresence(3_000);
    for (const id of ['c1', 'c2', 'c3']) p.onEvent('a#1', 'bridge-a', new CallScript(id).started(), 0);
    p.onEvent('a#1', 'bridge-a', new CallScript('c1').ev('call.ended', { record: callRecord('c1') }), 10);
    expect(p.onPresence('a#1', 'bridge-a', ['c3', 'c4'], false, 20)).toEqual([]);
    expect(p.onPresence('a#1', 'bridge-a', ['c3', 'c4'], true, 30)).toEqual(['c2']);
    expect(p.forget('a#1')).toEqual(['c3', 'c4']);
    expect(p.size).toBe(0);
  });

  it('is bounded: processes and calls beyond the bounds are refused', () => {
    const p = new FleetPresence(3_000, 2, 2);
    expect(p.heard('a', 'a', 0)).toBe(true);
    expect(p.heard('b', 'b', 0)).toBe(true);
    expect(p.heard('c', 'c', 0)).toBe(false);
    expect(p.onEvent('a', 'a', new CallScript('1').started(), 0)).toBe(true);
    expect(p.onEvent('a', 'a', new CallScript('2').started(), 0)).toBe(true);
    expect(p.onEvent('a', 'a', new CallScript('3').started(), 0)).toBe(false);
    expect(p.onPresence('c', 'c', [], true, 0)).toBeUndefined();
  });
});

/** Redis pub/sub in memory: every message goes to every subscriber (its publisher too), asynchronously. */
class Bus {
  readonly listeners = new Set<(message: string) => void>();
  readonly published: string[] = [];
  /** Return false to lose a message on the way (pub/sub is at-most-once). */
  deliver: (message: string) => boolean = () => true;

  client(): ChannelPublisher & ChannelSubscriber & { isReady: boolean; unplug(): void } {
    let mine: ((message: string) => void) | undefined;
    const bus = this;
    return {
      isReady: true,
      async publish(_channel: string, message: string) {
        bus.published.push(message);
        if (!bus.deliver(message)) return 0;
        const targets = [...bus.listeners];
        setImmediate(() => targets.forEach((l) => l(message)));
        return targets.length;
      },
      async subscribe(_channel: string, listener: (message: string) => void) {
        mine = listener;
        bus.listeners.add(listener);
      },
      unplug() {
        if (mine) bus.listeners.delete(mine);
      },
    };
  }
}

/** Lets the bus deliver what is under way (a few turns of the event loop: subscribe, then publish, then delivery). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

interface Node {
  channel: ConsoleChannel;
  store: ConsoleStore;
  client: ReturnType<Bus['client']>;
  drops: DropReason[];
  /** What the bridge does: the local console and the channel each get the event once. */
  emit(event: CallEvent): void;
}

function node(bus: Bus, clock: ManualClock, instance: string, options: { transcripts?: boolean; publisher?: ChannelPublisher } = {}): Node {
  const store = new ConsoleStore({ transcripts: options.transcripts ?? false, maxEnded: 20 });
  const client = bus.client();
  const drops: DropReason[] = [];
  const channel = createConsoleChannel({
    publisher: options.publisher ?? client,
    subscriber: client,
    channel: 'audiohook:console',
    instance,
    sender: `${instance}#1`,
    console: { store },
    transcripts: options.transcripts ?? false,
    timeoutMs: 3_000,
    logger: silent,
    clock,
    wallClock: () => 1_000_000 + clock.now(),
    onDrop: (d) => drops.push(d),
  });
  return {
    channel,
    store,
    client,
    drops,
    emit(event) {
      store.onCallEvent(event);
      channel.outbound.onCallEvent(event);
    },
  };
}

const started = (call: CallScript, instance: string) =>
  call.ev('call.started', { sessionId: `s-${call.callId}`, conversationId: `conv-${call.callId}`, connectorId: 'connector-7', bot: 'order-status', instance });

describe('the channel over an in-memory bus (manual clock)', () => {
  it("a call on A appears on B's console with A's instance and moves to ended there; A records each event once", async () => {
    const { bus, clock, a, b } = await startedPair();
    const call = new CallScript('call-1');
    a.emit(started(call, 'bridge-a'));
    a.emit(call.ev('activity', { activity: 'greeting' }, 10));
    a.emit(call.ev('transcript', { role: 'bot', text: 'Hello, thanks for calling Acme.' }, 10));
    a.emit(call.ev('barge_in', {}, 10));
    await settle();
    expect(b.store.liveRows()).toEqual([expect.objectContaining({ callId: 'call-1', instance: 'bridge-a', activity: 'greeting', bargeIns: 1 })]);
    a.emit(call.ev('call.ended', { record: callRecord('call-1'), delivery: delivered }, 10));
    await settle();
    expect(b.store.liveRows()).toEqual([]);
    expect(b.store.endedCalls()).toEqual([expect.objectContaining({ callId: 'call-1', instance: 'bridge-a', endReason: 'bot_ended' })]);
    // A's own messages came back to it over the bus and were ignored: each event once on its timeline.
    expect(a.store.watched('call-1')!.events.map((e) => e.kind)).toEqual(['activity', 'barge_in', 'ended']);
    expect(b.store.watched('call-1')!.events.map((e) => e.kind)).toEqual(['activity', 'barge_in', 'ended']);
    // Transcripts off: no transcript text ever reached the bus.
    expect(bus.published.join('\n')).not.toContain('thanks for calling');
    expect(bus.published.join('\n')).not.toContain('Where is my order');
    expect([...a.drops, ...b.drops]).toEqual([]);
  });

  it('a console that joins mid-call gets the row with its instance at once (hello → presence)', async () => {
    const bus = new Bus();
    const clock = new ManualClock();
    const a = node(bus, clock, 'bridge-a');
    a.channel.start();
    await settle();
    const call = new CallScript('call-2');
    a.emit(started(call, 'bridge-a'));
    a.emit(call.ev('activity', { activity: 'bot_speaking' }, 10));
    a.emit(call.ev('tool.started', { toolCallId: 't1', name: 'lookup' }, 10));
    await settle();
    const b = node(bus, clock, 'bridge-b');
    b.channel.start();
    await settle(); // B subscribes and says hello
    clock.advance(100); // A answers within 100 ms, long before its next presence round
    await settle();
    expect(b.store.liveRows()).toEqual([expect.objectContaining({ callId: 'call-2', instance: 'bridge-a', activity: 'bot_speaking', toolCalls: 1 })]);
  });

  it("a silent instance's live rows leave the live list (marked instance lost); announced again, they are live again", async () => {
    const { bus, clock, a, b } = await startedPair();
    const call = new CallScript('call-3');
    a.emit(started(call, 'bridge-a'));
    await settle();
    expect(b.store.liveRows().map((r) => r.callId)).toEqual(['call-3']);
    // A is killed: it publishes nothing more (its timers die with it).
    a.channel.close = () => undefined;
    bus.deliver = (m) => !m.includes('"sender":"bridge-a#1"');
    for (let t = 0; t < 3_000; t += 500) {
      clock.advance(500);
      await settle();
    }
    expect(b.store.liveRows().map((r) => r.callId)).toEqual(['call-3']); // within the timeout: still live
    clock.advance(1_100);
    await settle();
    expect(b.store.liveRows()).toEqual([]);
    expect(b.store.endedCalls()).toEqual([expect.objectContaining({ callId: 'call-3', instance: 'bridge-a', endReason: 'instance_lost' })]);
    expect(b.store.endedCalls()[0]!.endDetail).toMatch(/no word from instance bridge-a for \d+ s/);
    // A partition, not a death: A is heard again and announces the call.
    bus.deliver = () => true;
    clock.advance(1_000);
    await settle();
    expect(b.store.liveRows().map((r) => r.callId)).toEqual(['call-3']);
    expect(b.store.endedCalls()).toEqual([]);
    a.emit(call.ev('call.ended', { record: callRecord('call-3') }, 10));
    await settle();
    expect(b.store.endedCalls().map((c) => [c.callId, c.endReason])).toEqual([['call-3', 'bot_ended']]);
  });

  it("an ending lost on the way: the next presence says the call is gone (ending missed), not live forever", async () => {
    const { bus, clock, a, b } = await startedPair();
    const call = new CallScript('call-4');
    a.emit(started(call, 'bridge-a'));
    await settle();
    bus.deliver = (m) => !m.includes('"type":"call.ended"');
    a.emit(call.ev('call.ended', { record: callRecord('call-4') }, 10));
    await settle();
    expect(b.store.liveRows().map((r) => r.callId)).toEqual(['call-4']);
    clock.advance(1_000); // one presence round
    await settle();
    expect(b.store.liveRows()).toEqual([]);
    expect(b.store.endedCalls().map((c) => c.endReason)).toEqual(['ending_missed']);
  });

  it('an orderly stop says goodbye: its remaining rows leave at once', async () => {
    const { bus, clock, a, b } = await startedPair();
    a.emit(started(new CallScript('call-5'), 'bridge-a'));
    await settle();
    a.channel.close();
    await settle();
    expect(b.store.liveRows()).toEqual([]);
    expect(b.store.endedCalls().map((c) => [c.callId, c.endReason, c.endDetail])).toEqual([['call-5', 'instance_lost', 'instance bridge-a stopped']]);
  });

  it('never queues: Redis down or slow drops the message (counted) and the call path returns at once', async () => {
    const bus = new Bus();
    const clock = new ManualClock();
    const pending: Array<() => void> = [];
    const slow = { isReady: true, publish: () => new Promise<unknown>((resolve) => pending.push(() => resolve(1))) };
    const a = node(bus, clock, 'bridge-a', { publisher: slow });
    const call = new CallScript('call-6');
    for (let i = 0; i < 300; i++) a.channel.outbound.onCallEvent(call.ev('activity', { activity: i % 2 ? 'listening' : 'bot_speaking' }, 1));
    expect(a.channel.inFlight).toBe(256);
    expect(a.drops).toHaveLength(44);
    expect(a.drops.every((d) => d.direction === 'out' && d.reason === 'backlog')).toBe(true);
    pending.splice(0).forEach((resolve) => resolve());
    await settle();
    expect(a.channel.inFlight).toBe(0);
    slow.isReady = false;
    a.channel.outbound.onCallEvent(call.ev('activity', { activity: 'listening' }, 1));
    expect(a.drops.at(-1)).toEqual({ direction: 'out', reason: 'unavailable' });
    const failing = { isReady: true, publish: () => Promise.reject(new Error('connection lost')) };
    const c = node(bus, clock, 'bridge-c', { publisher: failing });
    c.channel.outbound.onCallEvent(call.ev('activity', { activity: 'listening' }, 1));
    await settle();
    expect(c.drops).toEqual([{ direction: 'out', reason: 'failed' }]);
    expect(c.channel.inFlight).toBe(0);
  });

  it("an event of a call this console never saw start names the row with the sender's instance", () => {
    const b = node(new Bus(), new ManualClock(), 'bridge-b');
    const call = new CallScript('call-7');
    b.channel.receive(encodeEventEnvelope(A, call.ev('activity', { activity: 'caller_speaking' }), false)!);
    expect(b.store.liveRow('call-7')).toMatchObject({ instance: 'bridge-a', activity: 'caller_speaking' });
    const other = new CallScript('call-8');
    b.channel.receive(encodeEventEnvelope(A, other.ev('call.ended', { record: callRecord('call-8') }), false)!);
    expect(b.store.endedCalls()).toEqual([expect.objectContaining({ callId: 'call-8', instance: 'bridge-a', endReason: 'bot_ended' })]);
  });

  it('drops and counts what it cannot read; what it can still applies', async () => {
    const bus = new Bus();
    const clock = new ManualClock();
    const registry = new Registry();
    const count = consoleChannelDropCounter(registry);
    const b = node(bus, clock, 'bridge-b');
    b.channel.start();
    await settle();
    b.channel.receive('{"v":1,"sender":"x#1","instance":"x","kind":"presence","complete":true,"rows":[{"callId":""}]}');
    b.channel.receive('garbage');
    b.channel.receive(encodePresence({ sender: 'x#1', instance: 'x' }, [row('ok-1', { instance: 'x' })]));
    expect(b.drops).toEqual([
      { direction: 'in', reason: 'malformed' },
      { direction: 'in', reason: 'malformed' },
    ]);
    expect(b.store.liveRows().map((r) => [r.callId, r.instance])).toEqual([['ok-1', 'x']]);
    b.drops.forEach(count);
    expect(await registry.metrics()).toMatch(/audiohook_console_fleet_dropped_total\{direction="in",reason="malformed"\} 2/);
  });
});

describe('ConsoleStore: rows from other processes', () => {
  it('upserts an announced row, clipped; a call that ended for real is not revived by a late announcement', () => {
    const store = new ConsoleStore({ transcripts: false, maxEnded: 5 });
    store.upsertRow(row('r1', { instance: 'i'.repeat(500) }));
    expect(store.liveRow('r1')!.instance.length).toBe(200);
    store.upsertRow(row('r1', { instance: 'bridge-a', activity: 'bot_speaking', bargeIns: 2 }));
    expect(store.liveRow('r1')).toMatchObject({ instance: 'bridge-a', activity: 'bot_speaking', bargeIns: 2 });
    store.onCallEvent({ type: 'call.ended', callId: 'r1', at: 5_000, record: callRecord('r1') });
    store.upsertRow(row('r1'));
    expect(store.liveRows()).toEqual([]);
    expect(store.endedCalls().map((c) => c.endReason)).toEqual(['bot_ended']);
  });

  it('a lost call whose ending arrives after all is listed once, with its real ending', () => {
    const store = new ConsoleStore({ transcripts: false, maxEnded: 5 });
    store.upsertRow(row('r2'));
    store.lose('r2', 'instance_lost', 10_000, 'no word');
    expect(store.endedCalls().map((c) => c.endReason)).toEqual(['instance_lost']);
    store.onCallEvent({ type: 'call.ended', callId: 'r2', at: 11_000, record: callRecord('r2') });
    expect(store.endedCalls().map((c) => [c.callId, c.endReason, c.instance])).toEqual([['r2', 'bot_ended', 'bridge-a']]);
  });
});
