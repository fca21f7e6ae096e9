import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConnectionAdmission, connectionBudget, readDescriptorLimit, RESERVED_DESCRIPTORS } from '../../src/server/connections.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            256                  4096                 files
`;

function fakeSocket(): Socket {
  const socket = new EventEmitter() as unknown as Socket & { destroyed: boolean };
  socket.destroyed = false;
  socket.destroy = () => {
    socket.destroyed = true;
    (socket as unknown as EventEmitter).emit('close');
    return socket;
  };
  return socket;
}

describe('connection budget', () => {
  it('reads the soft descriptor limit', () => {
    expect(readDescriptorLimit(LIMITS)).toBe(256);
    expect(readDescriptorLimit('Max open files            unlimited            unlimited            files\n')).toBe(Number.MAX_SAFE_INTEGER);
    expect(readDescriptorLimit('nothing here')).toBeUndefined();
  });

  it('leaves the reserve and one model socket per session, and says when the limit is too low', () => {
    expect(connectionBudget(20_000, 500)).toEqual({ maxConnections: 20_000 - RESERVED_DESCRIPTORS - 500, evictAbove: 20_000 - 64 - 500 - 8, tooLow: false });
    expect(connectionBudget(1024, 500).tooLow).toBe(true);
    expect(connectionBudget(100, 500).maxConnections).toBe(32);
  });

  it('never lets a MAX_SESSIONS too high for the limit shrink the cap below half the usable descriptors', () => {
    // 20,000 descriptors with MAX_SESSIONS=100,000 (2 workers: 50,000 each) once gave a cap of 32.
    const budget = connectionBudget(20_000, 50_000);
    expect(budget.maxConnections).toBe((20_000 - RESERVED_DESCRIPTORS) / 2);
    expect(budget.tooLow).toBe(true);
    expect(connectionBudget(256, 500).maxConnections).toBe((256 - RESERVED_DESCRIPTORS) / 2);
  });

  it('evicts the oldest connection that has not sent a request; never one serving a request', () => {
    const admission = new ConnectionAdmission(2);
    const [a, b, c, d] = [fakeSocket(), fakeSocket(), fakeSocket(), fakeSocket()];
    expect(admission.admit(a)).toBeUndefined();
    admission.requestStarted(a); // a live call
    expect(admission.admit(b)).toBeUndefined();
    expect(admission.admit(c)).toBe(b); // b is the oldest idle one
    expect(b.destroyed).toBe(true);
    expect(a.destroyed).toBe(false);
    admission.requestStarted(c);
    expect(admission.admit(d)).toBeUndefined(); // nothing evictable: Node's maxConnections is the backstop
    expect(admission.size).toBe(3);
    admission.requestDone(c); // keep-alive, idle again
    const e = fakeSocket();
    expect(admission.admit(e)).toBe(d);
  });
});
