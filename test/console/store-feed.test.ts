/** The console's server side without a browser: store bounds and privacy, the feed's bounded publishing, sessions, health. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConsoleAuth, COOKIE_NAME } from '../../src/console/auth.js';
import { ConsoleFeed, type FeedSocket } from '../../src/console/feed.js';
import { HEALTH_SERIES, HealthRecorder, healthPoint, registryHealthSource, type HealthReading } from '../../src/console/health.js';
import { ConsoleStore, MAX_TEXT } from '../../src/console/store.js';
import type { BatchItem, StreamMessage } from '../../src/console/wire.js';
import { createMetrics } from '../../src/server/metrics.js';
import { ManualClock } from '../../src/util/clock.js';
import { callRecord, CallScript } from './support.js';

describe('ConsoleStore', () => {
  const collect = (transcripts: boolean, extra: Partial<ConstructorParameters<typeof ConsoleStore>[0]> = {}) => {
    const items: BatchItem[] = [];
    const store = new ConsoleStore({ transcripts, maxEnded: 3, publish: (i) => items.push(i), ...extra });
    return { store, items };
  };

  it('with transcripts off, drops transcript events on entry and the ended record transcript', () => {
    const { store, items } = collect(false);
    const c = new CallScript('c1');
    store.onCallEvent(c.started());
    store.onCallEvent(c.ev('transcript', { role: 'caller', text: 'my PIN is 1234' }, 10));
    store.onCallEvent(c.ev('call.ended', { record: callRecord('c1') }, 10));
    const json = JSON.stringify({ items, ended: store.endedCalls(), watched: store.watched('c1') });
    expect(json).not.toContain('PIN');
    expect(json).not.toContain('Where is my order');
    expect(store.endedCalls()[0]!.transcript).toBeUndefined();
  });

  it('with transcripts on, keeps turns (clipped) and the record transcript', () => {
    const { store } = collect(true);
    const c = new CallScript('c1');
    store.onCallEvent(c.started());
    store.onCallEvent(c.ev('transcript', { role: 'caller', text: 'x'.repeat(MAX_TEXT + 500) }, 10));
    const [event] = store.watched('c1')!.events;
    expect(event).toMatchObject({ kind: 'transcript', role: 'caller' });
    expect((event as { text: string }).text.length).toBe(MAX_TEXT);
    store.onCallEvent(c.ev('call.ended', { record: callRecord('c1') }, 10));
    expect(store.endedCalls()[0]!.transcript).toEqual([
      { role: 'caller', text: 'Where is my order?' },
      { role: 'bot', text: 'It ships tomorrow.' },
    ]);
  });

  it('counts barge-ins, tools, reconnects and DTMF entries (how many digits, never which)', () => {
    const { store } = collect(false);
    const c = new CallScript('c1');
    store.onCallEvent(c.started());
    store.onCallEvent(c.ev('activity', { activity: 'bot_speaking' }));
    store.onCallEvent(c.ev('barge_in', {}));
    store.onCallEvent(c.ev('tool.started', { toolCallId: 't', name: 'lookup' }));
    store.onCallEvent(c.ev('tool.finished', { toolCallId: 't', name: 'lookup', outcome: 'timeout', durationMs: 5000 }));
    store.onCallEvent(c.ev('model.reconnected', { purpose: 'renewal' }));
    store.onCallEvent(c.ev('dtmf', { count: 4 }));
    expect(store.liveRows()[0]).toMatchObject({ activity: 'bot_speaking', bargeIns: 1, toolCalls: 1, reconnects: 1, dtmfEntries: 1 });
    expect(store.watched('c1')!.events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('keeps the last N ended calls, newest first, with output variables only for endings that send them', () => {
    const { store } = collect(false);
    for (const [i, reason] of (['bot_ended', 'caller_hangup', 'escalated', 'error', 'bot_ended'] as const).entries()) {
      const c = new CallScript(`c${i}`);
      store.onCallEvent(c.started());
      store.onCallEvent(
        c.ev('call.ended', { record: callRecord(`c${i}`, { end_reason: reason, escalation: reason === 'escalated' ? { required: true, reason: 'wants a human' } : { required: false } }) }),
      );
    }
    const ended = store.endedCalls();
    expect(ended.map((e) => e.callId)).toEqual(['c4', 'c3', 'c2']);
    expect(ended[1]!.outputVariables).toBeNull(); // error: no disconnect with outputs
    expect(ended[2]!.outputVariables).toMatchObject({ ESCALATION_REQUIRED: 'true', ESCALATION_REASON: 'wants a human' });
    expect(ended[2]!.escalation).toEqual({ required: true, reason: 'wants a human' });
    expect(ended[0]!.webhook).toEqual({ state: 'not_reported' });
    const c = new CallScript('drained');
    store.onCallEvent(c.started());
    store.onCallEvent(c.ev('call.ended', { record: callRecord('drained', { end_reason: 'shutdown', escalation: { required: true, reason: 'server_shutdown' } }) }));
    expect(store.endedCalls()[0]!.outputVariables).toMatchObject({ END_REASON: 'server_shutdown', ESCALATION_REQUIRED: 'true', ESCALATION_REASON: 'server_shutdown' });
    expect(store.liveCount).toBe(0);
    expect(store.watched('c0')).toBeUndefined(); // evicted with its timeline
  });

  it('keeps no key-shaped secret from an error text (end detail, webhook error)', () => {
    const { store } = collect(false);
    const c = new CallScript('c1');
    store.onCallEvent(c.started());
    const detail = 'model error: Incorrect API key provided: sk-proj-abc123********wxyz (Authorization: Bearer eyJhbGciOi.payload)';
    store.onCallEvent(c.ev('call.ended', { record: callRecord('c1', { end_reason: 'error', end_detail: detail }), delivery: { delivered: false, attempts: 3, error: 'HTTP 401 for key rk-live-0123456789' } }));
    const [ended] = store.endedCalls();
    expect(ended!.endDetail).toBe('model error: Incorrect API key provided: [redacted] (Authorization: Bearer [redacted])');
    expect(ended!.webhook).toEqual({ state: 'failed', attempts: 3, error: 'HTTP 401 for key [redacted]' });
  });

  it('takes tool calls the bridge did not publish from the record: names, times, outcomes, never arguments or results', () => {
    const { store } = collect(false);
    const c = new CallScript('tools-1', Date.parse('2026-11-30T06:00:00.000Z'));
    store.onCallEvent(c.started());
    const tools = [
      { tool: 'get_order_status', bot: 'orders', started_at: '2026-11-30T06:00:05.000Z', duration_ms: 420, outcome: 'ok', arguments: { order_id: 'SECRET-ARG' }, result: 'SECRET-RESULT' },
      { tool: 'lookup_account', bot: 'orders', started_at: '2026-11-30T06:00:09.000Z', duration_ms: 5000, outcome: 'timeout', error_code: 'timeout' },
    ];
    store.onCallEvent(c.ev('call.ended', { record: { ...callRecord('tools-1'), tools } as never }, 12_000));
    const [ended] = store.endedCalls();
    expect(ended!.tools).toEqual([
      { name: 'get_order_status', startedAt: Date.parse('2026-11-30T06:00:05.000Z'), durationMs: 420, outcome: 'ok' },
      { name: 'lookup_account', startedAt: Date.parse('2026-11-30T06:00:09.000Z'), durationMs: 5000, outcome: 'timeout', errorCode: 'timeout' },
    ]);
    expect(ended!.toolCalls).toBe(2);
    const events = store.watched('tools-1')!.events;
    expect(events.filter((e) => e.kind === 'tool.finished')).toMatchObject([
      { name: 'get_order_status', durationMs: 420, at: Date.parse('2026-11-30T06:00:05.420Z') },
      { name: 'lookup_account', outcome: 'timeout' },
    ]);
    expect(JSON.stringify({ ended, events })).not.toContain('SECRET');
  });

  it('bounds events per call (the ending is always kept) and live calls tracked', () => {
    const { store } = collect(false, { maxEventsPerCall: 5, maxLive: 2 });
    const c = new CallScript('c1');
    store.onCallEvent(c.started());
    for (let i = 0; i < 50; i++) store.onCallEvent(c.ev('barge_in', {}));
    store.onCallEvent(c.ev('call.ended', { record: callRecord('c1') }));
    const watched = store.watched('c1')!;
    expect(watched.events).toHaveLength(6);
    expect(watched.truncated).toBe(true);
    expect(watched.events.at(-1)).toMatchObject({ kind: 'ended', endReason: 'bot_ended' });
    for (const id of ['a', 'b', 'c']) store.onCallEvent(new CallScript(id).started());
    expect(store.liveCount).toBe(2);
    expect(store.untracked).toBe(1);
  });

  it('shows a call whose start it missed, from its first event', () => {
    const { store } = collect(false);
    store.onCallEvent(new CallScript('late').ev('activity', { activity: 'listening' }));
    expect(store.liveRows()).toMatchObject([{ callId: 'late', activity: 'listening', connectorId: '' }]);
  });
});

class FakeSocket implements FeedSocket {
  chunks: string[] = [];
  writableLength = 0;
  destroyed = false;
  /** When set, every write stays unsent (a browser that stopped reading). */
  stuck = false;
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    if (this.stuck) this.writableLength += chunk.length;
    return !this.stuck;
  }
  destroy(): void {
    this.destroyed = true;
  }
  messages(): StreamMessage[] {
    return this.chunks.filter((c) => c.startsWith('data: ')).map((c) => JSON.parse(c.slice(6)) as StreamMessage);
  }
}

