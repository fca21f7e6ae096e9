/**
 * Resilience faults 8 and 9: the summary webhook is slow or down while records are pending, and the
 * process is killed with SIGKILL; a restarted process delivers every record (0 lost).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CHILD = join(REPO, 'test/resilience/spool-kill.child.ts');
// tsx as a loader in this very process: the tsx CLI would run the script in a grandchild, which a SIGKILL
// of the CLI leaves running (it then delivers behind the test's back).
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const COUNT = 20;

type Mode = 'slow-or-down' | 'up';

interface Webhook {
  url: string;
  setMode(mode: Mode): void;
  /** Idempotency keys seen, per mode, in arrival order. */
  seen: Record<Mode, string[]>;
  /** Keys answered 2xx, with the key from the JSON body (must equal the header's). */
  accepted: Array<{ header: string; body: string; provisional: boolean; summary: string }>;
  waitFor(predicate: () => boolean, what: string, ms?: number): Promise<void>;
  close(): Promise<void>;
}

async function startWebhook(): Promise<Webhook> {
  let mode: Mode = 'slow-or-down';
  const seen: Record<Mode, string[]> = { 'slow-or-down': [], up: [] };
  const accepted: Webhook['accepted'] = [];
  const held: ServerResponse[] = [];
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      const current = mode;
      seen[current].push(key);
      if (current === 'up') {
        const record = JSON.parse(body) as { idempotency_key: string; provisional?: boolean; summary: { summary: string } };
        accepted.push({ header: key, body: record.idempotency_key, provisional: record.provisional === true, summary: record.summary.summary });
        res.writeHead(200).end();
      } else if (seen[current].length % 2 === 0) {
        res.writeHead(503).end(); // down
      } else {
        held.push(res); // slow: never answered until the sender dies
      }
      notify();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/summary`;
  return {
    url,
    setMode: (m) => (mode = m),
    seen,
    accepted,
    waitFor(predicate, what, ms = 12_000) {
      return new Promise<void>((resolve, reject) => {
        if (predicate()) return resolve();
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${what}`));
        }, ms);
        const check = () => {
          if (!predicate()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
      });
    },
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runChild(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', TSX_LOADER, CHILD], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'], // the child exits when its stdin closes (this process gone)
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('exit', (code, signal) => r({ code, signal })),
  );
  children.push(proc);
  return { proc, stdout: () => out, stderr: () => err, exited };
}

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('resilience: summary spool across kill -9', () => {
  it('webhook slow or down, process SIGKILLed with summaries pending: after restart all are delivered, 0 lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spool-kill-'));
    const webhook = await startWebhook();
    cleanups.push(() => webhook.close(), () => rm(dir, { recursive: true, force: true }));
    const expected = Array.from({ length: COUNT }, (_, i) => `kill-${i}:conv-kill-${i}`).sort();

    // Run 1: every record reaches its first attempt (so each was spooled first), half hang, half get 503.
    const first = runChild({ SPOOL_DIR: dir, WEBHOOK_URL: webhook.url, MODE: 'deliver', COUNT: String(COUNT) });
    await webhook
      .waitFor(() => new Set(webhook.seen['slow-or-down']).size === COUNT, `${COUNT} first attempts`, 15_000)
      .catch((err: Error) => {
        throw new Error(`${err.message}; child stderr: ${first.stderr()}`);
      });
    first.proc.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(webhook.accepted).toEqual([]);
    const left = (await readdir(dir)).filter((n) => n.endsWith('.json'));
    expect(left).toHaveLength(COUNT);

    // Run 2: the webhook is up; the new process replays the spool.
    webhook.setMode('up');
    const second = runChild({ SPOOL_DIR: dir, WEBHOOK_URL: webhook.url, MODE: 'replay' });
    const result = await second.exited;
    expect(result, `replay child stderr: ${second.stderr()}`).toEqual({ code: 0, signal: null });
    expect(second.stdout()).toContain(`replayed ${COUNT}`);
    expect(second.stdout()).toContain('empty');

    const delivered = new Set(webhook.accepted.map((a) => a.header));
    expect([...delivered].sort()).toEqual(expected);
    expect(expected.filter((key) => !delivered.has(key))).toEqual([]); // 0 lost
    expect(webhook.accepted.every((a) => a.header === a.body)).toBe(true); // key in the payload, too
    expect(await readdir(dir)).toEqual([]);
  });

  it('provisional records: SIGKILL while summaries are pending; each call delivered exactly once, 0 lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spool-prov-kill-'));
    const webhook = await startWebhook();
    webhook.setMode('up');
    cleanups.push(() => webhook.close(), () => rm(dir, { recursive: true, force: true }));
    const keys = Array.from({ length: COUNT }, (_, i) => `prov-${i}:conv-prov-${i}`);
    const finals = keys.filter((_, i) => i % 2 === 0);
    const pending = keys.filter((_, i) => i % 2 === 1);

    // Run 1: every call ended (provisional held); half got their final record, half are killed waiting.
    const first = runChild({ SPOOL_DIR: dir, WEBHOOK_URL: webhook.url, MODE: 'provisional', COUNT: String(COUNT) });
    const deadline = Date.now() + 15_000;
    while (!first.stdout().includes('held')) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for the held records; child stderr: ${first.stderr()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    first.proc.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // While it lived, the receiver saw only final records.
    expect(webhook.accepted.map((a) => a.header).sort()).toEqual([...finals].sort());
    expect(webhook.accepted.every((a) => !a.provisional && a.summary === 'ok')).toBe(true);
    expect((await readdir(dir)).filter((n) => n.endsWith('.json'))).toHaveLength(pending.length);

    // Run 2: the restarted process delivers the provisional records it finds, marked as such.
    const second = runChild({ SPOOL_DIR: dir, WEBHOOK_URL: webhook.url, MODE: 'replay' });
    const result = await second.exited;
    expect(result, `replay child stderr: ${second.stderr()}`).toEqual({ code: 0, signal: null });

    const perKey = new Map<string, number>();
    for (const a of webhook.accepted) perKey.set(a.header, (perKey.get(a.header) ?? 0) + 1);
    const lost = keys.filter((k) => !perKey.has(k));
    const duplicated = [...perKey].filter(([, n]) => n > 1);
    expect({ delivered: perKey.size, lost: lost.length, duplicated: duplicated.length }).toEqual({ delivered: COUNT, lost: 0, duplicated: 0 });
    const replayed = webhook.accepted.filter((a) => pending.includes(a.header));
    expect(replayed.every((a) => a.provisional && a.summary === 'fallback')).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });
});
