/**
 * Issue 13: one authenticated peer must not grow our memory or confuse another call, whatever it sends.
 * Each case failed before its fix: duplicate session ids, a ping flood from a peer that never reads,
 * control messages past the hard cap, hostile Connector IDs, language tags and X-Forwarded-For values,
 * and answers after a protocol violation.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallContext, CallControl, CallHandler, CloseCause } from '../../src/audiohook/handler.js';
import { PING_BUDGET_DEFAULTS } from '../../src/audiohook/ping-budget.js';
import type { AppServer } from '../../src/server/http.js';
import { createMetrics } from '../../src/server/metrics.js';
import { ManualClock } from '../../src/util/clock.js';
import { newIds, RawClient, settle, signedHeaders, startApp, upgrade, WAIT_MS } from '../server/support.js';

let apps: AppServer[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await Promise.all(apps.map((app) => app.close({ politeEndWaitMs: 500, socketCloseWaitMs: 200 })));
  apps = [];
});

async function connect(port: number, path = '/audiohook', ids = newIds()): Promise<RawClient> {
  const client = await RawClient.connect(port, path, ids);
  clients.push(client);
  return client;
}

describe('resilience: duplicate Audiohook-Session-Id', () => {
  it('a second upgrade with a live session id is refused 400 with a reason; the first call is untouched', async () => {
    const { app, port, logs } = await startApp();
    apps.push(app);
    const ids = newIds();
    const first = await connect(port, '/audiohook', ids);
    await first.open();
    const again = await upgrade(port, '/audiohook', signedHeaders(port, { ...ids, correlationId: randomUUID() }));
    expect(again).toMatchObject({ kind: 'rejected', status: 400 });
    expect((again as { body: string }).body).toMatch(/already in use/);
    expect(logs.some((l) => l.includes('session id already live'))).toBe(true);
    first.send('ping');
    await first.waitFor(() => first.types.includes('pong'), 'pong on the first call');
    expect(app.activeSessions()).toBe(1);

    // Once the first session has ended, the id may be used again.
    first.send('close', { reason: 'end' });
    await first.waitFor(() => first.types.includes('closed'), 'closed');
    await expect.poll(() => app.activeSessions(), { timeout: WAIT_MS }).toBe(0);
    const later = await upgrade(port, '/audiohook', signedHeaders(port, ids));
    expect(later.kind).toBe('open');
    if (later.kind === 'open') later.ws.terminate();
  });
});

describe('resilience: a peer that sends but never reads', () => {
  it('a ping flood gets a bounded number of pongs; the server queue stays far below the hard cap', async () => {
    const controls: CallControl[] = [];
    const { app, port, logs } = await startApp({}, {
      createCall: (_c, control): CallHandler => {
        controls.push(control);
        return { onClose: () => undefined };
      },
    });
    apps.push(app);
    const client = await connect(port);
    await client.open();
    client.ws.pause(); // never reads again (until the end of the test)
    const started = Date.now();
    let maxQueued = 0;
    for (let i = 0; i < 20_000; i++) {
      client.send('ping');
      if (i % 1000 === 0) {
        await settle(5);
        maxQueued = Math.max(maxQueued, controls[0]!.bufferedAmount);
      }
    }
    await settle(300);
    maxQueued = Math.max(maxQueued, controls[0]!.bufferedAmount);
    const elapsedS = (Date.now() - started) / 1000;
    client.ws.resume();
    await settle(300);
    const pongs = client.types.filter((t) => t === 'pong').length;
    // 20 at once, then 10 a second (ping-budget.ts); before the fix every one of the 20,000 was answered.
    expect(pongs).toBeGreaterThan(0);
    expect(pongs).toBeLessThanOrEqual(PING_BUDGET_DEFAULTS.burst + Math.ceil((elapsedS + 1) * (1000 / PING_BUDGET_DEFAULTS.refillMs)));
    expect(maxQueued).toBeLessThan(64 * 1024);
    expect(logs.filter((l) => l.includes('client pinging too fast')).length).toBeLessThanOrEqual(21); // first, then every 1,000th
  }, 60_000);

  it('control messages past the hard cap end the connection at once (not after the stall timeout)', async () => {
    const clock = new ManualClock(); // the stall timer never fires: only the hard cap can end it
    const controls: CallControl[] = [];
    const closes: CloseCause[] = [];
    const metrics = createMetrics({ defaultMetrics: false });
    const { app, port, logs } = await startApp({}, {
      clock,
      metrics,
      backpressure: { audioHighWaterBytes: 64 * 1024, stallTimeoutMs: 60_000, hardCapBytes: 256 * 1024 },
      createCall: (_c, control): CallHandler => {
        controls.push(control);
        return { onClose: (cause) => void closes.push(cause) };
      },
    });
    apps.push(app);
    const client = await connect(port);
    await client.open();
    client.ws.pause();
    const control = controls[0]!;
    const text = 'x'.repeat(8 * 1024);
    let peak = 0;
    for (let i = 0; i < 2_000 && closes.length === 0; i++) {
      control.sendEvent([{ type: 'bot_turn', data: { text } }]);
      peak = Math.max(peak, control.bufferedAmount);
      if (i % 50 === 0) await settle(2);
    }
    await expect.poll(() => closes.length, { timeout: WAIT_MS }).toBe(1);
    expect(peak).toBeLessThan(256 * 1024 + 16 * 1024);
    expect(logs.some((l) => l.includes('send queue over the hard cap'))).toBe(true);
    const rendered = await metrics.render();
    expect(rendered).toMatch(/^audiohook_outbound_backpressure_total\{event="overflow"\} 1$/m);
    expect(rendered).toMatch(/^audiohook_outbound_backpressure_total\{event="reading_paused"\} 1$/m);
  }, 30_000);
});

describe('resilience: values a client controls', () => {
  it('a Connector ID that is too long or has path tricks or control characters is refused 400, never logged', async () => {
    const { app, port, logs } = await startApp();
    apps.push(app);
    for (const bad of ['a'.repeat(12_000), '..%2Fetc', 'bot%2F..%2Fx', 'bot%0Ainjected', 'bot%00', 'bot%20x', 'bot//x']) {
      const path = `/audiohook/${bad}`;
      const result = await upgrade(port, path, signedHeaders(port, newIds(), { path }));
      expect(result, bad.slice(0, 20)).toMatchObject({ kind: 'rejected', status: 400 });
      expect((result as { body: string }).body).toMatch(/invalid connector id/);
    }
    expect(logs.some((l) => l.includes('aaaaaaaaaa') || l.includes('injected'))).toBe(false);
    const good = await connect(port, '/audiohook/sales-bot/v2.1');
    await good.open();
  });

  it('open.parameters.language that is not a language tag is ignored: the call gets none, logs never carry it', async () => {
    const contexts: CallContext[] = [];
    const { app, port, logs } = await startApp({}, {
      createCall: (context): CallHandler => {
        contexts.push(context);
        return { onClose: () => undefined };
      },
    });
    apps.push(app);
    const hostile = `en-us\r\n${'z'.repeat(5000)}`;
    for (const language of [hostile, 'EN-US']) {
      const client = await connect(port);
      client.send('open', {
        organizationId: client.ids.organizationId,
        conversationId: randomUUID(),
        participant: { id: randomUUID(), ani: '', aniName: '', dnis: '' },
        media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
        language,
      });
      await client.waitFor(() => client.types.includes('opened'), 'opened');
    }
    expect(contexts.map((c) => c.language)).toEqual([undefined, 'en-us']);
    expect(logs.some((l) => l.includes('zzzzzzzzzz'))).toBe(false);
    expect(logs.some((l) => l.includes('language is not a language tag'))).toBe(true);
  });

  it('X-Forwarded-For is logged only behind a trusted proxy, and only as an address', async () => {
    const xff = async (trustProxy: string, value: string) => {
      const { app, port, logs } = await startApp({ TRUST_PROXY: trustProxy });
      apps.push(app);
      const ids = newIds();
      const result = await upgrade(port, '/audiohook', { ...signedHeaders(port, ids), 'X-Forwarded-For': value });
      expect(result.kind).toBe('open');
      if (result.kind === 'open') result.ws.terminate();
      const accepted = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'audiohook connection accepted');
      return accepted?.forwardedFor;
    };
    expect(await xff('false', '203.0.113.7')).toBeUndefined();
    expect(await xff('true', '203.0.113.7, 10.0.0.1')).toBe('203.0.113.7');
    expect(await xff('true', `${'evil'.repeat(2000)}`)).toBe('invalid');
  });

  it('after a protocol violation ends the session, pings and updates get no answer; close still gets closed', async () => {
    const { app, port } = await startApp();
    apps.push(app);
    const client = await connect(port);
    await client.open();
    client.ws.send('not json at all');
    await client.waitFor(() => client.types.includes('disconnect'), 'disconnect');
    const before = client.received.length;
    for (let i = 0; i < 5; i++) client.send('ping');
    client.send('update', { language: 'fr-fr' });
    await settle(300);
    expect(client.received.slice(before).map((m) => m.type)).toEqual([]);
    client.send('close', { reason: 'disconnect' });
    await client.waitFor(() => client.types.includes('closed'), 'closed');
    expect(client.types).toEqual(['opened', 'disconnect', 'closed']);
  });
});
