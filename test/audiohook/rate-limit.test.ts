/** Genesys `error` 429: audio and events are held for retryAfter and resume on their own; control messages never wait. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RATE_LIMIT_HOLD_MS,
  MAX_RATE_LIMIT_HOLD_MS,
  OutboundHold,
} from '../../src/audiohook/rate-limit.js';
import { bytes, expectWellSequenced, flush, makeHarness } from './harness.js';

const entity = (n: number) => [{ type: 'transcript', data: { n } }];

function eventNumbers(h: ReturnType<typeof makeHarness>): number[] {
  return h.socket
    .ofType('event')
    .map((m) => ((m.parameters as { entities: Array<{ data: { n: number } }> }).entities[0]!.data.n));
}

function rateLimited(retryAfter?: string) {
  const h = makeHarness();
  h.client.open();
  h.client.send('error', { code: 429, message: 'Too many requests', ...(retryAfter ? { retryAfter } : {}) });
  return h;
}

describe('OutboundHold', () => {
  it('holds for the requested time, the default without one, clamped to the maximum, never shortened', () => {
    const hold = new OutboundHold<number>();
    expect(hold.isHeld(0)).toBe(false);
    expect(hold.heldUntil(0)).toBe(0);
    expect(hold.extend(100, 500)).toBe(600);
    expect(hold.isHeld(599)).toBe(true);
    expect(hold.isHeld(600)).toBe(false);
    expect(hold.extend(1_000, undefined)).toBe(1_000 + DEFAULT_RATE_LIMIT_HOLD_MS);
    expect(hold.extend(1_100, 10)).toBe(1_000 + DEFAULT_RATE_LIMIT_HOLD_MS);
    expect(hold.extend(2_000, 10_000_000)).toBe(2_000 + MAX_RATE_LIMIT_HOLD_MS);
    expect(hold.heldUntil(2_500)).toBe(2_000 + MAX_RATE_LIMIT_HOLD_MS);
  });

  it('queues in order and drops the oldest on overflow, counting drops', () => {
    const hold = new OutboundHold<number>(3);
    expect([1, 2, 3].map((n) => hold.enqueue(n))).toEqual([null, null, null]);
    expect(hold.enqueue(4)).toEqual({ dropped: 1 });
    expect(hold.dropped).toBe(1);
    expect(hold.takeAll()).toEqual([2, 3, 4]);
    expect(hold.queued).toBe(0);
    expect(() => new OutboundHold(0)).toThrow(RangeError);
  });
});

describe('session: Genesys 429 hold', () => {
  it('answers ping immediately during the hold, and still reports the error to the handler', () => {
    const h = rateLimited('PT2.5S');
    expect(h.calls.find((c) => c.callback === 'onClientError')?.args[0]).toEqual({
      code: 429,
      message: 'Too many requests',
      retryAfterMs: 2500,
    });
    expect(h.control.rateLimitedUntil).toBe(1_000 + 2_500);
    h.client.send('ping', {});
    expect(h.socket.last()).toMatchObject({ type: 'pong', clientseq: 3 });
    h.client.send('update', { language: 'de-DE' });
    expect(h.socket.last().type).toBe('updated');
    h.control.pause();
    expect(h.socket.last().type).toBe('pause');
    expectWellSequenced(h.socket);
  });

  it('queues events during the hold and sends them in order when it ends', () => {
    const h = rateLimited('PT2S');
    expect(h.control.sendEvent(entity(1))).toBe(true);
    expect(h.control.sendEvent(entity(2))).toBe(true);
    h.clock.advance(1_999);
    expect(h.socket.ofType('event')).toHaveLength(0);
    h.clock.advance(1);
    expect(eventNumbers(h)).toEqual([1, 2]);
    expect(h.control.rateLimitedUntil).toBe(0);
    expect(h.control.sendEvent(entity(3))).toBe(true);
    expect(eventNumbers(h)).toEqual([1, 2, 3]);
    expectWellSequenced(h.socket);
  });

  it('refuses audio during the hold and accepts it after', () => {
    const h = rateLimited('PT0.5S');
    expect(h.control.sendAudio(bytes(160))).toBe(false);
    expect(h.socket.binaries).toHaveLength(0);
    h.clock.advance(500);
    expect(h.control.sendAudio(bytes(160))).toBe(true);
    expect(h.socket.binaries).toHaveLength(1);
  });

  it('holds for 1 s by default when retryAfter is absent', () => {
    const h = rateLimited();
    expect(h.calls.find((c) => c.callback === 'onClientError')?.args[0]).toEqual({ code: 429, message: 'Too many requests' });
    expect(h.control.sendAudio(bytes(8))).toBe(false);
    h.clock.advance(DEFAULT_RATE_LIMIT_HOLD_MS - 1);
    expect(h.control.sendAudio(bytes(8))).toBe(false);
    h.clock.advance(1);
    expect(h.control.sendAudio(bytes(8))).toBe(true);
  });

  it('a repeated 429 extends the hold', () => {
    const h = rateLimited('PT1S');
    h.control.sendEvent(entity(1));
    h.clock.advance(800);
    h.client.send('error', { code: 429, message: 'again', retryAfter: 'PT1S' });
    h.clock.advance(900); // 1.7 s: past the first hold, inside the second
    expect(h.socket.ofType('event')).toHaveLength(0);
    expect(h.control.sendAudio(bytes(8))).toBe(false);
    h.clock.advance(100);
    expect(eventNumbers(h)).toEqual([1]);
    expect(h.clock.pending).toBe(1); // only the idle watchdog
  });

  it('bounds the queue at 100, dropping the oldest with a warning', () => {
    const h = rateLimited('PT1S');
    for (let n = 1; n <= 105; n++) expect(h.control.sendEvent(entity(n))).toBe(true);
    expect(h.logs.lines.filter((l) => l.msg.includes('event queue full'))).toHaveLength(5);
    h.clock.advance(1_000);
    expect(eventNumbers(h)).toEqual(Array.from({ length: 100 }, (_, i) => i + 6));
    expectWellSequenced(h.socket);
  });

  it('another error code with retryAfter holds nothing', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('error', { code: 503, message: 'busy', retryAfter: 'PT5S' });
    expect(h.control.sendAudio(bytes(8))).toBe(true);
    expect(h.control.sendEvent(entity(1))).toBe(true);
    expect(h.socket.ofType('event')).toHaveLength(1);
    expect(h.control.rateLimitedUntil).toBe(0);
  });

  it('close during the hold: closed is sent at once, held events are dropped, no timers are left', async () => {
    const h = rateLimited('PT30S');
    h.control.sendEvent(entity(1));
    h.client.send('close', { reason: 'end' });
    await flush();
    expect(h.socket.types).toEqual(['opened', 'closed']);
    expect(h.session.state).toBe('closed');
    await h.session.finished;
    expect(h.clock.pending).toBe(0);
    expect(h.logs.lines.some((l) => l.msg === 'held events dropped')).toBe(true);
  });

  it('close after the hold ended but before the release timer ran: held events go out before closed', async () => {
    const h = makeHarness({
      onClose: () => new Promise<void>(() => {}), // stuck: the close bound (3 s) outlasts the 1 s hold
    });
    h.client.open();
    h.client.send('error', { code: 429, message: 'slow down', retryAfter: 'PT1S' });
    h.control.sendEvent(entity(1));
    h.client.send('close', { reason: 'end' });
    h.control.sendEvent(entity(2)); // closing: still held
    h.clock.advance(3_000);
    await flush();
    expect(h.socket.types).toEqual(['opened', 'event', 'event', 'closed']);
    expect(eventNumbers(h)).toEqual([1, 2]);
    expect(h.clock.pending).toBe(0);
    expectWellSequenced(h.socket);
  });

  it('socket loss during the hold leaves no timers and sends nothing', async () => {
    const h = rateLimited('PT10S');
    h.control.sendEvent(entity(1));
    h.session.handleSocketClosed(1006);
    await h.session.finished;
    expect(h.clock.pending).toBe(0);
    h.clock.advance(20_000);
    expect(h.socket.types).toEqual(['opened']);
  });

  it('held events are dropped when the state no longer allows events at release (after our disconnect)', () => {
    const h = rateLimited('PT1S');
    h.control.sendEvent(entity(1));
    h.control.disconnect('completed');
    h.clock.advance(1_000);
    expect(h.socket.types).toEqual(['opened', 'disconnect']);
    expect(h.logs.lines.some((l) => l.msg === 'held events dropped')).toBe(true);
  });
});
