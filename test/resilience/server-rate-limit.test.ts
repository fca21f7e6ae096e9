/**
 * Fault 1, server side (issue 5): Genesys answers with `error` 429. Over a real socket: outbound audio is
 * held and events are queued for retryAfter, control messages (pong) still flow, and both resume on their
 * own when the hold ends. The session clock is a ManualClock: the hold is asserted exactly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallControl } from '../../src/audiohook/handler.js';
import type { AppServer } from '../../src/server/http.js';
import { ManualClock } from '../../src/util/clock.js';
import { RawClient, settle, startApp, WAIT_MS } from '../server/support.js';

let apps: AppServer[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close({ politeEndWaitMs: 500, socketCloseWaitMs: 200 })));
  apps = [];
});

describe('Genesys 429 (server side)', () => {
  it('holds audio and events for retryAfter while pings are answered, then delivers and resumes', async () => {
    const clock = new ManualClock();
    const controls: CallControl[] = [];
    const { app, port } = await startApp(
      {},
      {
        clock,
        createCall: (_context, control) => {
          controls.push(control);
          return { onClose: () => undefined };
        },
      },
    );
    apps.push(app);
    const client = await RawClient.connect(port);
    await client.open();
    const control = controls[0]!;
    const chunk = new Uint8Array(1600).fill(0x2a);

    expect(control.sendAudio(chunk)).toBe(true);
    await client.waitFor(() => client.binaryBytes === 1600, 'audio before the 429');

    client.send('error', { code: 429, message: 'Too many requests', retryAfter: 'PT2S' });
    await expect.poll(() => control.rateLimitedUntil ?? 0, { timeout: WAIT_MS }).toBeGreaterThan(0);
    expect(control.sendAudio(chunk)).toBe(false);
    expect(control.sendEvent([{ type: 'bot_turn', data: { text: 'held' } }])).toBe(true);
    client.send('ping');
    await client.waitFor(() => client.types.includes('pong'), 'pong during the hold');
    clock.advance(1_999);
    await settle(200);
    expect(client.types).not.toContain('event');
    expect(client.binaryBytes).toBe(1600);
    expect(control.sendAudio(chunk)).toBe(false);

    clock.advance(1);
    await client.waitFor(() => client.types.includes('event'), 'the held event after the hold');
    expect(control.rateLimitedUntil ?? 0).toBe(0);
    expect(control.sendAudio(chunk)).toBe(true);
    await client.waitFor(() => client.binaryBytes === 3200, 'audio after the hold');
  });
});
