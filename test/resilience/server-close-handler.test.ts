/**
 * Fault 12 (issue 5): a slow or stuck close handler cannot delay `closed` past its bound. Real server and
 * socket; the session clock is a ManualClock so the bound is asserted exactly, not timed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CloseCause } from '../../src/audiohook/handler.js';
import type { AppServer } from '../../src/server/http.js';
import { SESSION_DEFAULTS } from '../../src/audiohook/session-limits.js';
import { ManualClock } from '../../src/util/clock.js';
import { RawClient, settle, startApp, WAIT_MS } from '../server/support.js';

let apps: AppServer[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close({ politeEndWaitMs: 500, socketCloseWaitMs: 200 })));
  apps = [];
});

describe('a stuck close handler', () => {
  it('an onClose that never resolves still gets `closed` at the close-handler bound (default 3 s), then the socket closes', async () => {
    const clock = new ManualClock();
    const causes: CloseCause[] = [];
    const { app, port } = await startApp(
      {},
      {
        clock,
        createCall: () => ({
          onClose: (cause) => {
            causes.push(cause);
            return new Promise<void>(() => {}); // never settles
          },
        }),
      },
    );
    apps.push(app);
    const client = await RawClient.connect(port);
    await client.open();
    client.send('close', { reason: 'end' });
    await expect.poll(() => causes.length, { timeout: WAIT_MS }).toBe(1);
    expect(causes[0]).toEqual({ kind: 'close', reason: 'end' });

    clock.advance(SESSION_DEFAULTS.closeHandlerTimeoutMs - 1);
    await settle(200);
    expect(client.types).not.toContain('closed');

    clock.advance(1);
    await client.waitFor(() => client.types.includes('closed'), 'closed');
    expect(await client.waitForClose()).toBe(1005); // ws close() without a code: the session ended it
    await expect.poll(() => app.activeSessions(), { timeout: WAIT_MS }).toBe(0);
  });
});