describe('ConsoleFeed', () => {
  const row = (callId: string): BatchItem => ({ kind: 'row', row: { callId, bot: '', connectorId: '', conversationId: '', instance: '', startedAt: 0, activity: 'listening', bargeIns: 0, toolCalls: 0, reconnects: 0, dtmfEntries: 0 } });
  const event = (callId: string, seq: number): BatchItem => ({ kind: 'event', callId, event: { seq, at: 0, kind: 'barge_in' } });
  const feedWith = (extra: Partial<ConstructorParameters<typeof ConsoleFeed>[0]> = {}) => {
    const clock = new ManualClock();
    const slow: string[] = [];
    const feed = new ConsoleFeed({
      clock,
      snapshot: (watch) => ({ type: 'snapshot', transcripts: false, live: [], ended: [], health: { intervalMs: 60_000, points: [] }, ...(watch ? { watched: { callId: watch, events: [], truncated: false } } : {}) }),
      onSlowClient: (r) => slow.push(r),
      ...extra,
    });
    return { clock, feed, slow };
  };

  it('queues nothing while no browser is connected', () => {
    const { feed } = feedWith();
    feed.publish(row('a'));
    expect(feed.queued).toBe(0);
  });

  it('sends a snapshot on connect, then one batch per flush; call events only to browsers watching that call', () => {
    const { clock, feed } = feedWith();
    const all = new FakeSocket();
    const watching = new FakeSocket();
    feed.add(all, undefined);
    feed.add(watching, 'a');
    feed.publish(row('a'));
    feed.publish(event('a', 0));
    feed.publish(event('b', 0));
    expect(all.messages()).toHaveLength(1); // only the snapshot so far: publishing never writes
    clock.advance(100);
    expect(all.messages()[1]).toEqual({ type: 'batch', items: [row('a')] });
    expect(watching.messages()[0]).toMatchObject({ type: 'snapshot', watched: { callId: 'a' } });
    expect(watching.messages()[1]).toEqual({ type: 'batch', items: [row('a'), event('a', 0)] });
    feed.close();
  });

  it('disconnects a browser whose unsent bytes pass the limit; the others go on', () => {
    const { clock, feed, slow } = feedWith({ maxBufferedBytes: 2000 });
    const stuck = new FakeSocket();
    const fine = new FakeSocket();
    feed.add(stuck, undefined);
    feed.add(fine, undefined);
    stuck.stuck = true;
    for (let i = 0; i < 40; i++) {
      feed.publish(row(`call-${i}`));
      clock.advance(100);
    }
    expect(stuck.destroyed).toBe(true);
    expect(stuck.writableLength).toBeLessThanOrEqual(2000);
    expect(slow).toEqual(['buffer']);
    expect(feed.slowDisconnects).toBe(1);
    expect(fine.destroyed).toBe(false);
    expect(fine.messages()).toHaveLength(41);
    expect(feed.size).toBe(1);
    feed.close();
  });

  it('disconnects a browser that stays backlogged longer than stallMs, even when nothing new is sent', () => {
    const { clock, feed, slow } = feedWith({ stallMs: 5000, heartbeatMs: 1000 });
    const socket = new FakeSocket();
    feed.add(socket, undefined);
    socket.stuck = true;
    feed.publish(row('a'));
    clock.advance(100);
    clock.advance(4000);
    expect(socket.destroyed).toBe(false);
    clock.advance(2000);
    expect(socket.destroyed).toBe(true);
    expect(slow).toEqual(['stalled']);
    feed.close();
  });

  it('on a burst beyond the queue bound, drops the queue and resends a snapshot', () => {
    const { clock, feed } = feedWith({ maxQueuedItems: 10 });
    const socket = new FakeSocket();
    feed.add(socket, 'x');
    for (let i = 0; i < 25; i++) feed.publish(row(`c${i}`));
    expect(feed.queued).toBeLessThanOrEqual(10);
    clock.advance(100);
    expect(socket.messages().map((m) => m.type)).toEqual(['snapshot', 'snapshot']);
    feed.close();
  });

  it('refuses browsers beyond maxClients', () => {
    const { feed } = feedWith({ maxClients: 1 });
    expect(feed.add(new FakeSocket(), undefined)).toBeDefined();
    expect(feed.add(new FakeSocket(), undefined)).toBeUndefined();
    feed.close();
  });
});

