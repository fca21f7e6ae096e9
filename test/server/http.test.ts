import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CallContext } from '../../src/audiohook/handler.js';
import { signRequest } from '../../src/audiohook/signature.js';
import { parseEnv } from '../../src/cli/env.js';
import { createLogger } from '../../src/log/logger.js';
import { createAppServer, type AppServer, type AppServerOptions } from '../../src/server/http.js';
import { createMetrics } from '../../src/server/metrics.js';
import { ManualClock } from '../../src/util/clock.js';
import { upgrade, type UpgradeResult } from './support.js';

const SECRET_1 = Buffer.from('first secret, thirty-two bytes!!').toString('base64');
const SECRET_2 = Buffer.from('second secret, also 32 bytes....').toString('base64');
const WAIT_MS = 10_000;

let running: AppServer[] = [];
afterEach(async () => {
  await Promise.all(running.map((app) => app.close()));
  running = [];
});

function captureLogs() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { logger: createLogger('info', destination), lines };
}

async function start(envOverrides: Record<string, string> = {}, options: Partial<AppServerOptions> = {}) {
  const env = parseEnv({
    GENESYS_API_KEY: 'key-1',
    GENESYS_CLIENT_SECRET: SECRET_1,
    PORT: '0',
    HOST: '127.0.0.1',
    ...envOverrides,
  });
  const logs = captureLogs();
  const app = createAppServer({ env, logger: logs.logger, ...options });
  running.push(app);
  const { port } = await app.listen();
  return { app, port, logs, base: `http://127.0.0.1:${port}` };
}

interface Ids {
  organizationId: string;
  sessionId: string;
  correlationId: string;
}
const newIds = (): Ids => ({ organizationId: randomUUID(), sessionId: randomUUID(), correlationId: randomUUID() });

function headersFor(
  port: number,
  path: string,
  ids: Ids,
  options: { apiKey?: string; secret?: string | null; authority?: string; created?: number } = {},
): Record<string, string> {
  const apiKey = options.apiKey ?? 'key-1';
  const headers: Record<string, string> = {
    'Audiohook-Organization-Id': ids.organizationId,
    'Audiohook-Session-Id': ids.sessionId,
    'Audiohook-Correlation-Id': ids.correlationId,
    'X-API-KEY': apiKey,
    'User-Agent': 'GenesysCloud-AudioHook-Client',
  };
  const secret = options.secret === undefined ? SECRET_1 : options.secret;
  if (secret !== null) {
    const signed = signRequest({
      path,
      authority: options.authority ?? `127.0.0.1:${port}`,
      ...ids,
      apiKey,
      clientSecretBase64: secret,
      created: options.created,
    });
    headers.Signature = signed.signature;
    headers['Signature-Input'] = signed.signatureInput;
  }
  return headers;
}


function nextText(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message in time')), WAIT_MS);
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      if (isBinary) reject(new Error('expected text'));
      else resolve(JSON.parse(data.toString()) as Record<string, unknown>);
    });
  });
}

function openMessage(ids: Ids) {
  return JSON.stringify({
    version: '2',
    id: ids.sessionId,
    type: 'open',
    seq: 1,
    serverseq: 0,
    position: 'PT0S',
    parameters: {
      organizationId: ids.organizationId,
      conversationId: randomUUID(),
      participant: { id: randomUUID(), ani: '+15550100', aniName: 'Caller', dnis: '+15550199' },
      media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
    },
  });
}

const closed = (ws: WebSocket) =>
  new Promise<number>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve(-1);
    ws.once('close', (code) => resolve(code));
  });

