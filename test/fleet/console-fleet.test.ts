/**
 * The console across the fleet, for real: two bridge processes (the CLI `serve`, Node + tsx, against the
 * offline Realtime emulator) sharing one real redis-server, CONSOLE_TOKEN and REDIS_URL, transcripts off.
 * Instance B's console is read as a browser reads it: sign in, then the Server-Sent Events stream.
 * - B starts after a call on A began and still gets its row, with A's instance id; the call moves to ended
 *   there; no transcript text reaches B's feed or even Redis (while A's own webhook record has it);
 *   A's own console records each of its events once (its messages come back to it from Redis);
 * - A killed with SIGKILL: its live call leaves B's live list (marked "instance lost").
 * - One instance with WORKERS=2: each worker's console shows both workers' calls (each worker is a fleet
 *   member of its own, `<INSTANCE_ID>-w<n>`), each event once (the IPC relay is off in fleet mode).
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRow, EndedCall, StreamMessage, TimelineEvent } from '../../src/console/wire.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { createSimulatedCall, type GenesysClient, type SimulatedCallOptions } from '../../src/simulator/genesys-client.js';
import { REPO_ROOT, scratchDir } from '../support/cli.js';
import { startRedis, stopAllRedis, type RedisServer } from '../support/redis.js';
import { spawnServe } from '../support/serve-process.js';
import { connectClient, destroyClients, startReceiver, waitFor, type Receiver } from './support.js';

const API_KEY = 'console-fleet-test-api-key-0123456789';
const CLIENT_SECRET = Buffer.from('a client secret for the console fleet test').toString('base64');
const CONSOLE_TOKEN = 'console-fleet-test-token-0123456789';
const GREETING = 'thanks for calling Acme';
const TIMEOUT_MS = 3_000;
const WAIT_MS = 30_000;

interface Bridge {
  proc: ChildProcess;
  port: number;
  out(): string;
}

let redis: RedisServer;
let emulator: Emulator;
let receiver: Receiver;
const procs: ChildProcess[] = [];
const calls: GenesysClient[] = [];
const streams: Feed[] = [];
/** Cluster workers, killed too should a test fail before its primary stops them. */
const workerPids = new Set<number>();
/** Every message published on the console channel, as Redis carried it. */
const onTheWire: string[] = [];

async function startBridge(name: string, workers = 1): Promise<Bridge> {
  const proc = spawnServe({
    cwd: scratchDir(),
    apiKey: API_KEY,
    clientSecret: CLIENT_SECRET,
    model: emulator,
    env: {
      REDIS_URL: redis.url,
      INSTANCE_ID: `bridge-${name}`,
      CONSOLE_TOKEN,
      CONSOLE_INSTANCE_TIMEOUT_MS: String(TIMEOUT_MS),
      SUMMARY_WEBHOOK_URL: receiver.url,
      SUMMARY_TIMEOUT_MS: '1000',
      // One process per instance unless asked: a kill -9 of the instance takes its calls with it.
      WORKERS: String(workers),
    },
  });
  procs.push(proc);
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  let port: number | undefined;
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`bridge ${name} exited: ${out.slice(-3000)}`);
      const lines = out.split('\n').filter((l) => l.includes('listening on'));
      const line = lines.length >= workers ? lines[0] : undefined;
      if (line) port = (JSON.parse(line) as { port: number }).port;
      return port !== undefined;
    },
    `bridge ${name} listening`,
    WAIT_MS,
  );
  return { proc, port: port!, out: () => out };
}

