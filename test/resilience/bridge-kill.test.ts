/**
 * Issue 13, lost record 1: the window between hang-up and the spool. A caller hangs up, `closed` goes out
 * at once, and the model (here the emulator, made slow) takes its time over the summary. A `kill -9` of
 * the real server process in that window must lose no record: the provisional one written when the call
 * ended is delivered by the restarted process (marked `provisional: true`). While the process lives the
 * receiver sees exactly one record per call, the final one. Figures: delivered / lost / duplicated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { CallRecord } from '../../src/bridge/webhook.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { silenceSource } from '../../src/simulator/audio-source.js';
import { createSimulatedCall, type GenesysClient } from '../../src/simulator/genesys-client.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CHILD = join(REPO, 'test/resilience/bridge-kill.child.ts');
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const API_KEY = 'bridge-kill-test-key';
const CALLS = 6;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Receiver {
  url: string;
  records: CallRecord[];
}

async function receiver(): Promise<Receiver> {
  const records: CallRecord[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      records.push(JSON.parse(body) as CallRecord);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/summary`, records };
}

interface ServerProcess {
  proc: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ['--import', TSX_LOADER, CHILD], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  cleanups.push(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  await until(() => /listening (\d+)/.test(out) || proc.exitCode !== null, 20_000, () => `server start; stderr: ${err}`);
  if (proc.exitCode !== null) throw new Error(`server process exited: ${err}`);
  return { proc, port: Number(/listening (\d+)/.exec(out)![1]), stderr: () => err, exited };
}

async function until(condition: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function setUp(summaryDelayMs: number) {
  const emulator: Emulator = await startEmulator({ speed: 'instant', summaryDelayMs, logger: pino({ level: 'silent' }) });
  cleanups.push(() => emulator.close());
  const dir = await mkdtemp(join(tmpdir(), 'bridge-kill-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const hook = await receiver();
  const env = {
    GENESYS_API_KEY: API_KEY,
    OPENAI_API_KEY: 'sk-emulator',
    OPENAI_BASE_URL: emulator.baseURL,
    REALTIME_CA_FILE: emulator.caPath,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SUMMARY_TIMEOUT_MS: '30000',
    SUMMARY_WEBHOOK_URL: hook.url,
    SUMMARY_SPOOL_DIR: dir,
  };
  return { emulator, dir, hook, env };
}

/** CALLS calls that open, hear the greeting, and hang up; resolves once every one got `closed`. */
async function callsThatHangUp(port: number): Promise<string[]> {
  const clients: GenesysClient[] = [];
  for (let i = 0; i < CALLS; i++) {
    const client = await createSimulatedCall({ url: `ws://127.0.0.1:${port}/audiohook/bot`, apiKey: API_KEY });
    cleanups.push(() => client.terminate());
    client.streamAudio(silenceSource());
    clients.push(client);
  }
  await Promise.all(clients.map((c) => c.waitForServerAudio(800, 15_000)));
  const reports = await Promise.all(clients.map((c) => c.close('end', 10_000)));
  for (const r of reports) expect(r.timings.closeToClosedMs!).toBeLessThan(4_000);
  return clients.map((c) => c.sessionId);
}

function tally(records: CallRecord[], sessionIds: string[]) {
  const perSession = new Map<string, number>();
  for (const r of records) perSession.set(r.session_id, (perSession.get(r.session_id) ?? 0) + 1);
  return {
    delivered: sessionIds.filter((id) => perSession.has(id)).length,
    lost: sessionIds.filter((id) => !perSession.has(id)).length,
    duplicated: [...perSession.values()].filter((n) => n > 1).length,
  };
}

describe('resilience: kill -9 between hang-up and the summary', () => {
  // Before the provisional record (src/bridge/ending.ts holdProvisional) this lost all 6.
  it('the model is slow, the process is SIGKILLed: the restarted process delivers every call (provisional), 0 lost', async () => {
    const { hook, env, dir } = await setUp(60_000);
    const first = await startServerProcess(env);
    const sessionIds = await callsThatHangUp(first.port);
    // Every call has ended; the summaries are minutes away. Give the ending path a moment to reach the disk.
    await new Promise((r) => setTimeout(r, 1_000));
    first.proc.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(hook.records).toEqual([]);

    const second = await startServerProcess(env);
    await until(() => hook.records.length >= CALLS, 20_000, () => `${CALLS} records after restart (got ${hook.records.length}); stderr: ${second.stderr()}`).catch(
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive now
    const figures = tally(hook.records, sessionIds);
    process.stdout.write(`bridge kill -9: ${JSON.stringify(figures)}\n`);
    expect(figures).toEqual({ delivered: CALLS, lost: 0, duplicated: 0 });
    expect(hook.records.every((r) => r.provisional === true && r.summary.source === 'fallback' && r.end_reason === 'caller_hangup')).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // delivered records are removed from the spool
    expect((await readdir(dir)).filter((n) => n.endsWith('.json'))).toEqual([]);
  }, 90_000);

  it('the process lives: exactly one record per call, the final one (never the provisional)', async () => {
    const { hook, env } = await setUp(1_500);
    const server = await startServerProcess(env);
    const sessionIds = await callsThatHangUp(server.port);
    await until(() => hook.records.length >= CALLS, 20_000, () => `${CALLS} records (got ${hook.records.length}); stderr: ${server.stderr()}`);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(tally(hook.records, sessionIds)).toEqual({ delivered: CALLS, lost: 0, duplicated: 0 });
    expect(hook.records.every((r) => r.provisional === undefined && r.summary.source !== 'fallback')).toBe(true);
  }, 90_000);

  it('shutdown ending: SIGTERM, then SIGKILL while the shutdown summary is pending: every call delivered, 0 lost', async () => {
    const { hook, env, dir } = await setUp(60_000);
    const first = await startServerProcess({ ...env, HANDLE_SIGNALS: '1', DRAIN_TIMEOUT: '0' });
    const clients: GenesysClient[] = [];
    for (let i = 0; i < CALLS; i++) {
      const client = await createSimulatedCall({ url: `ws://127.0.0.1:${first.port}/audiohook/bot`, apiKey: API_KEY });
      cleanups.push(() => client.terminate());
      client.streamAudio(silenceSource());
      clients.push(client);
    }
    await Promise.all(clients.map((c) => c.waitForServerAudio(800, 15_000)));
    const sessionIds = clients.map((c) => c.sessionId);
    first.proc.kill('SIGTERM');
    // The shutdown ending keeps the provisional records, then waits up to 1.5 s for the (slow) model.
    const spooled = async () => (await readdir(dir)).filter((n) => n.endsWith('.json')).length;
    const deadline = Date.now() + 10_000;
    while ((await spooled()) < CALLS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.proc.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(hook.records).toEqual([]);

    await startServerProcess(env);
    await until(() => hook.records.length >= CALLS, 20_000, () => `${CALLS} records after restart (got ${hook.records.length})`).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    const figures = tally(hook.records, sessionIds);
    process.stdout.write(`bridge SIGTERM + kill -9: ${JSON.stringify(figures)}\n`);
    expect(figures).toEqual({ delivered: CALLS, lost: 0, duplicated: 0 });
    expect(hook.records.every((r) => r.end_reason === 'shutdown' && r.provisional === true)).toBe(true);
  }, 90_000);
});
