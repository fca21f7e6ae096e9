/**
 * WORKERS=2 for real: the CLI `serve` as a child process (Node 22 + tsx loader, so the primary is our direct
 * child and its workers are forked by node:cluster), against the offline Realtime emulator and a webhook
 * receiver in this process. Calls are opened until both workers carry some (which worker took a call is read
 * from the `worker` field of its "connection accepted" log line). Then:
 * - a signed upgrade replayed is refused whichever worker it reaches (the nonce cache is the primary's);
 * - /metrics answers for the instance (active sessions summed over the workers, one loop-delay series each);
 * - one worker is killed with SIGKILL while calls run on both: its live call is lost, the other worker's call
 *   carries on untouched, the slot is refilled, and a record that worker had spooled (its call ended while the
 *   webhook was down) is delivered by the replacement, exactly once;
 * - SIGTERM drains every worker (the remaining call ends with `disconnect completed` at DRAIN_TIMEOUT) and
 *   the primary exits 0.
 * Also: a worker that cannot start stops the instance (exit 1); MAX_SESSIONS holds for the instance (each
 * worker admits its share); WORKERS=1 is the single process.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServe } from '../support/serve-process.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { ConnectError, createSimulatedCall, GenesysClient, type SimulatedCallOptions } from '../../src/simulator/genesys-client.js';
import { REPO_ROOT, scratchDir } from '../support/cli.js';
import { startRedis } from '../support/redis.js';

const API_KEY = 'cluster-test-api-key-0123456789';
const CLIENT_SECRET = Buffer.from('a client secret for the cluster test').toString('base64');
const DRAIN_TIMEOUT_S = 2;
const WAIT_MS = 60_000;

interface LogLine {
  msg: string;
  worker?: number;
  role?: string;
  pid?: number;
  port?: number;
  sessionId?: string;
  reason?: string;
  replayed?: number;
  [key: string]: unknown;
}

let emulator: Emulator;
let webhook: { server: Server; url: string; up: boolean; accepted: string[]; refused: string[] };
let spoolDir: string;
const processes: ChildProcess[] = [];
const workerPids = new Set<number>();

beforeAll(async () => {
  emulator = await startEmulator({
    script: join(REPO_ROOT, 'fixtures/scripts/order-status.json'),
    scriptBaseDir: REPO_ROOT,
    speed: 'realtime',
    logger: createLogger('silent'),
  });
  spoolDir = await mkdtemp(join(tmpdir(), 'cluster-spool-'));
  const state = { up: false, accepted: [] as string[], refused: [] as string[] };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      if (state.up) {
        state.accepted.push(key);
        res.writeHead(200).end();
      } else {
        state.refused.push(key);
        res.writeHead(503).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  webhook = Object.assign(state, { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/summary` });
});

afterAll(async () => {
  for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of workerPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  webhook?.server.closeAllConnections();
  await new Promise<void>((r) => (webhook ? webhook.server.close(() => r()) : r()));
  await emulator?.close();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

function runServe(extraEnv: Record<string, string> = {}) {
  const child = spawnServe({
    cwd: scratchDir(),
    apiKey: API_KEY,
    clientSecret: CLIENT_SECRET,
    model: emulator,
    env: {
      DRAIN_TIMEOUT: String(DRAIN_TIMEOUT_S),
      WORKERS: '2',
      SUMMARY_WEBHOOK_URL: webhook.url,
      SUMMARY_WEBHOOK_RETRIES: '0',
      SUMMARY_SPOOL_DIR: spoolDir,
      ...extraEnv,
    },
  });
  processes.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = (): LogLine[] =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  return { child, exited, lines, err: () => stderr };
}

type Run = ReturnType<typeof runServe>;

async function waitForLines(run: Run, what: string, predicate: (lines: LogLine[]) => boolean): Promise<LogLine[]> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const lines = run.lines();
    if (predicate(lines)) return lines;
    if (Date.now() > deadline || run.child.exitCode !== null) {
      throw new Error(`timed out waiting for ${what}; stderr: ${run.err()}\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Worker slot → pid, from the primary's latest "worker started" line per slot. */
function workerPidsBySlot(lines: LogLine[]): Map<number, number> {
  const pids = new Map<number, number>();
  for (const l of lines) if (l.role === 'primary' && l.msg === 'worker started') pids.set(l.worker!, l.pid!);
  for (const pid of pids.values()) workerPids.add(pid);
  return pids;
}

const workerOf = (lines: LogLine[], sessionId: string) =>
  lines.find((l) => l.msg === 'audiohook connection accepted' && l.sessionId === sessionId)?.worker;

