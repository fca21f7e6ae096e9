/**
 * Two real bridge processes (the CLI `serve`, Node + tsx, against the offline Realtime emulator) sharing one
 * real redis-server (appendonly, so a restart keeps the outbox):
 * - a signed upgrade accepted by A and replayed to B inside its lifetime is refused by B;
 * - MAX_FLEET_SESSIONS counts calls on both instances (503 above it), and /metrics shows the fleet gauge;
 * - Redis restarted mid-run: a live call is unaffected, a new call is accepted meanwhile, deliveries resume;
 * - webhook down, calls end on A, A is killed with SIGKILL, the webhook comes back: B delivers every record
 *   of A (0 lost; a duplicate only ever carries the same idempotency key).
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { spawnServe } from '../support/serve-process.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signRequest } from '../../src/audiohook/signature.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { ConnectError, createSimulatedCall, GenesysClient, type SimulatedCallOptions } from '../../src/simulator/genesys-client.js';
import { REPO_ROOT, scratchDir } from '../support/cli.js';
import { startRedis, stopAllRedis, type RedisServer } from '../support/redis.js';
import { connectClient, destroyClients, startReceiver, waitFor, type Receiver } from './support.js';

// tsx as a loader in the bridge process itself: SIGKILL then kills the bridge, not a tsx wrapper.
const API_KEY = 'fleet-test-api-key-0123456789';
const CLIENT_SECRET = Buffer.from('a client secret for the fleet tests!!').toString('base64');
const PUBLIC_HOST = 'bridge.fleet.test';
const WAIT_MS = 30_000;

interface Bridge {
  name: string;
  proc: ChildProcess;
  port: number;
  out(): string;
  metrics(): Promise<string>;
}

let redis: RedisServer;
let emulator: Emulator;
let receiver: Receiver;
let a: Bridge;
let b: Bridge;
const procs: ChildProcess[] = [];

async function startBridge(name: string, model: Emulator = emulator): Promise<Bridge> {
  const proc = spawnServe({
    cwd: scratchDir(),
    apiKey: API_KEY,
    clientSecret: CLIENT_SECRET,
    model: model,
    env: {
      SUMMARY_TIMEOUT_MS: model === emulator ? '1000' : '15000',
      SUMMARY_WEBHOOK_URL: receiver.url,
      SUMMARY_WEBHOOK_RETRIES: '0',
      SUMMARY_WEBHOOK_TIMEOUT_MS: '2000',
      REDIS_URL: redis.url,
      INSTANCE_ID: `bridge-${name}`,
      MAX_FLEET_SESSIONS: '3',
      OUTBOX_CLAIM_IDLE_MS: '1000',
      // One process per instance: these tests are about instances sharing Redis (workers inside one instance
      // are test/cluster's), and a kill -9 of the instance must take its calls with it.
      WORKERS: '1',
    },
  });
  procs.push(proc);
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const deadline = Date.now() + WAIT_MS;
  let port: number | undefined;
  while (port === undefined) {
    const line = out.split('\n').find((l) => l.includes('listening on'));
    if (line) port = (JSON.parse(line) as { port: number }).port;
    else if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`bridge ${name} did not start: ${out.slice(-3000)}`);
    else await new Promise((r) => setTimeout(r, 50));
  }
  const listening = port;
  return {
    name,
    proc,
    port: listening,
    out: () => out,
    metrics: async () => (await fetch(`http://127.0.0.1:${listening}/metrics`)).text(),
  };
}

function callOptions(bridge: Bridge, sessionId = randomUUID()): SimulatedCallOptions {
  return {
    url: `ws://127.0.0.1:${bridge.port}/audiohook/fleet`,
    apiKey: API_KEY,
    clientSecret: CLIENT_SECRET,
    sessionId,
    conversationId: randomUUID(),
    language: 'en-us',
  };
}

/** A call's records are found by session id (the idempotency key's exact format belongs to the bridge). */
const sessionOf = (o: SimulatedCallOptions) => o.sessionId!;
const deliveredFor = (session: string) => receiver.accepted.filter((x) => x.record.session_id === session);

