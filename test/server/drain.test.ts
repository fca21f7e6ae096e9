/** AppServer.close: drain while listening, polite end of live calls, then 1001 for peers that do not answer. */
import { afterEach, describe, expect, it } from 'vitest';
import { SHUTDOWN_OUTPUT_VARIABLES } from '../../src/bridge/outputs.js';
import type { AppServer } from '../../src/server/http.js';
import { newIds, RawClient, signedHeaders, startApp, upgrade } from './support.js';

let apps: AppServer[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close({ politeEndWaitMs: 200, socketCloseWaitMs: 200 })));
  apps = [];
});

describe('AppServer.close', () => {
  it('answers 503 while live calls run out their grace, then lets the handler end its call with its own outputs', async () => {
    const { app, port, base } = await startApp(
      {},
      {
        createCall: (_context, control) => {
          return {
            onClose: () => undefined,
            onShutdown: () => control.disconnect('completed', 'maintenance', { ESCALATION_REQUIRED: 'true', CONVERSATION_SUMMARY: 'cut short' }),
          };
        },
      },
    );
    apps.push(app);
    const client = await RawClient.connect(port);
    await client.open();
    // Genesys answers a disconnect with close; this client does too.
    client.ws.on('message', (data, isBinary) => {
      if (!isBinary && (JSON.parse(data.toString()) as { type: string }).type === 'disconnect') client.send('close', { reason: 'disconnect' });
    });
    const closing = app.close({ graceMs: 300, politeEndWaitMs: 5_000, socketCloseWaitMs: 1_000 });
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect(await upgrade(port, '/audiohook', signedHeaders(port, newIds()))).toMatchObject({ kind: 'rejected', status: 503 });
    expect(client.types).not.toContain('disconnect');
    await closing;
    expect(client.received.find((m) => m.type === 'disconnect')?.parameters).toEqual({
      reason: 'completed',
      info: 'maintenance',
      outputVariables: { ESCALATION_REQUIRED: 'true', CONVERSATION_SUMMARY: 'cut short' },
    });
    expect(client.types.at(-1)).toBe('closed');
    expect(app.activeSessions()).toBe(0);
  });

  it('a peer that never answers the shutdown disconnect is closed with 1001 after the polite wait', async () => {
    const { app, port } = await startApp({}, { createCall: () => ({ onClose: () => undefined }), shutdownOutputVariables: SHUTDOWN_OUTPUT_VARIABLES });
    apps.push(app);
    const client = await RawClient.connect(port);
    await client.open();
    await app.close({ graceMs: 0, politeEndWaitMs: 300, socketCloseWaitMs: 1_000 });
    expect(client.received.find((m) => m.type === 'disconnect')?.parameters).toMatchObject({
      reason: 'completed',
      outputVariables: SHUTDOWN_OUTPUT_VARIABLES,
    });
    expect(await client.waitForClose()).toBe(1001);
    expect(app.activeSessions()).toBe(0);
  });
});