describe('HTTP endpoints', () => {
  it('serves /healthz, /readyz (503 while draining) and 404 elsewhere', async () => {
    const { app, base } = await start();
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/nothing-here`)).status).toBe(404);
    expect((await fetch(`${base}/audiohook`)).status).toBe(426);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
    app.startDrain();
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe('AudioHook upgrade', () => {
  it('accepts a signed connection and answers open with opened, keyed by the session id', async () => {
    const contexts: CallContext[] = [];
    const { app, port, logs } = await start({}, {
      createCall: (context) => {
        contexts.push(context);
        return { onClose: () => undefined };
      },
    });
    const ids = newIds();
    const path = '/audiohook/sales-bot?region=eu';
    const result = await upgrade(port, path, headersFor(port, path, ids));
    if (result.kind !== 'open') throw new Error(`rejected: ${result.status} ${result.body}`);
    expect(app.activeSessions()).toBe(1);
    const reply = nextText(result.ws);
    result.ws.send(openMessage(ids));
    expect(await reply).toMatchObject({ type: 'opened', id: ids.sessionId, seq: 1, clientseq: 1 });
    expect(contexts).toHaveLength(1);
    expect(contexts[0]).toMatchObject({ connectorId: 'sales-bot', ...ids });
    const accepted = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'audiohook connection accepted');
    expect(accepted).toMatchObject({ ...ids, connectorId: 'sales-bot' });
    result.ws.close();
    await closed(result.ws);
  });

  it('rejects upgrades on other paths with a real 404 response', async () => {
    const { port } = await start();
    const ids = newIds();
    const result = await upgrade(port, '/elsewhere', headersFor(port, '/elsewhere', ids));
    expect(result).toMatchObject({ kind: 'rejected', status: 404 });
  });

  it('rejects forged requests with 401 and bad ids with 400, logging the reason but no credentials', async () => {
    const { port, logs } = await start();
    const path = '/audiohook';
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, (ids: Ids) => Record<string, string>, number, string][] = [
      ['wrong key', (ids) => headersFor(port, path, ids, { apiKey: 'key-x' }), 401, 'invalid credentials'],
      ['missing signature', (ids) => headersFor(port, path, ids, { secret: null }), 401, 'signature required'],
      ['wrong secret', (ids) => headersFor(port, path, ids, { secret: SECRET_2 }), 401, 'invalid credentials'],
      ['expired', (ids) => headersFor(port, path, ids, { created: now - 60 }), 401, 'signature expired'],
      ['future', (ids) => headersFor(port, path, ids, { created: now + 60 }), 401, 'signature created in the future'],
      [
        'short nonce',
        (ids) => {
          const h = headersFor(port, path, ids);
          h['Signature-Input'] = h['Signature-Input']!.replace(/nonce="[^"]+"/, 'nonce="short"');
          return h;
        },
        401,
        'invalid signature nonce',
      ],
      [
        'bad uuid',
        (ids) => ({ ...headersFor(port, path, ids), 'Audiohook-Session-Id': 'not-a-uuid' }),
        400,
        'audiohook-session-id header is not a UUID',
      ],
    ];
    const results = await Promise.all(cases.map(([, build]) => upgrade(port, path, build(newIds()))));
    results.forEach((result, i) => {
      const [name, , status, reason] = cases[i]!;
      expect(result, name).toMatchObject({ kind: 'rejected', status, body: expect.stringContaining(reason) });
    });
    const rejections = logs.lines.filter((l) => l.includes('audiohook upgrade rejected'));
    expect(rejections).toHaveLength(cases.length);
    for (const line of rejections) {
      expect(line).toMatch(/"level":40/);
      expect(line).toMatch(/"remoteAddress":"127\.0\.0\.1"/);
      expect(line).not.toContain('key-1');
      expect(line).not.toContain('key-x');
      expect(line).not.toContain(SECRET_1);
      expect(line).not.toContain('sig1=');
    }
    expect(JSON.parse(rejections[0]!)).toHaveProperty('sessionId');
  });

  it('rejects a replayed request (same signature and nonce) with 401', async () => {
    const { port } = await start();
    const ids = newIds();
    const headers = headersFor(port, '/audiohook', ids);
    const first = await upgrade(port, '/audiohook', headers);
    expect(first.kind).toBe('open');
    if (first.kind === 'open') first.ws.close();
    const replay = await upgrade(port, '/audiohook', headers);
    expect(replay).toMatchObject({ kind: 'rejected', status: 401, body: expect.stringContaining('nonce already used') });
  });

  it('accepts the second key pair (rotation) and unsigned requests only for a key without a secret', async () => {
    const { port } = await start({ GENESYS_API_KEY_2: 'key-2', GENESYS_CLIENT_SECRET_2: SECRET_2 });
    const second = await upgrade(port, '/audiohook', headersFor(port, '/audiohook', newIds(), { apiKey: 'key-2', secret: SECRET_2 }));
    expect(second.kind).toBe('open');
    if (second.kind === 'open') second.ws.close();

    const open = await start({ GENESYS_CLIENT_SECRET: '' });
    const unsigned = await upgrade(open.port, '/audiohook', headersFor(open.port, '/audiohook', newIds(), { secret: null }));
    expect(unsigned.kind).toBe('open');
    if (unsigned.kind === 'open') unsigned.ws.close();
  });

  it('verifies @authority against X-Forwarded-Host behind a trusted proxy', async () => {
    const path = '/audiohook/bot';
    const publicHost = 'connector.example.com';
    const trusted = await start();
    const headers = {
      ...headersFor(trusted.port, path, newIds(), { authority: publicHost }),
      'X-Forwarded-Host': publicHost,
    };
    const ok = await upgrade(trusted.port, path, headers);
    expect(ok.kind).toBe('open');
    if (ok.kind === 'open') ok.ws.close();

    const untrusted = await start({ TRUST_PROXY: 'false' });
    const refused = await upgrade(untrusted.port, path, {
      ...headersFor(untrusted.port, path, newIds(), { authority: publicHost }),
      'X-Forwarded-Host': publicHost,
    });
    expect(refused).toMatchObject({ kind: 'rejected', status: 401 });
  });

  it('delays a rejection by the 500 ms floor (sanity check on the real clock)', async () => {
    const { port } = await start();
    const startedAt = performance.now();
    const result = await upgrade(port, '/audiohook', headersFor(port, '/audiohook', newIds(), { apiKey: 'key-x' }));
    expect(result).toMatchObject({ kind: 'rejected', status: 401 });
    const elapsed = performance.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(WAIT_MS);
  });

  it('holds rejections on the injected clock and caps how many wait (503 beyond the cap)', async () => {
    const clock = new ManualClock();
    const { port } = await start({}, { clock, maxPendingRejections: 2 });
    const forged = () => upgrade(port, '/audiohook', headersFor(port, '/audiohook', newIds(), { apiKey: 'key-x' }));
    const results: UpgradeResult[] = [];
    const pending = [forged(), forged(), forged(), forged()].map((p) => p.then((r) => results.push(r)));
    // The two over the cap are answered at once, while the clock has not moved.
    await expect.poll(() => results.length, { timeout: WAIT_MS }).toBe(2);
    expect(results).toEqual([
      expect.objectContaining({ status: 503 }),
      expect.objectContaining({ status: 503 }),
    ]);
    clock.advance(500);
    await Promise.all(pending);
    expect(results.slice(2)).toEqual([
      expect.objectContaining({ status: 401 }),
      expect.objectContaining({ status: 401 }),
    ]);
  });

  it('refuses new connections while draining and closes live ones at close()', async () => {
    const { app, port } = await start();
    const live = await upgrade(port, '/audiohook', headersFor(port, '/audiohook', newIds()));
    if (live.kind !== 'open') throw new Error('expected an open socket');
    const liveClosed = closed(live.ws);
    app.startDrain();
    const refused = await upgrade(port, '/audiohook', headersFor(port, '/audiohook', newIds()));
    expect(refused).toMatchObject({ kind: 'rejected', status: 503 });
    expect(app.activeSessions()).toBe(1);
    await app.close({ graceMs: 0 });
    expect(await liveClosed).toBe(1001);
    expect(app.activeSessions()).toBe(0);
  });

  it('closes a connection that sends a frame over 65,536 bytes, without disturbing another session', async () => {
    const { app, port } = await start();
    const a = await upgrade(port, '/audiohook', headersFor(port, '/audiohook', newIds()));
    const bIds = newIds();
    const b = await upgrade(port, '/audiohook', headersFor(port, '/audiohook', bIds));
    if (a.kind !== 'open' || b.kind !== 'open') throw new Error('expected open sockets');
    const aClosed = closed(a.ws);
    a.ws.send(Buffer.alloc(70_000), { binary: true });
    expect(await aClosed).toBe(1009);
    const reply = nextText(b.ws);
    b.ws.send(openMessage(bIds));
    expect(await reply).toMatchObject({ type: 'opened' });
    await expect.poll(() => app.activeSessions(), { timeout: WAIT_MS }).toBe(1);
    b.ws.close();
  });
});

describe('/metrics', () => {
  it('is served only with the bearer token and tracks active sessions', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const token = 'a-metrics-token-of-32-characters';
    const { port, base } = await start({}, { metrics, metricsToken: token });
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const auth = { headers: { Authorization: `Bearer ${token}` } };
    const result = await upgrade(port, '/audiohook', headersFor(port, '/audiohook', newIds()));
    if (result.kind !== 'open') throw new Error('expected an open socket');
    const during = await (await fetch(`${base}/metrics`, auth)).text();
    expect(during).toMatch(/^audiohook_active_sessions 1$/m);
    const socketClosed = closed(result.ws);
    result.ws.close();
    await socketClosed;
    await expect
      .poll(async () => (await (await fetch(`${base}/metrics`, auth)).text()).match(/^audiohook_active_sessions (\d+)$/m)?.[1], {
        timeout: WAIT_MS,
      })
      .toBe('0');
  });

  it('is absent when no metrics are configured', async () => {
    const { base } = await start();
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
  });
});
