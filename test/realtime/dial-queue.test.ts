import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DialQueue } from '../../src/realtime/dial-queue.js';

/** A loop whose turns the test advances: `defer` queues, `turn()` runs what was queued before it. */
function manualLoop() {
  let queued: Array<() => void> = [];
  return {
    defer: (fn: () => void) => queued.push(fn),
    async turn() {
      const now = queued;
      queued = [];
      for (const fn of now) fn();
      await Promise.resolve();
    },
    get pending() {
      return queued.length;
    },
  };
}

describe('model dial queue', () => {
  it('starts at most perTurn dials per loop turn, first come first served', async () => {
    const loop = manualLoop();
    const queue = new DialQueue(2, loop.defer);
    const started: number[] = [];
    for (let i = 0; i < 5; i++) void queue.turn().then(() => started.push(i));
    expect(started).toEqual([]);
    expect(loop.pending).toBe(1); // one release scheduled, not one per dial
    await loop.turn();
    expect(started).toEqual([0, 1]);
    await loop.turn();
    expect(started).toEqual([0, 1, 2, 3]);
    await loop.turn();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(queue.length).toBe(0);
    expect(loop.pending).toBe(0); // nothing left: no idle turns scheduled
  });

  it('never starts a dial in the turn that asked for it (I/O already received is served first)', async () => {
    const loop = manualLoop();
    const queue = new DialQueue(4, loop.defer);
    let started = false;
    void queue.turn().then(() => (started = true));
    await Promise.resolve();
    expect(started).toBe(false);
    await loop.turn();
    expect(started).toBe(true);
  });

  it('yields to I/O between turns on the real event loop', async () => {
    // Bytes that arrive while dial 1 runs must be read before dial 2 starts.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const peer = await accepted;
    try {
      const order: string[] = [];
      const read = new Promise<void>((resolve) => peer.once('data', () => (order.push('io'), resolve())));
      const queue = new DialQueue(1);
      const dial1 = queue.turn().then(() => {
        order.push('dial 1');
        client.write('x');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // the byte is in the kernel now
      });
      const dial2 = queue.turn().then(() => order.push('dial 2'));
      await Promise.all([dial1, dial2, read]);
      expect(order).toEqual(['dial 1', 'io', 'dial 2']);
    } finally {
      client.destroy();
      peer.destroy();
      server.close();
    }
  });

  it('refuses a turn size that would never start a dial', () => {
    expect(() => new DialQueue(0)).toThrow(RangeError);
  });
});
