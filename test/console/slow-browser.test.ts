/**
 * A browser that stops reading, over a real socket: the bridge disconnects it once its unsent bytes pass the
 * bound, instead of buffering without limit, while a browser that keeps up goes on receiving.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallScript, startConsoleApp, TOKEN, type ConsoleApp } from './support.js';

const MAX_BUFFERED = 256 * 1024;
let app: ConsoleApp;

beforeAll(async () => {
  app = await startConsoleApp({
    assetsDir: '/nonexistent',
    transcripts: true,
    maxEventsPerCall: 1_000_000,
    feed: { maxBufferedBytes: MAX_BUFFERED, flushMs: 5, maxQueuedItems: 1_000_000 },
  });
});
afterAll(async () => {
  app.console.close();
  await app.app.close();
});

async function cookie(): Promise<string> {
  const res = await fetch(`${app.base}/console/login`, {
    method: 'POST',
    body: `token=${TOKEN}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
  });
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

/** An EventSource that never reads after the response headers: TCP fills up, then the server's buffer. */
function stuckBrowser(session: string, callId: string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(app.port, '127.0.0.1', () => {
      socket.write(`GET /console/api/stream?call=${callId} HTTP/1.1\r\nHost: 127.0.0.1:${app.port}\r\nCookie: ${session}\r\nAccept: text/event-stream\r\n\r\n`);
      socket.once('data', () => {
        socket.pause();
        resolve(socket);
      });
    });
    socket.setNoDelay(true);
    socket.on('error', () => {});
  });
}

describe('a browser that stops reading', () => {
  it('is disconnected once its unsent bytes pass the bound; a browser that reads goes on', async () => {
    const session = await cookie();
    const call = new CallScript('busy-call');
    app.console.listener.onCallEvent(call.started());
    const stuck = await stuckBrowser(session, 'busy-call');
    let stuckClosed = false;
    stuck.on('close', () => (stuckClosed = true));

    const abort = new AbortController();
    const healthy = await fetch(`${app.base}/console/api/stream?call=busy-call`, { headers: { cookie: session }, signal: abort.signal });
    let healthyBytes = 0;
    const reading = (async () => {
      for await (const chunk of healthy.body!) healthyBytes += (chunk as Uint8Array).byteLength;
    })().catch(() => {});

    // ~2 KB per transcript event; far more than loopback TCP buffers hold.
    const text = 'x'.repeat(1990);
    for (let burst = 0; burst < 200 && app.console.feed.slowDisconnects === 0; burst++) {
      for (let i = 0; i < 100; i++) app.console.listener.onCallEvent(call.ev('transcript', { role: 'caller', text }, 1));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(app.console.feed.slowDisconnects).toBe(1);
    expect(app.console.feed.size).toBe(1);
    // The stuck browser's connection is gone (it sees the close once it reads again).
    stuck.resume();
    for (let i = 0; i < 200 && !stuckClosed; i++) await new Promise((r) => setTimeout(r, 20));
    expect(stuckClosed).toBe(true);

    const before = healthyBytes;
    for (let i = 0; i < 10; i++) app.console.listener.onCallEvent(call.ev('barge_in', {}, 1));
    for (let i = 0; i < 100 && healthyBytes === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(healthyBytes).toBeGreaterThan(before);
    expect(app.logLines.some((l) => l.includes('console browser disconnected: not keeping up'))).toBe(true);
    abort.abort();
    await reading;
    stuck.destroy();
  });
});