/** One upgrade with exactly these headers; resolves with 101 or the refusal status and body. */
function rawUpgrade(port: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/audiohook/fleet`, { headers, handshakeTimeout: WAIT_MS });
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

function signedUpgradeHeaders(nonce: string): Record<string, string> {
  const ids = { organizationId: randomUUID(), sessionId: randomUUID(), correlationId: randomUUID() };
  // Behind a load balancer both instances see the public host the client signed, as X-Forwarded-Host.
  const signed = signRequest({ path: '/audiohook/fleet', authority: PUBLIC_HOST, ...ids, apiKey: API_KEY, clientSecretBase64: CLIENT_SECRET, nonce });
  return {
    'Audiohook-Organization-Id': ids.organizationId,
    'Audiohook-Session-Id': ids.sessionId,
    'Audiohook-Correlation-Id': ids.correlationId,
    'X-API-KEY': API_KEY,
    'X-Forwarded-Host': PUBLIC_HOST,
    Signature: signed.signature,
    'Signature-Input': signed.signatureInput,
  };
}

const gauge = (text: string, name: string) => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

beforeAll(async () => {
  redis = await startRedis({ appendonly: true });
  emulator = await startEmulator({
    script: join(REPO_ROOT, 'fixtures/scripts/order-status.json'),
    scriptBaseDir: REPO_ROOT,
    speed: 'realtime',
    logger: createLogger('silent'),
  });
  receiver = await startReceiver('up');
  [a, b] = await Promise.all([startBridge('a'), startBridge('b')]);
}, WAIT_MS * 2);

afterAll(async () => {
  destroyClients();
  for (const proc of procs) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  await receiver?.close();
  await emulator?.close();
  await redis?.stop();
  stopAllRedis();
});

describe('fleet: two bridge processes sharing one redis-server', () => {
  it('a signed upgrade accepted by A and replayed to B inside its lifetime is refused by B', async () => {
    const nonce = `fleet-replay-${randomUUID()}`;
    const headers = signedUpgradeHeaders(nonce);
    expect(await rawUpgrade(a.port, headers)).toEqual({ status: 101, body: '' });
    const replay = await rawUpgrade(b.port, headers);
    expect(replay.status).toBe(401);
    expect(replay.body).toContain('signature nonce already used');
    // Control: a fresh signature is accepted by B.
    expect((await rawUpgrade(b.port, signedUpgradeHeaders(`fleet-fresh-${randomUUID()}`))).status).toBe(101);
    expect(b.out()).toContain('replayed nonce');
  }, WAIT_MS);

  it('MAX_FLEET_SESSIONS counts calls on every instance; /metrics shows fleet-wide live calls', async () => {
    const calls = [await createSimulatedCall(callOptions(a)), await createSimulatedCall(callOptions(a)), await createSimulatedCall(callOptions(b))];
    try {
      await expect.poll(async () => gauge(await b.metrics(), 'audiohook_fleet_live_calls'), { timeout: 15_000, interval: 250 }).toBe(3);
      expect(gauge(await b.metrics(), 'audiohook_active_sessions')).toBe(1); // per-instance figure unchanged
      const refused = await GenesysClient.connect(callOptions(b)).then(
        (client) => (client.terminate(), null),
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(ConnectError);
      expect((refused as ConnectError).status).toBe(503);
      expect(await b.metrics()).toMatch(/audiohook_upgrades_refused_total\{reason="fleet_capacity"\} 1/);
    } finally {
      await Promise.all(calls.map((c) => c.close('end').catch(() => c.terminate())));
    }
    await expect.poll(async () => gauge(await a.metrics(), 'audiohook_fleet_live_calls'), { timeout: 15_000, interval: 250 }).toBe(0);
    expect(gauge(await a.metrics(), 'audiohook_fleet_instances')).toBe(2);
  }, WAIT_MS * 2);

  it('Redis restarted mid-run: a live call is unaffected, new calls are accepted meanwhile, deliveries resume', async () => {
    receiver.mode = 'down';
    const first = callOptions(a);
    await (await createSimulatedCall(first)).close('end');
    await waitFor(() => receiver.seenSessions.includes(sessionOf(first)), 'a failed first attempt', WAIT_MS);

    const liveOptions = callOptions(b);
    const live = await createSimulatedCall(liveOptions);
    await redis.kill('SIGKILL');
    // A new signed call during the outage: accepted (local replay check, counted as a fallback).
    const duringOptions = callOptions(a);
    const during = await createSimulatedCall(duringOptions);
    await new Promise((r) => setTimeout(r, 1500));
    expect(live.report().disconnect).toBeNull();
    expect(live.report().violations).toEqual([]);
    const liveReport = await live.close('end');
    expect(liveReport.violations).toEqual([]);
    expect((await during.close('end')).violations).toEqual([]);
    await expect.poll(async () => await a.metrics(), { timeout: 10_000 }).toMatch(/audiohook_nonce_shared_fallbacks_total\{cause="unreachable"\} [1-9]/);

    await redis.restart();
    receiver.mode = 'up';
    const sessions = [first, liveOptions, duringOptions].map(sessionOf);
    await waitFor(() => sessions.every((id) => deliveredFor(id).length > 0), 'all three records delivered after the restart', WAIT_MS);
    await expect.poll(async () => gauge(await a.metrics(), 'audiohook_redis_up'), { timeout: 15_000 }).toBe(1);
  }, WAIT_MS * 3);

  it('webhook down, calls end on A, A is SIGKILLed, webhook back: B delivers every record of A (0 lost)', async () => {
    receiver.mode = 'down';
    const count = 5;
    const options = Array.from({ length: count }, () => callOptions(a));
    for (const o of options) await (await createSimulatedCall(o)).close('end');
    const sessions = options.map(sessionOf);
    await waitFor(() => sessions.every((id) => receiver.seenSessions.includes(id)), 'every record attempted (and failed)', WAIT_MS);

    a.proc.kill('SIGKILL');
    await new Promise<void>((r) => (a.proc.exitCode !== null || a.proc.signalCode !== null ? r() : a.proc.once('exit', () => r())));
    expect(a.proc.signalCode).toBe('SIGKILL');
    const acceptedBefore = receiver.accepted.length;
    receiver.mode = 'up';
    await waitFor(() => sessions.every((id) => deliveredFor(id).length > 0), 'B delivering every record of A', WAIT_MS);
    const delivered = receiver.accepted.slice(acceptedBefore);
    expect(sessions.filter((id) => !delivered.some((x) => x.record.session_id === id))).toEqual([]); // 0 lost
    expect(delivered.every((x) => x.header === x.body)).toBe(true); // the key is in the payload too
    expect(delivered.every((x) => sessions.includes(String(x.record.session_id)))).toBe(true); // nothing else
    for (const id of sessions) {
      // One record per call: a duplicate (at-least-once) only ever repeats the same idempotency key.
      expect(new Set(delivered.filter((x) => x.record.session_id === id).map((x) => x.header)).size).toBe(1);
    }
    expect(b.out()).toContain('outbox call record delivered');
  }, WAIT_MS * 3);

  it('an instance killed while writing its summaries: another delivers each call\'s provisional record, once', async () => {
    // C's model takes 10 s per summary, so C dies after the provisional records and before the final ones.
    const slow = await startEmulator({
      script: join(REPO_ROOT, 'fixtures/scripts/order-status.json'),
      scriptBaseDir: REPO_ROOT,
      speed: 'realtime',
      summaryDelayMs: 10_000,
      logger: createLogger('silent'),
    });
    try {
      const c = await startBridge('c', slow);
      receiver.mode = 'up';
      const options = Array.from({ length: 3 }, () => callOptions(c));
      for (const o of options) {
        const call = await createSimulatedCall(o);
        await call.waitForServerAudio(800, WAIT_MS); // the model session is up: the summary goes to the slow model
        await call.close('end');
      }
      const sessions = options.map(sessionOf);
      const raw = await connectClient(redis.url);
      const provisionalSessions = async () =>
        ((await raw.xRange('audiohook:outbox', '-', '+')) ?? [])
          .filter((e) => e.message.kind === 'provisional')
          .map((e) => String((JSON.parse(e.message.record!) as { session_id: string }).session_id));
      await waitFor(
        async () => {
          const list = await provisionalSessions();
          return sessions.every((id) => list.includes(id));
        },
        'provisional records written',
        WAIT_MS,
      );
      expect(sessions.every((id) => deliveredFor(id).length === 0)).toBe(true); // held, not delivered while C lives
      c.proc.kill('SIGKILL');
      // C's heartbeat expires (20 s), then B delivers each held record.
      await waitFor(() => sessions.every((id) => deliveredFor(id).length > 0), 'provisional records delivered by B', 45_000);
      for (const id of sessions) {
        const records = deliveredFor(id);
        expect(new Set(records.map((x) => x.header)).size).toBe(1);
        expect(records.every((x) => x.record.provisional === true)).toBe(true);
      }
    } finally {
      await slow.close();
    }
  }, WAIT_MS * 4);

  it('SIGTERM: B drains, finishes its deliveries, releases its consumer, deregisters and exits 0', async () => {
    const raw = await connectClient(redis.url);
    const exited = new Promise<number | null>((r) => b.proc.once('exit', (code) => r(code)));
    b.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(b.out()).toContain('fleet mode closed');
    const consumers = await raw.xInfoConsumers('audiohook:outbox', 'delivery');
    expect(consumers.map((c) => c.name)).not.toContain('bridge-b');
    expect(await raw.zScore('audiohook:instances', 'bridge-b')).toBeNull();
    expect(await raw.xLen('audiohook:outbox')).toBe(0);
  }, WAIT_MS * 3);
});