async function signIn(port: number): Promise<string> {
  const body = `token=${encodeURIComponent(CONSOLE_TOKEN)}`;
  return new Promise<string>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/console/login', method: 'POST', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const set = res.headers['set-cookie']?.[0];
        res.resume();
        res.on('end', () => (set ? resolve(set.split(';')[0]!) : reject(new Error(`sign-in failed: ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One console stream as the browser applies it (src/console/wire.ts), with the raw text kept. */
interface Feed {
  raw: string;
  live: Map<string, CallRow>;
  ended: EndedCall[];
  watched: TimelineEvent[];
  close(): void;
}

async function openFeed(port: number, call?: string): Promise<Feed> {
  const cookie = await signIn(port);
  const feed: Feed = { raw: '', live: new Map(), ended: [], watched: [], close: () => undefined };
  let snapshots = 0;
  const apply = (message: StreamMessage) => {
    if (message.type === 'snapshot') {
      snapshots++;
      feed.live = new Map(message.live.map((r) => [r.callId, r]));
      feed.ended = message.ended;
      if (message.watched) feed.watched = message.watched.events;
      return;
    }
    for (const item of message.items) {
      if (item.kind === 'row') {
        feed.live.set(item.row.callId, item.row);
        feed.ended = feed.ended.filter((c) => c.callId !== item.row.callId);
      } else if (item.kind === 'ended') {
        feed.live.delete(item.call.callId);
        feed.ended = [item.call, ...feed.ended.filter((c) => c.callId !== item.call.callId)];
      } else if (item.kind === 'event' && item.callId === call) feed.watched.push(item.event);
    }
  };
  await new Promise<void>((resolve, reject) => {
    const path = call === undefined ? '/console/api/stream' : `/console/api/stream?call=${encodeURIComponent(call)}`;
    // A new connection each time: with WORKERS > 1 the primary deals connections to the workers in turn.
    const req: ClientRequest = request({ host: '127.0.0.1', port, path, agent: false, headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
      let pending = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        feed.raw += chunk;
        pending += chunk;
        for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
          const data = pending
            .slice(0, end)
            .split('\n')
            .find((l) => l.startsWith('data: '));
          pending = pending.slice(end + 2);
          if (data) apply(JSON.parse(data.slice('data: '.length)) as StreamMessage);
        }
      });
      resolve();
    });
    req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
    req.end();
    feed.close = () => req.destroy();
  });
  streams.push(feed);
  await waitFor(() => snapshots > 0, 'the stream\'s snapshot', WAIT_MS);
  return feed;
}

function callOptions(bridge: Bridge): SimulatedCallOptions & { conversationId: string } {
  return {
    url: `ws://127.0.0.1:${bridge.port}/audiohook/console-fleet`,
    apiKey: API_KEY,
    clientSecret: CLIENT_SECRET,
    sessionId: randomUUID(),
    conversationId: randomUUID(),
    language: 'en-us',
  };
}

const rowOf = (feed: Feed, conversationId: string) => [...feed.live.values()].find((r) => r.conversationId === conversationId);
const endedOf = (feed: Feed, conversationId: string) => feed.ended.find((c) => c.conversationId === conversationId);

let a: Bridge;
let b: Bridge;

beforeAll(async () => {
  redis = await startRedis();
  emulator = await startEmulator({
    script: join(REPO_ROOT, 'fixtures/scripts/order-status.json'),
    scriptBaseDir: REPO_ROOT,
    speed: 'realtime',
    logger: createLogger('silent'),
  });
  receiver = await startReceiver('up');
  const listener = await connectClient(redis.url, 'console-fleet-test');
  await listener.subscribe('audiohook:console', (message: string) => void onTheWire.push(message));
}, WAIT_MS);

afterAll(async () => {
  for (const feed of streams) feed.close();
  for (const call of calls) call.terminate();
  for (const proc of procs) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  for (const pid of workerPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  destroyClients();
  await receiver?.close();
  await emulator?.close();
  await redis?.stop();
  stopAllRedis();
});

describe('console across the fleet: two instances sharing REDIS_URL and CONSOLE_TOKEN', () => {
  it("B, started after A's call began, shows it with A's instance id and then as ended; no transcript text leaves A; A records its events once", async () => {
    a = await startBridge('a');
    const first = callOptions(a);
    const call = await createSimulatedCall(first);
    calls.push(call);
    await call.waitForServerAudio(8_000, WAIT_MS); // a second of the greeting: transcript events exist on A

    b = await startBridge('b');
    const onB = await openFeed(b.port);
    await waitFor(() => rowOf(onB, first.conversationId) !== undefined, "A's live call on B's console", WAIT_MS);
    const row = rowOf(onB, first.conversationId)!;
    expect(row.instance).toBe('bridge-a');
    const onA = await openFeed(a.port, row.callId);

    await call.close('end');
    await waitFor(() => endedOf(onB, first.conversationId) !== undefined, "the call's ending on B's console", WAIT_MS);
    const ended = endedOf(onB, first.conversationId)!;
    expect(ended).toMatchObject({ callId: row.callId, instance: 'bridge-a', endReason: 'caller_hangup' });
    expect(onB.live.has(row.callId)).toBe(false);

    // Privacy at the source: A's webhook record has the greeting's text; B's feed and Redis never saw it.
    await waitFor(() => receiver.accepted.some((x) => x.record.conversation_id === first.conversationId), "A's webhook record", WAIT_MS);
    const record = receiver.accepted.find((x) => x.record.conversation_id === first.conversationId)!.record;
    expect(JSON.stringify(record.transcript)).toContain(GREETING);
    const relayed = onTheWire.filter((m) => m.includes(row.callId));
    expect(relayed.some((m) => m.includes('"type":"call.ended"'))).toBe(true);
    expect(relayed.join('\n')).not.toContain(GREETING);
    expect(relayed.join('\n')).not.toContain('"type":"transcript"');
    expect(onB.raw).not.toContain(GREETING);
    expect(onB.raw).not.toContain('"kind":"transcript"');

    // A's console: its own messages came back from Redis and were ignored, so each event is on its timeline once.
    await waitFor(() => onA.watched.some((e) => e.kind === 'ended'), "the ending on A's own timeline", WAIT_MS);
    const keys = onA.watched.map((e) => JSON.stringify({ ...e, seq: undefined }));
    expect(keys.length).toBeGreaterThan(2);
    expect(new Set(keys).size).toBe(keys.length);
    expect(onA.watched.filter((e) => e.kind === 'ended')).toHaveLength(1);
    const endedOnA = await openFeed(a.port);
    expect(endedOnA.ended.filter((c) => c.callId === row.callId)).toHaveLength(1);
    // B announced itself on the channel too (both processes publish; each ignores its own).
    expect(onTheWire.some((m) => m.includes('"instance":"bridge-b"'))).toBe(true);
  }, WAIT_MS * 4);

  it("A killed with SIGKILL: its live call leaves B's live list (marked instance lost)", async () => {
    const second = callOptions(a);
    const call = await createSimulatedCall(second);
    calls.push(call);
    const onB = await openFeed(b.port);
    await waitFor(() => rowOf(onB, second.conversationId) !== undefined, "A's second call on B's console", WAIT_MS);
    const callId = rowOf(onB, second.conversationId)!.callId;

    a.proc.kill('SIGKILL');
    await new Promise<void>((r) => (a.proc.exitCode !== null || a.proc.signalCode !== null ? r() : a.proc.once('exit', () => r())));
    const killedAt = Date.now();
    await waitFor(() => !onB.live.has(callId), "the dead instance's call leaving B's live list", WAIT_MS);
    // Not at once (A could be only slow): after the timeout, within a presence round or two.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(TIMEOUT_MS - 1_500);
    expect(endedOf(onB, second.conversationId)).toMatchObject({ callId, instance: 'bridge-a', endReason: 'instance_lost' });
    // A console opened now agrees.
    const fresh = await openFeed(b.port);
    expect(fresh.live.has(callId)).toBe(false);
    expect(b.out()).toContain('an instance went silent');
  }, WAIT_MS * 2);

  it('WORKERS=2 in fleet mode: every worker shows both workers\' calls, each event once (Redis replaces the IPC relay)', async () => {
    const w = await startBridge('w', 2);
    const lines = () => w.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; worker?: number; sessionId?: string });
    for (const l of lines() as Array<{ msg: string; pid?: number }>) if (l.msg === 'worker started' && l.pid) workerPids.add(l.pid);
    const workerOf = (sessionId: string) => lines().find((l) => l.msg === 'audiohook connection accepted' && l.sessionId === sessionId)?.worker;
    const opened: Array<{ conversationId: string; worker: number }> = [];
    for (let i = 0; i < 10 && ![1, 2].every((n) => opened.some((c) => c.worker === n)); i++) {
      const options = callOptions(w);
      const call = await createSimulatedCall(options);
      calls.push(call);
      await waitFor(() => workerOf(options.sessionId!) !== undefined, 'the accept line', WAIT_MS);
      opened.push({ conversationId: options.conversationId, worker: workerOf(options.sessionId!)! });
      await call.waitForServerAudio(4_000, WAIT_MS);
    }
    expect(new Set(opened.map((c) => c.worker))).toEqual(new Set([1, 2]));
    const expected = opened.map((c) => c.conversationId).sort();
    const liveOn = (feed: Feed) => [...feed.live.values()].map((r) => r.conversationId).sort();
    await waitFor(async () => {
      const feed = await openFeed(w.port);
      feed.close();
      return JSON.stringify(liveOn(feed)) === JSON.stringify(expected);
    }, 'a console listing both calls', WAIT_MS);
    const instances = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const overview = await openFeed(w.port);
      overview.close();
      expect(liveOn(overview)).toEqual(expected);
      for (const row of overview.live.values()) {
        instances.add(row.instance);
        // Whichever worker answers, the call's timeline holds each event once.
        const detail = await openFeed(w.port, row.callId);
        detail.close();
        const keys = detail.watched.map((e) => JSON.stringify({ ...e, seq: undefined }));
        expect(keys.length).toBeGreaterThan(0);
        expect(new Set(keys).size).toBe(keys.length);
      }
    }
    expect(instances).toEqual(new Set(['bridge-w-w1', 'bridge-w-w2']));
    expect(w.out()).not.toContain('"level":50');

    for (const call of calls) call.terminate();
    w.proc.kill('SIGTERM');
    await new Promise<void>((r) => (w.proc.exitCode !== null || w.proc.signalCode !== null ? r() : w.proc.once('exit', () => r())));
  }, WAIT_MS * 4);

  it('Redis restarted mid-call: the calls come back on B once both reconnect, also one that started meanwhile', async () => {
    const c = await startBridge('c');
    const before = callOptions(c);
    calls.push(await createSimulatedCall(before));
    const onB = await openFeed(b.port);
    await waitFor(() => rowOf(onB, before.conversationId) !== undefined, "C's call on B's console", WAIT_MS);

    await redis.kill('SIGKILL');
    const during = callOptions(c);
    calls.push(await createSimulatedCall(during)); // accepted meanwhile (replay check local, counted)
    // B hears nothing: after the timeout C's call is no longer shown live (B cannot vouch for it).
    await waitFor(() => rowOf(onB, before.conversationId) === undefined, "C's call leaving B's live list during the outage", WAIT_MS);
    expect(endedOf(onB, before.conversationId)).toMatchObject({ endReason: 'instance_lost' });
    expect(endedOf(onB, before.conversationId)!.endDetail).toContain('cannot reach Redis');

    await redis.restart();
    await waitFor(
      () => rowOf(onB, before.conversationId) !== undefined && rowOf(onB, during.conversationId) !== undefined,
      "both of C's calls live on B's console after the restart",
      WAIT_MS,
    );
    expect(rowOf(onB, before.conversationId)!.instance).toBe('bridge-c');
    expect(rowOf(onB, during.conversationId)!.instance).toBe('bridge-c');
    expect(endedOf(onB, before.conversationId)).toBeUndefined();
  }, WAIT_MS * 3);
});
