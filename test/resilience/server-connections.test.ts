/**
 * Issue 13: connections before the upgrade. With a 256-descriptor limit, 400 idle connections used to
 * exhaust the process's descriptors (/healthz failed); idle and slowloris sockets lived ~40 s because
 * Node checked the header timeout only every 30 s. Now the server caps connections below the descriptor
 * limit (evicting the oldest idle one when full) and idle sockets end within the 10 s header timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { HEADERS_TIMEOUT_MS } from '../../src/server/http.js';
import { startApp } from '../server/support.js';
import type { AppServer } from '../../src/server/http.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CHILD = join(REPO, 'test/resilience/server-fd-limit.child.ts');
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;

const children: ChildProcess[] = [];
const sockets: Socket[] = [];
let apps: AppServer[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});

function openIdle(port: number): Promise<Socket> {
  return new Promise((resolveSocket) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume(); // read (and discard): a socket nobody reads never sees the server's FIN
    socket.once('connect', () => resolveSocket(socket));
    socket.once('close', () => resolveSocket(socket));
    sockets.push(socket);
  });
}

async function healthz(port: number, timeoutMs: number): Promise<number | string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.status;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('resilience: connections before the upgrade', () => {
  it('with a 256-descriptor limit, 400 idle connections do not stop /healthz', async () => {
    const child = spawn('bash', ['-c', `ulimit -n 256 && exec "${process.execPath}" --import "${TSX_LOADER}" "${CHILD}"`], {
      cwd: REPO,
      env: { ...process.env, MAX_SESSIONS: '20' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const deadline = Date.now() + 20_000;
    while (!/listening (\d+) max (\S+)/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`child did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const [, portText, maxText] = /listening (\d+) max (\S+)/.exec(out)!;
    const port = Number(portText);

    for (let i = 0; i < 400; i++) await openIdle(port);
    const statuses: Array<number | string> = [];
    for (let i = 0; i < 5; i++) statuses.push(await healthz(port, 3_000));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(maxText).toBe(String(256 - 64 - 20)); // descriptor limit − reserve − one model socket per session
    expect(child.exitCode).toBeNull();
    expect(err).not.toMatch(/EMFILE/);
  }, 60_000);

  it('an idle socket and a slowloris socket are closed within the header timeout (checked every second)', async () => {
    const { app, port } = await startApp();
    apps.push(app);
    const started = Date.now();
    const idle = await openIdle(port);
    const slow = await openIdle(port);
    slow.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => slow.writable && slow.write('X-Drip: 1\r\n'), 1_000);
    const closedAt = (socket: Socket) =>
      new Promise<number>((r) => (socket.destroyed ? r(Date.now()) : socket.once('close', () => r(Date.now()))));
    const [idleClosed, slowClosed] = await Promise.all([closedAt(idle), closedAt(slow)]);
    clearInterval(drip);
    expect(idleClosed - started).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
    expect(slowClosed - started).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
  }, 30_000);
});
