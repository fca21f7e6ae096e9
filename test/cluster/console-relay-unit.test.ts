/**
 * The console relay's pure parts: what may leave a worker (transcripts only when enabled), parsing at the
 * receiving edge, the size bound, and the bounded sender (drop and count, never queue).
 */
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/bridge/call-events.js';
import { BoundedSender, decodeConsoleEvent, encodeConsoleEvent, MAX_CONSOLE_EVENT_CHARS, workerConsoleRelay } from '../../src/cluster/console-relay.js';
import { parseWorkerMessage } from '../../src/cluster/ipc.js';
import { linkToPrimary } from '../../src/cluster/worker.js';
import { ConsoleStore } from '../../src/console/store.js';
import { callRecord, CallScript, delivered } from '../console/support.js';

describe('encodeConsoleEvent / decodeConsoleEvent', () => {
  it('round-trips every kind of event into a store as if local', () => {
    const call = new CallScript('c1');
    const events: CallEvent[] = [
      call.started(),
      call.ev('activity', { activity: 'listening' }, 10),
      call.ev('dtmf', { count: 2 }, 10),
      call.ev('tool.started', { toolCallId: 't1', name: 'lookup' }, 10),
      call.ev('tool.finished', { toolCallId: 't1', name: 'lookup', outcome: 'ok', durationMs: 5 }, 10),
      call.ev('barge_in', {}, 10),
      call.ev('call.ended', { record: callRecord('c1'), delivery: delivered }, 10),
    ];
    const local = new ConsoleStore({ transcripts: false, maxEnded: 5 });
    const remote = new ConsoleStore({ transcripts: false, maxEnded: 5 });
    for (const event of events) {
      local.onCallEvent(event);
      const decoded = decodeConsoleEvent(encodeConsoleEvent(event, false)!);
      expect(decoded).toBeDefined();
      remote.onCallEvent(decoded!);
    }
    expect(remote.endedCalls()).toEqual(local.endedCalls());
    expect(remote.watched('c1')).toEqual(local.watched('c1'));
  });

  it('keeps transcripts in the worker unless CONSOLE_TRANSCRIPTS is on (events and the ended record)', () => {
    const call = new CallScript('c2');
    const turn = call.ev('transcript', { role: 'caller', text: 'my card number is …' });
    expect(encodeConsoleEvent(turn, false)).toBeUndefined();
    expect(decodeConsoleEvent(encodeConsoleEvent(turn, true)!)).toEqual(turn);
    const ended = call.ev('call.ended', { record: callRecord('c2') });
    expect(encodeConsoleEvent(ended, false)).not.toContain('Where is my order');
    expect(encodeConsoleEvent(ended, true)).toContain('Where is my order');
  });

  it('refuses malformed, unknown and oversized events at the edge', () => {
    expect(decodeConsoleEvent('not json')).toBeUndefined();
    expect(decodeConsoleEvent(JSON.stringify({ type: 'call.started', callId: 'x', at: 1 }))).toBeUndefined();
    expect(decodeConsoleEvent(JSON.stringify({ type: 'rm -rf', callId: 'x', at: 1 }))).toBeUndefined();
    const huge = new CallScript('c3').ev('transcript', { role: 'bot', text: 'x'.repeat(MAX_CONSOLE_EVENT_CHARS) });
    expect(encodeConsoleEvent(huge, true)).toBeUndefined();
    expect(parseWorkerMessage({ type: 'audiohook:console-event', event: 'x'.repeat(MAX_CONSOLE_EVENT_CHARS + 1) })).toBeUndefined();
  });
});

describe('BoundedSender', () => {
  it('drops and counts beyond the bound of unwritten messages, and sends again once they are written', () => {
    const writes: Array<() => void> = [];
    const sent: number[] = [];
    const sender = new BoundedSender<number>((m, written) => {
      sent.push(m);
      writes.push(written);
      return true;
    }, 2);
    expect([sender.offer(1), sender.offer(2), sender.offer(3)]).toEqual([true, true, false]);
    expect(sender.dropped).toBe(1);
    writes.shift()!();
    expect(sender.offer(4)).toBe(true);
    expect(sent).toEqual([1, 2, 4]);
  });

  it('counts a message the channel refused (gone) as dropped', () => {
    const sender = new BoundedSender<number>(() => false, 2);
    expect(sender.offer(1)).toBe(false);
    expect(sender.dropped).toBe(1);
    expect(sender.inFlight).toBe(0);
  });
});

describe('workerConsoleRelay over a link', () => {
  it('forwards events to the primary (bounded, drops counted) and hands relayed events to the console', () => {
    const toPrimary: unknown[] = [];
    let deliver!: (message: unknown) => void;
    const link = linkToPrimary(
      (message) => {
        toPrimary.push(message);
        return true; // never "written": the bound is reached
      },
      (listener) => (deliver = listener),
      1_000,
      2,
    );
    let drops = 0;
    const relay = workerConsoleRelay(link, { transcripts: false, onDrop: () => drops++ });
    const received: CallEvent[] = [];
    relay.subscribe({ onCallEvent: (e) => received.push(e) });
    const call = new CallScript('c4');
    relay.outbound.onCallEvent(call.started());
    relay.outbound.onCallEvent(call.ev('transcript', { role: 'caller', text: 'secret' }));
    relay.outbound.onCallEvent(call.ev('activity', { activity: 'listening' }));
    relay.outbound.onCallEvent(call.ev('dtmf', { count: 1 }));
    expect(toPrimary.map((m) => parseWorkerMessage(m)?.type)).toEqual(['audiohook:console-event', 'audiohook:console-event']);
    expect(drops).toBe(1);
    deliver({ type: 'audiohook:console-event', event: JSON.stringify(call.started()) });
    deliver({ type: 'audiohook:console-event', event: '{"type":"bogus"}' });
    expect(received.map((e) => e.type)).toEqual(['call.started']);
  });
});
