import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { WorkerToPrimary } from '../../src/cluster/ipc.js';
import { linkToPrimary, primaryNonceStore } from '../../src/cluster/worker.js';
import { NonceCache } from '../../src/server/nonce-cache.js';
import { ManualClock } from '../../src/util/clock.js';

const silent = pino({ level: 'silent' });

/** A primary in this process: one nonce cache for every linked worker, answering after a microtask. */
function fakePrimary(options: { answer?: boolean } = {}) {
  const cache = new NonceCache({ clock: new ManualClock() });
  const received: WorkerToPrimary[] = [];
  const worker = () => {
    let deliver: (message: unknown) => void = () => undefined;
    const link = linkToPrimary(
      (message) => {
        received.push(message);
        if (options.answer === false) return;
        if (message.type === 'audiohook:nonce') {
          queueMicrotask(() => {
            deliver({ type: 'prom-client:getMetricsReq', requestId: 1 }); // foreign traffic on the channel
            deliver({ type: 'audiohook:nonce-result', id: message.id, fresh: cache.remember(message.nonce) });
          });
        }
      },
      (listener) => (deliver = listener),
      50,
    );
    return link;
  };
  return { worker, received };
}

describe('nonces through the primary', () => {
  it('a nonce used on one worker is refused on another', async () => {
    const primary = fakePrimary();
    const one = primaryNonceStore(primary.worker(), silent);
    const two = primaryNonceStore(primary.worker(), silent);
    expect(await one.remember('n-1')).toBe(true);
    expect(await two.remember('n-1')).toBe(false);
    expect(await two.remember('n-2')).toBe(true);
    expect(await one.remember('n-2')).toBe(false);
    expect(primary.received.map((m) => m.type)).toEqual(Array(4).fill('audiohook:nonce'));
  });

  it('answers are matched by id when several checks are in flight', async () => {
    const primary = fakePrimary();
    const store = primaryNonceStore(primary.worker(), silent);
    const results = await Promise.all(['a', 'b', 'a', 'c', 'b'].map((n) => store.remember(n)));
    expect(results).toEqual([true, true, false, true, false]);
  });

  it('without an answer from the primary the worker decides alone, still refusing its own replays', async () => {
    const primary = fakePrimary({ answer: false });
    const store = primaryNonceStore(primary.worker(), silent);
    expect(await store.remember('x')).toBe(true);
    expect(await store.remember('x')).toBe(false);
  });
});