describe('WORKERS=2: one instance on two worker processes', () => {
  it('refuses a replay on either worker, aggregates /metrics, survives kill -9 of a worker (spooled record delivered once), drains both on SIGTERM', async () => {
    const run = runServe();
    const lines0 = await waitForLines(run, 'both workers listening', (ls) => ls.filter((l) => l.msg.startsWith('listening on') && l.worker).length === 2);
    const port = lines0.find((l) => l.msg.startsWith('listening on'))!.port!;
    const pids = workerPidsBySlot(lines0);
    expect([...pids.keys()].sort()).toEqual([1, 2]);
    expect(lines0.every((l) => l.role === 'primary' || l.worker === 1 || l.worker === 2)).toBe(true);
    const base: SimulatedCallOptions = {
      url: `ws://127.0.0.1:${port}/audiohook/cluster-test`,
      apiKey: API_KEY,
      clientSecret: CLIENT_SECRET,
      language: 'en-us',
    };

    // Open calls until both workers carry at least two (round-robin makes this quick; bounded anyway).
    const calls: Array<{ client: GenesysClient; sessionId: string; worker: number }> = [];
    for (let i = 0; i < 12; i++) {
      const sessionId = randomUUID();
      const client = await createSimulatedCall({ ...base, sessionId });
      const lines = await waitForLines(run, `the accept line of ${sessionId}`, (ls) => workerOf(ls, sessionId) !== undefined);
      calls.push({ client, sessionId, worker: workerOf(lines, sessionId)! });
      if ([1, 2].every((w) => calls.filter((c) => c.worker === w).length >= 2)) break;
    }
    const on = (w: number) => calls.filter((c) => c.worker === w);
    expect(on(1).length).toBeGreaterThanOrEqual(2);
    expect(on(2).length).toBeGreaterThanOrEqual(2);

    // A signed upgrade replayed: accepted once, refused (401) every other time, on both workers.
    const replay: SimulatedCallOptions = { ...base, sessionId: randomUUID(), organizationId: randomUUID(), correlationId: randomUUID(), signature: { nonce: `replay-${randomUUID()}` } };
    const first = await GenesysClient.connect(replay);
    const replays = await Promise.all(
      Array.from({ length: 4 }, () =>
        GenesysClient.connect(replay).then(
          (client) => {
            client.terminate();
            return 'accepted';
          },
          (err: unknown) => (err instanceof ConnectError ? err.status : String(err)),
        ),
      ),
    );
    first.terminate();
    expect(replays).toEqual([401, 401, 401, 401]);
    const rejectedOn = run
      .lines()
      .filter((l) => l.msg === 'audiohook upgrade rejected' && l.sessionId === replay.sessionId && l.reason === 'replayed nonce')
      .map((l) => l.worker);
    expect(new Set(rejectedOn)).toEqual(new Set([1, 2]));

    // One /metrics for the instance.
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^audiohook_active_sessions ${calls.length}$`, 'm'));
    expect(metrics).toMatch(/^audiohook_workers 2$/m);
    expect(metrics).toMatch(/^audiohook_worker_event_loop_delay_p99_seconds\{worker="1"\} /m);
    expect(metrics).toMatch(/^audiohook_worker_event_loop_delay_p99_seconds\{worker="2"\} /m);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    // The victim worker: one of its calls ends while the webhook is down (its record is spooled in its slot).
    const victim = calls[0]!.worker;
    const survivorSlot = victim === 1 ? 2 : 1;
    const [ended, lost] = on(victim);
    const survivor = on(survivorSlot)[0]!;
    await ended!.client.close();
    const victimSpool = join(spoolDir, `worker-${victim}`);
    const deadline = Date.now() + WAIT_MS;
    while (!(await readdir(victimSpool)).some((n) => n.startsWith(ended!.sessionId) && n.endsWith('.json'))) {
      if (Date.now() > deadline) throw new Error('the ended call was not spooled');
      await new Promise((r) => setTimeout(r, 100));
    }
    // The file is written before the first attempt; that attempt then fails (503): the record stays spooled.
    await expect.poll(() => webhook.refused.some((k) => k.startsWith(ended!.sessionId)), { timeout: WAIT_MS }).toBe(true);

    process.kill(pids.get(victim)!, 'SIGKILL');
    await lost!.client.waitForEnd(WAIT_MS);
    webhook.up = true;
    const restarted = await waitForLines(run, 'the replacement worker listening', (ls) => {
      const started = ls.filter((l) => l.role === 'primary' && l.msg === 'worker started' && l.worker === victim);
      return started.length === 2 && ls.filter((l) => l.msg.startsWith('listening on') && l.worker === victim).length === 2;
    });
    expect(restarted.some((l) => l.role === 'primary' && l.msg.startsWith('worker died') && l.worker === victim)).toBe(true);
    expect(workerPidsBySlot(restarted).get(victim)).not.toBe(pids.get(victim));
    // The replacement replays its slot's spool: the ended call's record is delivered, exactly once.
    await expect.poll(() => webhook.accepted.filter((k) => k.startsWith(ended!.sessionId)).length, { timeout: WAIT_MS }).toBe(1);

    // The other worker's call never noticed.
    expect(survivor.client.report().disconnect).toBeNull();
    expect(survivor.client.report().violations).toEqual([]);
    const after = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(after).toMatch(/^audiohook_worker_restarts_total 1$/m);
    // A new call is served after the restart (whichever worker it lands on).
    const late = await createSimulatedCall({ ...base, sessionId: randomUUID() });

    // SIGTERM: both workers drain; the survivor is ended politely at DRAIN_TIMEOUT; the primary exits 0.
    run.child.kill('SIGTERM');
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status, { timeout: WAIT_MS }).toBe(503);
    const report = await survivor.client.waitForEnd(WAIT_MS);
    expect(report.disconnect).toMatchObject({ reason: 'completed' });
    expect(report.violations).toEqual([]);
    expect((await late.waitForEnd(WAIT_MS)).disconnect).toMatchObject({ reason: 'completed' });
    expect(await run.exited).toBe(0);
    const final = run.lines();
    expect(final.filter((l) => l.msg === 'shutdown complete' && l.worker !== undefined).map((l) => l.worker).sort()).toEqual([1, 2]);
    expect(final.some((l) => l.role === 'primary' && l.msg === 'shutdown complete')).toBe(true);
    // Nothing delivered twice, nothing left behind for the calls that ended.
    const keys = webhook.accepted;
    expect(new Set(keys).size).toBe(keys.length);
  }, WAIT_MS * 4);
});

describe('WORKERS=2: a worker that cannot start', () => {
  it('stops the instance with exit 1 instead of replacing it in a loop (port already taken)', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const run = runServe({ PORT: String((taken.address() as AddressInfo).port) });
      expect(await run.exited).toBe(1);
      const lines = run.lines();
      expect(lines.some((l) => l.role === 'primary' && l.msg === 'worker failed during start-up; stopping')).toBe(true);
      expect(lines.filter((l) => l.role === 'primary' && l.msg === 'worker started')).toHaveLength(2);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  }, WAIT_MS);
});

describe('MAX_SESSIONS across workers', () => {
  it('is a limit for the instance: with MAX_SESSIONS=2 on two workers, two calls are carried and every further upgrade gets 503', async () => {
    const run = runServe({ MAX_SESSIONS: '2' });
    const lines = await waitForLines(run, 'both workers listening', (ls) => ls.filter((l) => l.msg.startsWith('listening on') && l.worker).length === 2);
    const port = lines.find((l) => l.msg.startsWith('listening on'))!.port!;
    workerPidsBySlot(lines);
    const base: SimulatedCallOptions = {
      url: `ws://127.0.0.1:${port}/audiohook/cluster-cap`,
      apiKey: API_KEY,
      clientSecret: CLIENT_SECRET,
      language: 'en-us',
    };
    const outcomes: Array<GenesysClient | number | null> = [];
    for (let i = 0; i < 6; i++) {
      outcomes.push(await createSimulatedCall({ ...base, sessionId: randomUUID() }).catch((err: unknown) => (err instanceof ConnectError ? err.status : null)));
    }
    const carried = outcomes.filter((o): o is GenesysClient => o instanceof GenesysClient);
    try {
      expect(carried).toHaveLength(2);
      expect(outcomes.filter((o) => o === 503)).toHaveLength(4);
      // One call per worker (each holds its share of 1).
      const accepted = run.lines().filter((l) => l.msg === 'audiohook connection accepted').map((l) => l.worker);
      expect(accepted.sort()).toEqual([1, 2]);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^audiohook_active_sessions 2$/m);
      expect(metrics).toMatch(/^audiohook_upgrades_refused_total\{reason="at_capacity"\} 4$/m);
    } finally {
      for (const call of carried) call.terminate();
      run.child.kill('SIGTERM');
      await run.exited;
    }
  }, WAIT_MS * 2);
});

