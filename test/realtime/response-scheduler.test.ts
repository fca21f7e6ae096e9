/** Response scheduling without sockets: one response.create in flight, FIFO queue, busy refusals, timeouts. */
import { describe, expect, it } from 'vitest';
import type { ResponseCreateEvent } from 'openai/resources/realtime/realtime';
import { ResponseScheduler } from '../../src/realtime/response-scheduler.js';
import { ManualClock } from '../../src/util/clock.js';

function rig(inFlightTimeoutMs = 5000) {
  const clock = new ManualClock(0);
  const sent: Array<ResponseCreateEvent & { event_id: string }> = [];
  const scheduler = new ResponseScheduler({ clock, inFlightTimeoutMs, send: (e) => sent.push(e) });
  return { clock, sent, scheduler };
}

const reply = (tag: string): ResponseCreateEvent => ({ type: 'response.create', response: { metadata: { tag } } });

describe('ResponseScheduler', () => {
  it('keeps a second request made within one round trip until the first response is created and done', () => {
    const { sent, scheduler } = rig();
    scheduler.request(reply('a'));
    scheduler.request(reply('b'));
    expect(sent.map((e) => e.response?.metadata)).toEqual([{ tag: 'a' }]);
    scheduler.created('r1');
    expect(sent).toHaveLength(1);
    scheduler.done('r1');
    expect(sent.map((e) => e.response?.metadata)).toEqual([{ tag: 'a' }, { tag: 'b' }]);
    expect(sent[0]!.event_id).not.toBe(sent[1]!.event_id);
  });

  it('waits for a response the server started on its own (VAD)', () => {
    const { sent, scheduler } = rig();
    scheduler.created('vad');
    scheduler.request(reply('a'));
    expect(sent).toHaveLength(0);
    expect(scheduler.busy).toBe(true);
    scheduler.done('vad');
    expect(sent).toHaveLength(1);
  });

  it('puts a request refused as busy back at the head of the queue', () => {
    const { sent, scheduler } = rig();
    scheduler.request(reply('a'));
    scheduler.request(reply('b'));
    scheduler.created('vad');
    expect(scheduler.rejected(sent[0]!.event_id, true)).toBe(true);
    scheduler.done('vad');
    expect(sent.map((e) => e.response?.metadata)).toEqual([{ tag: 'a' }, { tag: 'a' }]);
  });

  it('does not know events it did not send, and frees the way after another refusal', () => {
    const { sent, scheduler } = rig();
    expect(scheduler.rejected('other', true)).toBe(false);
    expect(scheduler.rejected(undefined, false)).toBe(false);
    scheduler.request(reply('a'));
    scheduler.request(reply('b'));
    expect(scheduler.rejected(sent[0]!.event_id, false)).toBe(true);
    expect(sent.map((e) => e.response?.metadata)).toEqual([{ tag: 'a' }, { tag: 'b' }]);
  });

  it('an unanswered request blocks the next one only for the in-flight timeout', () => {
    const { clock, sent, scheduler } = rig(3000);
    scheduler.request(reply('a'));
    scheduler.request(reply('b'));
    clock.advance(2999);
    expect(sent).toHaveLength(1);
    clock.advance(1);
    expect(sent).toHaveLength(2);
  });

  it('a failed response holds the queue until pumped; reset forgets everything and wakes idle waiters', async () => {
    const { sent, scheduler } = rig();
    scheduler.request(reply('a'));
    scheduler.created('r1');
    scheduler.request(reply('b'));
    let idle = false;
    void scheduler.whenIdle().then(() => (idle = true));
    scheduler.done('r1', true);
    await Promise.resolve();
    expect(idle).toBe(true);
    expect(sent).toHaveLength(1);
    scheduler.pump();
    expect(sent).toHaveLength(2);
    scheduler.created('r2');
    scheduler.request(reply('c'));
    scheduler.reset();
    expect(scheduler.busy).toBe(false);
    expect(scheduler.activeIds.size).toBe(0);
  });
});