describe('ConsoleAuth', () => {
  const req = (headers: Record<string, string> = {}, encrypted = false) => ({ headers, socket: { encrypted } }) as unknown as IncomingMessage;
  const token = 'a-console-token-of-enough-length';

  it('exchanges the right token for a session cookie (HttpOnly, SameSite=Strict); counts wrong ones', () => {
    const clock = new ManualClock();
    const auth = new ConsoleAuth({ token, clock, trustProxy: false, wallClock: () => clock.now() });
    expect(auth.login('wrong')).toBeUndefined();
    expect(auth.login(`${token}x`)).toBeUndefined();
    expect(auth.failedLogins).toBe(2);
    const id = auth.login(token)!;
    const cookie = auth.sessionCookie(id, req());
    expect(cookie).toMatch(new RegExp(`^${COOKIE_NAME}=${id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=\\d+$`));
    expect(auth.authorized(req({ cookie: `other=1; ${COOKIE_NAME}=${id}` }))).toBe(true);
    expect(auth.authorized(req({ cookie: `${COOKIE_NAME}=${'A'.repeat(43)}` }))).toBe(false);
    expect(id).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
    expect(auth.authorized(req())).toBe(false);
    clock.advance(12 * 3600_000);
    expect(auth.authorized(req({ cookie: `${COOKIE_NAME}=${id}` }))).toBe(false);
  });

  it('marks the cookie Secure over TLS, and behind a proxy saying https only with TRUST_PROXY', () => {
    const clock = new ManualClock();
    const trusting = new ConsoleAuth({ token, clock, trustProxy: true });
    const strict = new ConsoleAuth({ token, clock, trustProxy: false });
    expect(trusting.sessionCookie('x', req({ 'x-forwarded-proto': 'https' }))).toMatch(/; Secure$/);
    expect(strict.sessionCookie('x', req({ 'x-forwarded-proto': 'https' }))).not.toMatch(/Secure/);
    expect(strict.sessionCookie('x', req({}, true))).toMatch(/; Secure$/);
    expect(trusting.sessionCookie('x', req({ 'x-forwarded-proto': 'http' }))).not.toMatch(/Secure/);
  });

  it("accepts a session made by another process with the same token (cluster workers), refuses forged or other tokens' ones", () => {
    const clock = new ManualClock();
    const wallClock = () => clock.now();
    const [workerA, workerB] = [1, 2].map(() => new ConsoleAuth({ token, clock: new ManualClock(), trustProxy: false, wallClock }));
    const other = new ConsoleAuth({ token: `${token}-rotated`, clock: new ManualClock(), trustProxy: false, wallClock });
    const id = workerA!.login(token)!;
    const has = (auth: ConsoleAuth, value: string) => auth.authorized(req({ cookie: `${COOKIE_NAME}=${value}` }));
    expect(has(workerB!, id)).toBe(true);
    expect(has(other, id)).toBe(false);
    // A later expiry with the same signature is refused.
    const [, rest] = [id.slice(0, id.indexOf('.')), id.slice(id.indexOf('.'))];
    expect(has(workerB!, `${(clock.now() + 365 * 86400_000).toString(36)}${rest}`)).toBe(false);
  });

  it('signing out revokes the session on that process, bounded', () => {
    const clock = new ManualClock();
    const auth = new ConsoleAuth({ token, clock, trustProxy: false, maxSessions: 2, wallClock: () => clock.now() });
    const [a, b, c] = [auth.login(token)!, auth.login(token)!, auth.login(token)!];
    const has = (id: string) => auth.authorized(req({ cookie: `${COOKIE_NAME}=${id}` }));
    for (const id of [a, b, c]) auth.logout(req({ cookie: `${COOKIE_NAME}=${id}` }));
    // The revocation set holds two: the oldest revocation falls out of it first.
    expect([has(a), has(b), has(c)]).toEqual([true, false, false]);
  });
});

