/**
 * The console across workers, for real: the CLI `serve` as a child process with WORKERS=2 and CONSOLE_TOKEN,
 * against the offline Realtime emulator. Calls are opened until both workers carry one; then the console's
 * live data (the snapshot that opens /console/api/stream) is read several times, each time on a new
 * connection (so the primary hands it to either worker) after signing in on that same connection (a console
 * session lives in the worker that issued it). Every answer lists both calls; both workers answered.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { spawnServe } from '../support/serve-process.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { createSimulatedCall, type GenesysClient } from '../../src/simulator/genesys-client.js';
import { REPO_ROOT, scratchDir } from '../support/cli.js';

const API_KEY = 'console-relay-test-api-key-0123456789';
const CLIENT_SECRET = Buffer.from('a client secret for the console relay test').toString('base64');
const CONSOLE_TOKEN = 'console-relay-test-token-0123456789';
const WAIT_MS = 60_000;

interface LogLine {
  msg: string;
  worker?: number;
  role?: string;
  pid?: number;
  port?: number;
  sessionId?: string;
  [key: string]: unknown;
}

let emulator: Emulator;
let child: ChildProcess | undefined;
const workerPids = new Set<number>();
const clients: GenesysClient[] = [];

beforeAll(async () => {
  emulator = await startEmulator({
    script: join(REPO_ROOT, 'fixtures/scripts/order-status.json'),
    scriptBaseDir: REPO_ROOT,
    speed: 'realtime',
    logger: createLogger('silent'),
  });
});

afterAll(async () => {
  for (const client of clients) client.terminate();
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of workerPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await emulator?.close();
});

/** Signs in and reads the first stream message (the snapshot) on one connection, i.e. from one worker. */
async function liveSnapshot(port: number): Promise<{ live: Array<{ conversationId: string; instance: string }> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const body = `token=${encodeURIComponent(CONSOLE_TOKEN)}`;
    const cookie = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/console/login', method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const set = res.headers['set-cookie']?.[0];
          res.resume();
          res.on('end', () => (set ? resolve(set.split(';')[0]!) : reject(new Error(`sign-in failed: ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    return await new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/console/api/stream', agent, headers: { cookie, accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
          // The first frame carrying data (a `retry:` frame may come first) is the snapshot.
          for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
            const data = text.slice(0, end).split('\n').find((l) => l.startsWith('data: '));
            text = text.slice(end + 2);
            if (!data) continue;
            req.destroy();
            return resolve(JSON.parse(data.slice('data: '.length)));
          }
        });
      });
      req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
      req.end();
    });
  } finally {
    agent.destroy();
  }
}

describe('console relay: WORKERS=2 with CONSOLE_TOKEN', () => {
  it("every worker's console lists the live calls of both workers", async () => {
    child = spawnServe({
      cwd: scratchDir(),
      apiKey: API_KEY,
      clientSecret: CLIENT_SECRET,
      model: emulator,
      env: {
        DRAIN_TIMEOUT: '2',
        WORKERS: '2',
        CONSOLE_TOKEN,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const lines = (): LogLine[] =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as LogLine);
    const waitFor = async (what: string, predicate: (ls: LogLine[]) => boolean): Promise<LogLine[]> => {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const ls = lines();
        if (predicate(ls)) return ls;
        if (Date.now() > deadline || child!.exitCode !== null) throw new Error(`timed out waiting for ${what}; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const ready = await waitFor('both workers listening', (ls) => ls.filter((l) => l.msg.startsWith('listening on') && l.worker).length === 2);
    const port = ready.find((l) => l.msg.startsWith('listening on'))!.port!;
    for (const l of ready) if (l.role === 'primary' && l.msg === 'worker started') workerPids.add(l.pid!);
    const workerOf = (ls: LogLine[], sessionId: string) => ls.find((l) => l.msg === 'audiohook connection accepted' && l.sessionId === sessionId)?.worker;

    // Open calls until both workers carry one (round-robin: quick; bounded anyway).
    const calls: Array<{ conversationId: string; worker: number }> = [];
    for (let i = 0; i < 10 && !([1, 2].every((w) => calls.some((c) => c.worker === w))); i++) {
      const sessionId = randomUUID();
      const conversationId = randomUUID();
      clients.push(
        await createSimulatedCall({
          url: `ws://127.0.0.1:${port}/audiohook/console-relay-test`,
          apiKey: API_KEY,
          clientSecret: CLIENT_SECRET,
          language: 'en-us',
          sessionId,
          conversationId,
        }),
      );
      const ls = await waitFor(`the accept line of ${sessionId}`, (all) => workerOf(all, sessionId) !== undefined);
      calls.push({ conversationId, worker: workerOf(ls, sessionId)! });
    }
    expect(new Set(calls.map((c) => c.worker))).toEqual(new Set([1, 2]));
    const expected = calls.map((c) => c.conversationId).sort();

    // Each read on a new connection (the primary deals connections to the workers in turn).
    const signInsBefore = lines().filter((l) => l.msg === 'console sign-in').length;
    // The relayed call.started may trail the accept line by an IPC round trip: wait until one answer is whole.
    await expect.poll(async () => (await liveSnapshot(port)).live.map((r) => r.conversationId).sort(), { timeout: 10_000, interval: 100 }).toEqual(expected);
    // Then every answer, whichever worker gives it, lists both calls.
    for (let i = 0; i < 6; i++) {
      expect((await liveSnapshot(port)).live.map((r) => r.conversationId).sort()).toEqual(expected);
    }
    const snapshot = await liveSnapshot(port);
    // The row says which process carries the call: two distinct instances.
    expect(new Set(snapshot.live.map((r) => r.instance)).size).toBe(2);
    const signIns = lines()
      .filter((l) => l.msg === 'console sign-in')
      .slice(signInsBefore);
    expect(new Set(signIns.map((l) => l.worker))).toEqual(new Set([1, 2]));

    child.kill('SIGTERM');
    for (const client of clients) client.terminate();
    await new Promise<void>((resolve) => (child!.exitCode !== null ? resolve() : child!.once('exit', () => resolve())));
  }, WAIT_MS * 2);
});
