/**
 * Session-level metrics, owned by the server: each session counted once at its end with its reason
 * (probes, errors before any call, shutdown included), open → opened latency for every `opened`, and
 * Genesys 429s. Pure mapping first, then real sockets through the app server.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallHandlerFactory, SessionOutcome } from '../../src/audiohook/handler.js';
import { NULL_UUID } from '../../src/audiohook/schemas.js';
import { createSession } from '../../src/audiohook/session.js';
import { createLogger } from '../../src/log/logger.js';
import type { AppServer } from '../../src/server/http.js';
import { createMetrics, type Metrics } from '../../src/server/metrics.js';
import { sessionEndReason } from '../../src/server/session-metrics.js';
import { ManualClock } from '../../src/util/clock.js';
import { RawClient, startApp } from './support.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const base: SessionOutcome = { opened: true, probe: false, call: true, shutdown: false };

describe('sessionEndReason', () => {
  it.each<[string, SessionOutcome, string]>([
    ['probe', { ...base, call: false, probe: true, closeReason: 'end' }, 'probe'],
    ['probe that was also shut down', { ...base, probe: true, shutdown: true }, 'probe'],
    ['shutdown wins over its disconnect', { ...base, shutdown: true, disconnect: { reason: 'completed', escalation: true } }, 'shutdown'],
    ['bot ended', { ...base, disconnect: { reason: 'completed', escalation: false }, closeReason: 'disconnect' }, 'completed'],
    ['bot transferred', { ...base, disconnect: { reason: 'completed', escalation: true }, closeReason: 'disconnect' }, 'escalated'],
    ['our disconnect error', { ...base, disconnect: { reason: 'error', escalation: false }, closeReason: 'disconnect' }, 'error'],
    ['unauthorized open', { ...base, opened: false, call: false, disconnect: { reason: 'unauthorized', escalation: false } }, 'error'],
    ['caller hung up', { ...base, closeReason: 'end' }, 'caller_hangup'],
    ['client error close', { ...base, closeReason: 'error' }, 'error'],
    ['socket dropped', { ...base, socketCode: 1006 }, 'error'],
    ['never opened', { opened: false, probe: false, call: false, shutdown: false, socketCode: 1000 }, 'error'],
  ])('%s', (_name, outcome, reason) => {
    expect(sessionEndReason(outcome)).toBe(reason);
  });
});

let apps: AppServer[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close({ politeEndWaitMs: 2_000, socketCloseWaitMs: 500 })));
  apps = [];
});

async function startWithMetrics(createCall?: CallHandlerFactory): Promise<{ app: AppServer; port: number; metrics: Metrics }> {
  const metrics = createMetrics({ defaultMetrics: false });
  const { app, port } = await startApp({}, { metrics, ...(createCall ? { createCall } : {}) });
  apps.push(app);
  return { app, port, metrics };
}

/** Answers our disconnect as Genesys does, then waits for the close transaction. */
async function closeAfterDisconnect(client: RawClient): Promise<void> {
  await client.waitFor(() => client.types.includes('disconnect'), 'disconnect');
  client.send('close', { reason: 'disconnect' });
  await client.waitFor(() => client.types.includes('closed'), 'closed');
}

async function counts(metrics: Metrics) {
  const text = await metrics.render();
  const reason = (r: string) => sample(text, `audiohook_sessions_total{reason="${r}"}`);
  return {
    text,
    completed: reason('completed'),
    escalated: reason('escalated'),
    caller_hangup: reason('caller_hangup'),
    probe: reason('probe'),
    error: reason('error'),
    shutdown: reason('shutdown'),
    openedCount: sample(text, 'audiohook_open_to_opened_seconds_count'),
    active: sample(text, 'audiohook_active_sessions'),
    rateLimited: sample(text, 'audiohook_genesys_rate_limited_total'),
  };
}

