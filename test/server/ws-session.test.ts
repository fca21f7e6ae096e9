import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { ProtocolSession } from '../../src/audiohook/handler.js';
import { createLogger } from '../../src/log/logger.js';
import { protocolSocketFor, routeSocketEvents } from '../../src/server/ws-session.js';

let wss: WebSocketServer | undefined;
afterEach(async () => {
  for (const client of wss?.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
  wss = undefined;
});

/** A server socket and its client, connected over loopback. */
async function pair(): Promise<{ server: WebSocket; client: WebSocket }> {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const [server] = (await once(wss, 'connection')) as [WebSocket];
  if (client.readyState !== WebSocket.OPEN) await once(client, 'open');
  return { server, client };
}

function recordingSession(overrides: Partial<ProtocolSession> = {}) {
  const events: unknown[] = [];
  const session: ProtocolSession = {
    state: 'preparing',
    handleText: (text) => events.push(['text', text]),
    handleBinary: (data) => events.push(['binary', Buffer.from(data).toString('hex')]),
    handleSocketClosed: (code) => events.push(['closed', code]),
    finished: Promise.resolve(),
    ...overrides,
  };
  return { session, events };
}

describe('routeSocketEvents', () => {
  it('routes text, binary and close to the session, and the adapter sends both kinds back', async () => {
    const { server, client } = await pair();
    const { session, events } = recordingSession();
    routeSocketEvents(server, session, createLogger('silent'));
    const socket = protocolSocketFor(server);
    const received: unknown[] = [];
    client.on('message', (data, isBinary) => received.push([isBinary, data.toString('hex')]));
    client.send('{"type":"ping"}');
    client.send(Buffer.from([1, 2, 3]), { binary: true });
    socket.sendText('hi');
    socket.sendBinary(new Uint8Array([9]));
    await expect.poll(() => received.length).toBe(2);
    expect(received).toEqual([
      [false, Buffer.from('hi').toString('hex')],
      [true, '09'],
    ]);
    socket.close();
    await once(client, 'close');
    await expect.poll(() => events).toEqual([['text', '{"type":"ping"}'], ['binary', '010203'], ['closed', 1005]]);
    // After close, sending is a no-op rather than an error.
    expect(() => socket.sendText('late')).not.toThrow();
  });

  it('drops only the connection whose session throws', async () => {
    const { server, client } = await pair();
    const { session } = recordingSession({
      handleText: () => {
        throw new Error('bug in the session');
      },
    });
    routeSocketEvents(server, session, createLogger('silent'));
    client.send('anything');
    const [code] = (await once(client, 'close')) as [number];
    expect(code).toBe(1006);
  });
});
