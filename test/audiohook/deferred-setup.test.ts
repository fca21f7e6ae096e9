/**
 * The call is set up after `opened` is sent, on the loop's next turn (so a burst of `open`s is answered before
 * any call is built), or sooner when anything else reaches the session first: the handler always sees every
 * event after `opened`, in order, as if it had been built with `opened`.
 */
import { describe, expect, it } from 'vitest';
import type { CallHandler } from '../../src/audiohook/handler.js';
import { createSession } from '../../src/audiohook/session.js';
import { bytes, captureLogs, FakeClient, FakeSocket, flush, makeHarness, NULL_UUID, ORG_ID } from './harness.js';

describe('call setup deferred past `opened`', () => {
  it('opened goes out first; the call is built on the next turn with the open time as openedAt', () => {
    const h = makeHarness();
    h.client.openOnly();
    expect(h.socket.types).toEqual(['opened']);
    expect(h.contexts).toHaveLength(0);
    expect(h.deferred).toHaveLength(1);
    const openedAt = h.clock.now();
    h.clock.advance(5);
    h.runDeferred();
    expect(h.contexts).toHaveLength(1);
    expect(h.contexts[0]!.openedAt).toBe(openedAt);
    h.client.audio(bytes(1600));
    expect(h.names()).toEqual(['onAudio']);
  });

  it('a burst: every session read in one turn gets its opened before any call is built', () => {
    const built: string[] = [];
    const deferred: Array<() => void> = [];
    const sessions = ['a', 'b', 'c'].map((name) => {
      const socket = new FakeSocket();
      const session = createSession({
        socket,
        sessionId: '30b0e395-84d3-4570-ac13-9a62d8f514c0',
        organizationId: ORG_ID,
        correlationId: 'e160e428-53e2-487c-977d-96989bf5c99d',
        connectorId: 'bot-a',
        logger: captureLogs().logger,
        deferCallSetup: (run) => deferred.push(run),
        createCall: () => {
          built.push(`${name} (opened sent: ${socket.types.join(',')})`);
          return { onClose: () => {} };
        },
      });
      return { client: new FakeClient(session, socket), socket };
    });
    for (const { client } of sessions) client.openOnly();
    expect(sessions.map((s) => s.socket.types)).toEqual([['opened'], ['opened'], ['opened']]);
    expect(built).toEqual([]);
    for (const run of deferred) run();
    expect(built).toEqual(['a (opened sent: opened)', 'b (opened sent: opened)', 'c (opened sent: opened)']);
  });

  it('audio read before the turn: the call is built first and gets the audio; the turn then builds nothing', () => {
    const h = makeHarness();
    h.client.openOnly();
    h.client.audio(bytes(1600, 0x11));
    expect(h.contexts).toHaveLength(1);
    expect(h.calls).toEqual([{ callback: 'onAudio', args: [bytes(1600, 0x11), 0] }]);
    h.runDeferred();
    expect(h.contexts).toHaveLength(1);
  });

  it('a dtmf message read before the turn reaches the call', () => {
    const h = makeHarness();
    h.client.openOnly();
    h.client.send('dtmf', { digit: '5' });
    expect(h.contexts).toHaveLength(1);
    expect(h.names()).toEqual(['onDtmf']);
  });

  it('the socket drops before the turn: the call is built and hears the close once (its ending gets a record)', async () => {
    const h = makeHarness();
    h.client.openOnly();
    h.session.handleSocketClosed(1006);
    await flush();
    expect(h.contexts).toHaveLength(1);
    expect(h.names()).toEqual(['onClose']);
    h.runDeferred();
    await flush();
    expect(h.contexts).toHaveLength(1);
    expect(h.names()).toEqual(['onClose']);
  });

  it('the socket drops before the turn and the call starts by ending itself: nothing is written to the gone socket', async () => {
    const h = makeHarness({
      createCall: (_context, control) => {
        control.disconnect('error', 'unknown connector');
        return { onClose: () => {} };
      },
    });
    h.client.openOnly();
    h.session.handleSocketClosed(1006);
    await flush();
    expect(h.socket.types).toEqual(['opened']);
  });

  it('a close message before the turn: the call is built, closes, and `closed` follows', async () => {
    const h = makeHarness();
    h.client.openOnly();
    h.client.send('close', { reason: 'end' });
    await flush();
    expect(h.contexts).toHaveLength(1);
    expect(h.names()).toEqual(['onClose']);
    expect(h.socket.types).toEqual(['opened', 'closed']);
  });

  it('server shutdown before the turn: the call is built and asked to end', () => {
    let askedToEnd = 0;
    const handler: CallHandler = { onShutdown: () => void askedToEnd++, onClose: () => {} };
    const h = makeHarness({ handler });
    h.client.openOnly();
    expect(h.session.shutdown?.()).toBe(true);
    expect(h.contexts).toHaveLength(1);
    expect(askedToEnd).toBe(1);
  });

  it('a connection probe defers nothing (it has no call)', () => {
    const h = makeHarness();
    h.client.openOnly({ conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' } });
    expect(h.socket.types).toEqual(['opened']);
    expect(h.deferred).toHaveLength(0);
  });

  it('by default the setup waits for setImmediate', async () => {
    const h = makeHarness({ deferCallSetup: undefined });
    h.client.openOnly();
    expect(h.contexts).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.contexts).toHaveLength(1);
  });
});
