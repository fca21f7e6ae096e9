import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { WorkerToPrimary } from '../../src/cluster/ipc.js';
import { parseWorkerMessage } from '../../src/cluster/ipc.js';
import { InstanceSessionIds } from '../../src/cluster/session-claims.js';
import { linkToPrimary, primarySessionIds } from '../../src/cluster/worker.js';

const silent = pino({ level: 'silent' });

describe("the primary's live session ids", () => {
  it('an id claimed by one worker is refused to every worker until its holder releases it', () => {
    const ids = new InstanceSessionIds();
    expect(ids.claim(1, 'a')).toBe(true);
    expect(ids.claim(2, 'a')).toBe(false);
    expect(ids.claim(1, 'a')).toBe(false);
    // Another worker cannot release a claim it does not hold.
    expect(ids.release(2, 'a')).toBe(false);
    expect(ids.claim(2, 'a')).toBe(false);
    expect(ids.release(1, 'a')).toBe(true);
    expect(ids.claim(2, 'a')).toBe(true);
    expect(ids.size).toBe(1);
  });

  it("a dead worker's ids are all released; the others' stay", () => {
    const ids = new InstanceSessionIds();
    ids.claim(1, 'a');
    ids.claim(1, 'b');
    ids.claim(2, 'c');
    expect(ids.releaseWorker(1)).toBe(2);
    expect(ids.size).toBe(1);
    expect(ids.claim(2, 'a')).toBe(true);
    expect(ids.claim(2, 'b')).toBe(true);
    expect(ids.claim(1, 'c')).toBe(false);
    expect(ids.releaseWorker(3)).toBe(0);
  });
});

/** Workers linked to one InstanceSessionIds in this process, over the real message schemas. */
function fakePrimary(options: { answer?: boolean } = {}) {
  const ids = new InstanceSessionIds();
  const received: WorkerToPrimary[] = [];
  let nextWorker = 1;
  const worker = () => {
    const workerId = nextWorker++;
    let deliver: (message: unknown) => void = () => undefined;
    return linkToPrimary(
      (sent) => {
        const message = parseWorkerMessage(JSON.parse(JSON.stringify(sent)));
        if (!message) throw new Error('a message the primary would ignore');
        received.push(message);
        if (options.answer === false) return;
        if (message.type === 'audiohook:session-claim') {
          const claimed = ids.claim(workerId, message.sessionId);
          queueMicrotask(() => deliver({ type: 'audiohook:session-claim-result', id: message.id, claimed }));
        }
        if (message.type === 'audiohook:session-release') ids.release(workerId, message.sessionId);
      },
      (listener) => (deliver = listener),
      50,
    );
  };
  return { worker, ids, received };
}

describe('session id claims through the primary', () => {
  it('an id live on one worker is refused on another, and free again once released', async () => {
    const primary = fakePrimary();
    const one = primarySessionIds(primary.worker(), silent);
    const two = primarySessionIds(primary.worker(), silent);
    expect(await one.claim('s-1')).toBe(true);
    expect(await two.claim('s-1')).toBe(false);
    expect(await one.claim('s-1')).toBe(false);
    one.release('s-1');
    expect(await two.claim('s-1')).toBe(true);
    expect(primary.ids.size).toBe(1);
  });

  it('without an answer from the primary the worker decides alone, still refusing its own duplicates', async () => {
    const primary = fakePrimary({ answer: false });
    const store = primarySessionIds(primary.worker(), silent);
    expect(await store.claim('x')).toBe(true);
    expect(await store.claim('x')).toBe(false);
    store.release('x');
    expect(await store.claim('x')).toBe(true);
    expect(primary.received.filter((m) => m.type === 'audiohook:session-release')).toHaveLength(1);
  });
});