describe('server session metrics over real sockets', () => {
  it('counts each session once by reason, observes every opened (probes too) and Genesys 429s', async () => {
    const { port, metrics } = await startWithMetrics((context, control) => ({
      // The call decides from its input: transfer, finish, or wait for the caller to hang up.
      onAudio: () => {
        const mode = context.inputVariables.MODE;
        if (mode === 'transfer') control.disconnect('completed', 'transfer', { ESCALATION_REQUIRED: 'true' });
        if (mode === 'finish') control.disconnect('completed', 'done', { ESCALATION_REQUIRED: 'false' });
      },
      onClose: () => undefined,
    }));
    const openCall = async (mode: string) => {
      const client = await RawClient.connect(port);
      client.send('open', {
        organizationId: client.ids.organizationId,
        conversationId: randomUUID(),
        participant: { id: randomUUID(), ani: '+15550100', aniName: '', dnis: '+15550199' },
        media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
        inputVariables: { MODE: mode },
      });
      await client.waitFor(() => client.types.includes('opened'), 'opened');
      client.ws.send(new Uint8Array(160).fill(0xff));
      return client;
    };

    // A connection probe: opened, then closed by the client; no call handler.
    const probe = await RawClient.connect(port);
    probe.send('open', {
      organizationId: probe.ids.organizationId,
      conversationId: NULL_UUID,
      participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' },
      media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
    });
    await probe.waitFor(() => probe.types.includes('opened'), 'probe opened');
    probe.send('close', { reason: 'end' });
    await probe.waitFor(() => probe.types.includes('closed'), 'probe closed');

    const transfer = await openCall('transfer');
    await closeAfterDisconnect(transfer);
    const finish = await openCall('finish');
    finish.send('error', { code: 429, message: 'Too many requests', retryAfter: 'PT0.1S' });
    await closeAfterDisconnect(finish);
    const hangup = await openCall('wait');
    hangup.send('close', { reason: 'end' });
    await hangup.waitFor(() => hangup.types.includes('closed'), 'closed after hang-up');
    // A protocol error before any call: audio before `open`.
    const broken = await RawClient.connect(port);
    broken.ws.send(new Uint8Array(160));
    await closeAfterDisconnect(broken);

    await expect.poll(async () => (await counts(metrics)).active, { timeout: 5_000 }).toBe(0);
    const c = await counts(metrics);
    expect(c).toMatchObject({ completed: 1, escalated: 1, caller_hangup: 1, probe: 1, error: 1, shutdown: 0 });
    expect(c.openedCount).toBe(4);
    expect(c.rateLimited).toBe(1);
  });

  it('a live call ended by the server shutdown counts as shutdown, once', async () => {
    const { app, port, metrics } = await startWithMetrics(() => ({ onClose: () => undefined }));
    const client = await RawClient.connect(port);
    await client.open();
    const closing = app.close({ graceMs: 0, politeEndWaitMs: 5_000, socketCloseWaitMs: 500 });
    await closeAfterDisconnect(client);
    await closing;
    apps = [];
    const c = await counts(metrics);
    expect(c).toMatchObject({ shutdown: 1, completed: 0, error: 0, active: 0, openedCount: 1 });
  });

  it('a dropped socket counts as error', async () => {
    const { port, metrics } = await startWithMetrics(() => ({ onClose: () => undefined }));
    const client = await RawClient.connect(port);
    await client.open();
    client.ws.terminate();
    await expect.poll(async () => (await counts(metrics)).error, { timeout: 5_000 }).toBe(1);
    expect((await counts(metrics)).active).toBe(0);
  });
});

describe('the session observer', () => {
  it('reports opened and the outcome once; an observer that throws changes nothing', () => {
    const clock = new ManualClock();
    const sent: Array<{ type: string; parameters: Record<string, unknown> }> = [];
    const ended: SessionOutcome[] = [];
    const opened: Array<{ latencyMs: number; probe: boolean }> = [];
    const organizationId = randomUUID();
    const sessionId = randomUUID();
    const session = createSession({
      socket: { sendText: (t) => sent.push(JSON.parse(t)), sendBinary: () => undefined, close: () => undefined, bufferedAmount: 0 },
      sessionId,
      organizationId,
      correlationId: randomUUID(),
      connectorId: '',
      logger: createLogger('silent'),
      clock,
      observer: {
        onOpened: (info) => {
          opened.push(info);
          throw new Error('observer bug');
        },
        onEnded: (outcome) => ended.push(outcome),
      },
    });
    const message = (seq: number, type: string, parameters: Record<string, unknown>) =>
      JSON.stringify({ version: '2', id: sessionId, type, seq, serverseq: sent.length, position: 'PT0S', parameters });
    session.handleText(
      message(1, 'open', {
        organizationId,
        conversationId: randomUUID(),
        participant: { id: randomUUID(), ani: '', aniName: '', dnis: '' },
        media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
      }),
    );
    expect(sent.map((m) => m.type)).toEqual(['opened']);
    expect(opened).toEqual([{ latencyMs: 0, probe: false }]);
    session.handleText(message(2, 'close', { reason: 'end' }));
    return session.finished.then(() => {
      expect(sent.map((m) => m.type)).toEqual(['opened', 'closed']);
      expect(ended).toEqual([{ opened: true, probe: false, call: false, shutdown: false, closeReason: 'end' }]);
    });
  });
});