describe('console health', () => {
  it('reads the same figures /metrics serves, from the registry values', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const source = registryHealthSource(metrics.registry);
    for (const name of Object.values(HEALTH_SERIES)) expect(metrics.registry.getSingleMetric(name), name).toBeDefined();
    metrics.activeSessions.inc();
    metrics.activeSessions.inc();
    metrics.sessions.inc('completed');
    metrics.sessions.inc('caller_hangup');
    metrics.sessions.inc('probe');
    metrics.firstBotAudioSeconds.observe(0.4);
    metrics.firstBotAudioSeconds.observe(0.8);
    metrics.bargeIns.inc();
    metrics.modelErrors.inc('rate_limit_exceeded');
    metrics.webhookDeliveries.inc('failed');
    metrics.webhookDeliveries.inc('dropped');
    metrics.webhookDeliveries.inc('delivered');
    expect(await source.read()).toEqual({
      liveCalls: 2,
      callsEnded: 2,
      firstBotAudioSecondsSum: expect.closeTo(1.2, 6),
      firstBotAudioCount: 2,
      bargeIns: 1,
      modelErrors: 1,
      webhookFailures: 2,
    });
  });

  it('turns consecutive readings into per-minute points, an hour of them at most', async () => {
    const zero: HealthReading = { liveCalls: 0, callsEnded: 0, firstBotAudioSecondsSum: 0, firstBotAudioCount: 0, bargeIns: 0, modelErrors: 0, webhookFailures: 0 };
    expect(healthPoint(zero, { ...zero, liveCalls: 3, callsEnded: 4, firstBotAudioSecondsSum: 1.5, firstBotAudioCount: 2, bargeIns: 1 }, 30_000, 99)).toEqual({
      t: 99,
      liveCalls: 3,
      callsPerMinute: 8,
      firstBotAudioMs: 750,
      bargeIns: 2,
      modelErrors: 0,
      webhookFailures: 0,
    });
    const clock = new ManualClock();
    let n = 0;
    const views: number[] = [];
    const recorder = new HealthRecorder({
      source: { read: async () => ({ ...zero, callsEnded: n++ }) },
      clock,
      wallClockMs: () => clock.now(),
      points: 3,
      onPoint: (v) => views.push(v.points.length),
    });
    await recorder.start();
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      await new Promise((r) => setImmediate(r));
    }
    recorder.stop();
    expect(views).toEqual([1, 2, 3, 3, 3]);
    expect(recorder.view().points.map((p) => p.callsPerMinute)).toEqual([1, 1, 1]);
    expect(recorder.view().points.map((p) => p.firstBotAudioMs)).toEqual([null, null, null]);
  });
});
