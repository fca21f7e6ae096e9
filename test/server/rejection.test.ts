import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RejectionScheduler } from '../../src/server/rejection.js';
import { ManualClock } from '../../src/util/clock.js';

function fakeSocket() {
  const socket = new PassThrough();
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return { socket, written: () => Buffer.concat(chunks).toString('utf8') };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('RejectionScheduler', () => {
  it('answers no earlier than 500 ms after verification started', async () => {
    const clock = new ManualClock(1_000);
    const scheduler = new RejectionScheduler({ clock });
    const { socket, written } = fakeSocket();
    clock.advance(20); // verification took 20 ms
    expect(scheduler.reject(socket, 1_000, { status: 401, reason: 'signature expired' })).toBe('delayed');
    clock.advance(479);
    await flush();
    expect(written()).toBe('');
    expect(scheduler.pending).toBe(1);
    clock.advance(1);
    await flush();
    expect(written()).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
    expect(written()).toMatch(/\r\n\r\n401 Unauthorized: signature expired\n$/);
    expect(scheduler.pending).toBe(0);
  });

  it('caps the waiting rejections; beyond the cap answers 503 at once without detail', async () => {
    const clock = new ManualClock();
    const scheduler = new RejectionScheduler({ clock, maxPending: 3 });
    const sockets = Array.from({ length: 5 }, fakeSocket);
    const outcomes = sockets.map(({ socket }) => scheduler.reject(socket, 0, { status: 401, reason: 'invalid credentials' }));
    expect(outcomes).toEqual(['delayed', 'delayed', 'delayed', 'overflow', 'overflow']);
    expect(scheduler.pending).toBe(3);
    expect(clock.pending).toBe(3);
    await flush();
    expect(sockets[3]!.written()).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(sockets[3]!.written()).toMatch(/Retry-After: 1\r\n/);
    expect(sockets[3]!.written()).not.toMatch(/credentials/);
    clock.advance(500);
    expect(scheduler.pending).toBe(0);
    // Slots are free again.
    expect(scheduler.reject(fakeSocket().socket, clock.now(), { status: 401 })).toBe('delayed');
  });

  it('frees the slot and the timer when the client goes away first', async () => {
    const clock = new ManualClock();
    const scheduler = new RejectionScheduler({ clock });
    const { socket } = fakeSocket();
    scheduler.reject(socket, 0, { status: 401 });
    socket.destroy();
    await flush();
    expect(scheduler.pending).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('cancelAll destroys waiting sockets', () => {
    const clock = new ManualClock();
    const scheduler = new RejectionScheduler({ clock });
    const { socket } = fakeSocket();
    scheduler.reject(socket, 0, { status: 401 });
    scheduler.cancelAll();
    expect(socket.destroyed).toBe(true);
    expect(clock.pending).toBe(0);
  });
});