describe('WORKERS=2: a live Audiohook-Session-Id (issue 13)', () => {
  it('a duplicate upgrade is refused 400 on either worker while the call is live; once it ends the id is accepted again', async () => {
    const run = runServe();
    try {
      const lines = await waitForLines(run, 'both workers listening', (ls) => ls.filter((l) => l.msg.startsWith('listening on') && l.worker).length === 2);
      const port = lines.find((l) => l.msg.startsWith('listening on'))!.port!;
      workerPidsBySlot(lines);
      const sessionId = randomUUID();
      // Every attempt is freshly signed (a new nonce each time), so only the session id is repeated.
      const call: SimulatedCallOptions = {
        url: `ws://127.0.0.1:${port}/audiohook/cluster-duplicate`,
        apiKey: API_KEY,
        clientSecret: CLIENT_SECRET,
        language: 'en-us',
        sessionId,
      };
      const attempt = () =>
        GenesysClient.connect({ ...call, correlationId: randomUUID() }).then(
          (client) => (client.terminate(), 'accepted' as const),
          (err: unknown) => (err instanceof ConnectError ? err.status : String(err)),
        );
      const first = await createSimulatedCall(call);
      const firstWorker = workerOf(await waitForLines(run, 'the first accept line', (ls) => workerOf(ls, sessionId) !== undefined), sessionId);
      // Sequential, so the round-robin spreads them over both workers.
      const duplicates: Array<number | string | null> = [];
      for (let i = 0; i < 6; i++) duplicates.push(await attempt());
      expect(duplicates).toEqual(Array(6).fill(400));
      // The workers' log lines reach us over a pipe, possibly after the client has seen its 400.
      const refusals = (ls: LogLine[]) =>
        ls.filter((l) => l.msg === 'audiohook upgrade refused: session id already live' && l.sessionId === sessionId);
      const refusedOn = refusals(await waitForLines(run, 'six refusal lines', (ls) => refusals(ls).length >= 6)).map((l) => l.worker);
      expect(refusedOn).toHaveLength(6);
      expect(new Set(refusedOn)).toEqual(new Set([1, 2]));
      expect(run.lines().filter((l) => l.msg === 'audiohook connection accepted' && l.sessionId === sessionId).map((l) => l.worker)).toEqual([firstWorker]);
      expect(first.report().disconnect).toBeNull();

      // The call ends: its worker releases the id at the primary, and the id is accepted again (on either worker).
      await first.close();
      const deadline = Date.now() + WAIT_MS;
      let again = await attempt();
      while (again !== 'accepted' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        again = await attempt();
      }
      expect(again).toBe('accepted');
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  }, WAIT_MS * 2);
});

describe('WORKERS=1', () => {
  it('is the single process: no primary, no worker field, no per-worker spool directory', async () => {
    const ownSpool = await mkdtemp(join(tmpdir(), 'cluster-spool-single-'));
    const run = runServe({ WORKERS: '1', SUMMARY_SPOOL_DIR: ownSpool });
    const lines = await waitForLines(run, 'listening', (ls) => ls.some((l) => l.msg.startsWith('listening on')));
    expect(lines.some((l) => l.role === 'primary' || l.worker !== undefined)).toBe(false);
    expect(await readdir(ownSpool)).toEqual([]);
    await rm(ownSpool, { recursive: true, force: true });
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, WAIT_MS);
});

describe('WORKERS=2 in fleet mode (REDIS_URL, a real redis-server)', () => {
  it('a replay is refused on either worker through the shared store; each worker is its own fleet member', async () => {
    // Fails loudly when redis-server is missing (startRedis throws), never skipped.
    const redis = await startRedis();
    try {
      const run = runServe({ REDIS_URL: redis.url, INSTANCE_ID: 'cap-test' });
      try {
        const lines = await waitForLines(run, 'both workers listening', (ls) => ls.filter((l) => l.msg.startsWith('listening on') && l.worker).length === 2);
        const port = lines.find((l) => l.msg.startsWith('listening on'))!.port!;
        workerPidsBySlot(lines);
        const replay: SimulatedCallOptions = {
          url: `ws://127.0.0.1:${port}/audiohook/cluster-fleet`,
          apiKey: API_KEY,
          clientSecret: CLIENT_SECRET,
          language: 'en-us',
          sessionId: randomUUID(),
          signature: { nonce: `fleet-replay-${randomUUID()}` },
        };
        const first = await GenesysClient.connect(replay);
        const replays = await Promise.all(
          Array.from({ length: 4 }, () =>
            GenesysClient.connect(replay).then(
              (client) => (client.terminate(), 'accepted'),
              (err: unknown) => (err instanceof ConnectError ? err.status : String(err)),
            ),
          ),
        );
        first.terminate();
        expect(replays).toEqual([401, 401, 401, 401]);
        const rejectedOn = run
          .lines()
          .filter((l) => l.msg === 'audiohook upgrade rejected' && l.sessionId === replay.sessionId && l.reason === 'replayed nonce')
          .map((l) => l.worker);
        expect(new Set(rejectedOn)).toEqual(new Set([1, 2]));
        // Each worker registered under its own name.
        const names = JSON.stringify(run.lines().filter((l) => l.worker !== undefined && JSON.stringify(l).includes('cap-test-w')));
        expect(names).toContain('cap-test-w1');
        expect(names).toContain('cap-test-w2');
      } finally {
        run.child.kill('SIGTERM');
        await run.exited;
      }
    } finally {
      await redis.stop();
    }
  }, WAIT_MS * 2);
});
