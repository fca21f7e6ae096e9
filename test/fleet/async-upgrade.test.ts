/**
 * The server's upgrade path with an asynchronous nonce store (fleet mode) and the fleet hooks, without
 * Redis: a slow check holds a capacity slot and releases it when the client gives up; a drain that starts
 * during the check answers 503; a store that throws answers 503 instead of crashing; MAX_FLEET_SESSIONS
 * refusal (503) happens before any signature work; sessions are registered and deregistered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AppServer, FleetHooks } from '../../src/server/http.js';
import type { NonceStore } from '../../src/server/nonce-cache.js';
import { newIds, signedHeaders, startApp, upgrade, WAIT_MS } from '../server/support.js';
import { waitFor } from './support.js';

let apps: AppServer[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close({ politeEndWaitMs: 200, socketCloseWaitMs: 100 })));
  apps = [];
});

function slowStore(ms: number, calls: string[] = []): NonceStore {
  const seen = new Set<string>();
  return {
    remember: (nonce) =>
      new Promise((resolve) => {
        calls.push(nonce);
        setTimeout(() => {
          const fresh = !seen.has(nonce);
          seen.add(nonce);
          resolve(fresh);
        }, ms);
      }),
  };
}

async function started(env: Record<string, string>, options: Parameters<typeof startApp>[1]) {
  const s = await startApp(env, options);
  apps.push(s.app);
  return s;
}

describe('upgrade with an asynchronous nonce store', () => {
  it('accepts after the check, refuses a replay, and a client giving up mid-check frees its slot', async () => {
    const { port, app } = await started({ MAX_SESSIONS: '1' }, { nonceStore: slowStore(300) });
    const ids = newIds();
    const headers = signedHeaders(port, ids, { nonce: 'async-nonce-0123456789abcdef' });
    const first = await upgrade(port, '/audiohook', headers);
    expect(first.kind).toBe('open');
    if (first.kind === 'open') first.ws.terminate();
    await waitFor(() => app.activeSessions() === 0, 'session gone');
    const replay = await upgrade(port, '/audiohook', headers);
    expect(replay).toMatchObject({ kind: 'rejected', status: 401 });

    // A client that disconnects while its check is pending: the slot is released, the next one gets in.
    const quitter = new WebSocket(`ws://127.0.0.1:${port}/audiohook`, { headers: signedHeaders(port, newIds()) });
    quitter.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 50));
    quitter.terminate();
    await new Promise((r) => setTimeout(r, 400));
    const next = await upgrade(port, '/audiohook', signedHeaders(port, newIds()));
    expect(next.kind).toBe('open');
    if (next.kind === 'open') next.ws.terminate();
  }, WAIT_MS);

  it('a drain starting during the check answers 503; a failing store answers 503 and the server lives on', async () => {
    const { port, app } = await started({}, { nonceStore: slowStore(300) });
    const pending = upgrade(port, '/audiohook', signedHeaders(port, newIds()));
    await new Promise((r) => setTimeout(r, 50));
    app.startDrain();
    expect(await pending).toMatchObject({ kind: 'rejected', status: 503 });

    const broken = await started({}, { nonceStore: { remember: () => Promise.reject(new Error('boom')) } });
    expect(await upgrade(broken.port, '/audiohook', signedHeaders(broken.port, newIds()))).toMatchObject({ kind: 'rejected', status: 503 });
    expect((await fetch(`${broken.base}/healthz`)).status).toBe(200);
  }, WAIT_MS);

  it('fleet hooks: refused above the fleet cap before signature work; sessions registered and deregistered', async () => {
    const events: string[] = [];
    let admit = true;
    const fleet: FleetHooks = {
      admit: () => admit,
      sessionStarted: (ids) => events.push(`start:${ids.sessionId}`),
      sessionEnded: (ids) => events.push(`end:${ids.sessionId}`),
    };
    const calls: string[] = [];
    const { port, app } = await started({}, { fleet, nonceStore: slowStore(10, calls) });
    const ids = newIds();
    const ok = await upgrade(port, '/audiohook', signedHeaders(port, ids));
    expect(ok.kind).toBe('open');
    await waitFor(() => events.length === 1, 'registered');
    if (ok.kind === 'open') ok.ws.terminate();
    await waitFor(() => app.activeSessions() === 0 && events.length === 2, 'deregistered');
    expect(events).toEqual([`start:${ids.sessionId}`, `end:${ids.sessionId}`]);

    admit = false;
    const refused = await upgrade(port, '/audiohook', signedHeaders(port, newIds()));
    expect(refused).toMatchObject({ kind: 'rejected', status: 503 });
    if (refused.kind === 'rejected') expect(refused.body).toContain('fleet at capacity');
    expect(calls).toHaveLength(1); // no nonce check for the refused upgrade
  }, WAIT_MS);
});
