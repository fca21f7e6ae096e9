/**
 * Authentication abuse (issue 5): replayed nonces, clock skew past 3 s both ways, oversize headers, and a
 * burst of 5,000 failed attempts from another process while the server must stay responsive, keep its
 * delayed rejections capped, not grow its heap, answer /healthz and still admit a genuine Genesys client.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from '../../src/server/http.js';
import { newIds, RawClient, signedHeaders, startApp, upgrade, WAIT_MS } from '../server/support.js';

const FLOOD = fileURLToPath(new URL('../server/upgrade-flood.ts', import.meta.url));
/** Fixed wall clock for signature times (ms since the epoch). */
const WALL_MS = 1_750_000_000_000;
const NOW_S = WALL_MS / 1000;

let apps: AppServer[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close({ politeEndWaitMs: 500, socketCloseWaitMs: 200 })));
  apps = [];
});

async function started(options: Parameters<typeof startApp>[1] = {}) {
  const s = await startApp({}, { wallClockMs: () => WALL_MS, ...options });
  apps.push(s.app);
  return s;
}

describe('authentication abuse: replay and clock skew', () => {
  it('a replayed nonce is refused (401), also after the first connection has ended', async () => {
    const { port } = await started();
    const ids = newIds();
    const headers = signedHeaders(port, ids, { created: NOW_S, nonce: 'replayed-nonce-0123456789abcdef' });
    const first = await upgrade(port, '/audiohook', headers);
    expect(first.kind).toBe('open');
    if (first.kind === 'open') first.ws.close();
    const again = await upgrade(port, '/audiohook', headers);
    expect(again).toMatchObject({ kind: 'rejected', status: 401 });
    // Same nonce with fresh ids and a fresh signature: still a replay.
    const resigned = await upgrade(port, '/audiohook', signedHeaders(port, newIds(), { created: NOW_S, nonce: 'replayed-nonce-0123456789abcdef' }));
    expect(resigned).toMatchObject({ kind: 'rejected', status: 401 });
  });

  it('accepts created up to 3 s ahead and refuses 4 s ahead; refuses a signature past its 10 s age', async () => {
    const { port } = await started();
    const attempt = (created: number) => upgrade(port, '/audiohook', signedHeaders(port, newIds(), { created, expires: created + 10 }));
    const [ahead3, ahead4, behind6, behind8] = await Promise.all([attempt(NOW_S + 3), attempt(NOW_S + 4), attempt(NOW_S - 6), attempt(NOW_S - 8)]);
    expect(ahead3.kind).toBe('open');
    expect(behind6.kind).toBe('open');
    expect(ahead4).toMatchObject({ kind: 'rejected', status: 401 });
    expect(behind8).toMatchObject({ kind: 'rejected', status: 401 });
    for (const r of [ahead3, behind6]) if (r.kind === 'open') r.ws.close();
  });
});

describe('authentication abuse: oversize headers', () => {
  /** Raw request so oversize values reach the server exactly as sent; resolves with the status line code. */
  function rawUpgrade(port: number, extra: Record<string, string>): Promise<string> {
    return new Promise((resolve) => {
      const headers = { ...signedHeaders(port, newIds()), ...extra };
      const lines = [
        'GET /audiohook HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      ];
      const socket = connect(port, '127.0.0.1', () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
      let head = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => (head += c));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 'no-response'));
    });
  }

  it('answers 431 for an oversize X-API-KEY, Signature or Signature-Input and for headers past Node\'s limit; stays healthy', async () => {
    // Real wall clock here: the genuine client at the end signs with the current time.
    const { app, port, base } = await startApp();
    apps.push(app);
    expect(await rawUpgrade(port, { 'X-API-KEY': 'k'.repeat(600) })).toBe('431');
    expect(await rawUpgrade(port, { Signature: `sig1=:${'A'.repeat(600)}:` })).toBe('431');
    expect(await rawUpgrade(port, { 'Signature-Input': `sig1=(${'"x" '.repeat(1000)})` })).toBe('431');
    expect(await rawUpgrade(port, { 'X-Padding': 'p'.repeat(32 * 1024) })).toBe('431');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const client = await RawClient.connect(port);
    await client.open();
    client.ws.close();
  });
});

describe('authentication abuse: 5,000 failed attempts in a burst', () => {
  it('keeps the event loop responsive, caps pending rejections, does not grow the heap, serves /healthz and real clients', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const cap = 200;
    const { app, port, base } = await startApp({ LOG_LEVEL: 'warn' }, { maxPendingRejections: cap });
    apps.push(app);

    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();

    const flood = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), FLOOD, String(port), '5000', '400'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let floodOut = '';
    let floodErr = '';
    flood.stdout.setEncoding('utf8').on('data', (c: string) => (floodOut += c));
    flood.stderr.setEncoding('utf8').on('data', (c: string) => (floodErr += c));
    let floodDone = false;
    const floodExit = new Promise<number | null>((resolve) => flood.on('exit', (code) => resolve(code)));
    void floodExit.then(() => (floodDone = true));

    // While the burst runs: sample the pending rejections, probe /healthz, and admit a genuine client.
    let maxPending = 0;
    let healthDuringBurst = 0;
    const healthStatuses: number[] = [];
    let genuineOpened = false;
    await (async () => {
      const deadline = Date.now() + 120_000;
      while (!floodDone && Date.now() < deadline) {
        maxPending = Math.max(maxPending, app.pendingRejections());
        const res = await fetch(`${base}/healthz`);
        healthStatuses.push(res.status);
        if (!floodDone) healthDuringBurst++;
        if (!genuineOpened && maxPending > 0) {
          const client = await RawClient.connect(port);
          await client.open();
          genuineOpened = true;
          client.ws.close();
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    expect(await floodExit, floodErr).toBe(0);
    loopDelay.disable();

    const { statuses } = JSON.parse(floodOut) as { statuses: Record<string, number> };
    expect(Object.values(statuses).reduce((a, b) => a + b, 0)).toBe(5000);
    // Only the delayed 401 and the immediate 503 of an overflowing queue; no resets, no other answers.
    expect(Object.keys(statuses).sort()).toEqual(['401', '503']);
    expect(maxPending).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(cap);
    expect(healthDuringBurst).toBeGreaterThan(0);
    expect(healthStatuses.every((s) => s === 200)).toBe(true);
    expect(genuineOpened).toBe(true);
    // Generous: a blocked loop (busy-wait delays, synchronous floods) would show seconds, not milliseconds.
    expect(loopDelay.percentile(99) / 1e6).toBeLessThan(200);

    await expect.poll(() => app.pendingRejections(), { timeout: WAIT_MS }).toBe(0);
    gc();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / (1024 * 1024);
    expect(heapGrowthMb).toBeLessThan(32);
  }, 180_000);
});
