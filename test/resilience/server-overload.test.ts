/**
 * Fault 11 (issue 5): overload. MAX_SESSIONS (503 beyond it, /readyz 503 at capacity), per-message size
 * caps on a real socket, and outbound back-pressure: a peer that stops reading gets no more audio (control
 * still flows), is served again once it catches up, and is ended when it stays stalled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallControl, CallHandler, CloseCause } from '../../src/audiohook/handler.js';
import type { AppServer } from '../../src/server/http.js';
import { createMetrics } from '../../src/server/metrics.js';
import { ManualClock } from '../../src/util/clock.js';
import { newIds, RawClient, settle, signedHeaders, startApp, upgrade, WAIT_MS } from '../server/support.js';

let apps: AppServer[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close({ politeEndWaitMs: 500, socketCloseWaitMs: 200 })));
  apps = [];
});

describe('overload: MAX_SESSIONS', () => {
  it('answers 503 "at capacity" beyond MAX_SESSIONS, /readyz 503 at capacity, and recovers when a call ends', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const started = await startApp({ MAX_SESSIONS: '2' }, { metrics });
    apps.push(started.app);
    const { port, base } = started;
    const a = await RawClient.connect(port);
    const b = await RawClient.connect(port);
    await expect.poll(() => started.app.activeSessions(), { timeout: WAIT_MS }).toBe(2);

    const third = await upgrade(port, '/audiohook', signedHeaders(port, newIds()));
    expect(third).toMatchObject({ kind: 'rejected', status: 503 });
    expect((third as { body: string }).body).toMatch(/at capacity/);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'at capacity' });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await metrics.render()).toMatch(/^audiohook_upgrades_refused_total\{reason="at_capacity"\} 1$/m);

    a.ws.close();
    await expect.poll(() => started.app.activeSessions(), { timeout: WAIT_MS }).toBe(1);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const fourth = await RawClient.connect(port);
    await fourth.open();
    b.ws.close();
    fourth.ws.close();
  });
});

describe('overload: per-message caps', () => {
  it('a 70 KB text gets the session\'s disconnect error (not a dropped socket); the close transaction completes', async () => {
    const { app, port } = await startApp();
    apps.push(app);
    const client = await RawClient.connect(port);
    await client.open();
    client.send('ping', { pad: 'x'.repeat(70_000) });
    await client.waitFor(() => client.types.includes('disconnect'), 'disconnect');
    expect(client.received.find((m) => m.type === 'disconnect')?.parameters).toMatchObject({ reason: 'error' });
    client.send('close', { reason: 'error' });
    await client.waitFor(() => client.types.includes('closed'), 'closed');
  });

  it('binary over 64 KiB closes with 1009; text over the 256 KiB payload limit is refused by ws (1009)', async () => {
    const { app, port } = await startApp();
    apps.push(app);
    const binary = await RawClient.connect(port);
    await binary.open();
    binary.ws.send(Buffer.alloc(70_000, 0xff), { binary: true });
    expect(await binary.waitForClose()).toBe(1009);

    const huge = await RawClient.connect(port);
    await huge.open();
    huge.ws.send('x'.repeat(300 * 1024));
    expect(await huge.waitForClose()).toBe(1009);
    await expect.poll(() => app.activeSessions(), { timeout: WAIT_MS }).toBe(0);
  });
});

describe('overload: back-pressure on the Genesys socket', () => {
  async function startWithControl() {
    const clock = new ManualClock();
    const controls: CallControl[] = [];
    const closes: CloseCause[] = [];
    const metrics = createMetrics({ defaultMetrics: false });
    const started = await startApp(
      {},
      {
        clock,
        metrics,
        backpressure: { audioHighWaterBytes: 64 * 1024, stallTimeoutMs: 5_000 },
        createCall: (_context, control): CallHandler => {
          controls.push(control);
          return { onClose: (cause) => void closes.push(cause) };
        },
      },
    );
    apps.push(started.app);
    const client = await RawClient.connect(started.port);
    await client.open();
    return { ...started, clock, client, control: controls[0]!, closes, metrics };
  }

  /** Sends 100 ms chunks until the session refuses audio (bounded: a stuck test fails, it does not hang). */
  function sendUntilRefused(control: CallControl): number {
    const chunk = new Uint8Array(800).fill(0x2a);
    for (let sent = 0; sent < 200_000; sent++) {
      if (!control.sendAudio(chunk)) return sent;
    }
    throw new Error('audio was never refused');
  }

  it('refuses audio while the peer does not read, keeps control messages flowing, resumes when it catches up', async () => {
    const { client, control } = await startWithControl();
    // The peer stops reading: its receive window and then our kernel buffer fill, then ws queues.
    client.ws.pause();
    const sent = sendUntilRefused(control);
    expect(sent).toBeGreaterThan(0);
    expect(control.bufferedAmount).toBeGreaterThanOrEqual(64 * 1024);
    expect(control.sendAudio(new Uint8Array(800))).toBe(false);
    // Control still goes out (queued behind the audio): an event is accepted and later arrives.
    expect(control.sendEvent([{ type: 'bot_turn', data: { text: 'still here' } }])).toBe(true);

    client.ws.resume();
    await client.waitFor(() => client.types.includes('event'), 'the event sent during back-pressure', WAIT_MS * 3);
    await expect.poll(() => control.bufferedAmount, { timeout: WAIT_MS * 3 }).toBeLessThan(64 * 1024);
    expect(control.sendAudio(new Uint8Array(800).fill(0x2a))).toBe(true);
  }, WAIT_MS * 5);

  it('ends a connection that stays over the bound for the stall timeout (the call hears a dropped socket)', async () => {
    const { client, control, clock, app, closes, logs, metrics } = await startWithControl();
    client.ws.pause();
    sendUntilRefused(control);
    clock.advance(4_000);
    await settle();
    expect(closes).toEqual([]);
    clock.advance(2_000); // past 5 s over the mark: the periodic sweep ends it
    await expect.poll(() => closes.length, { timeout: WAIT_MS }).toBe(1);
    expect(closes[0]).toMatchObject({ kind: 'socket' });
    await expect.poll(() => app.activeSessions(), { timeout: WAIT_MS }).toBe(0);
    expect(logs.some((l) => l.includes('peer stopped reading'))).toBe(true);
    expect(logs.some((l) => l.includes('refusing outbound audio'))).toBe(true);
    const text = await metrics.render();
    expect(text).toMatch(/^audiohook_outbound_backpressure_total\{event="congested"\} 1$/m);
    expect(text).toMatch(/^audiohook_outbound_backpressure_total\{event="stalled"\} 1$/m);
  }, WAIT_MS * 3);
});
