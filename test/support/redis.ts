/**
 * A real redis-server for the fleet tests (Debian's `redis-server`; .ci/run installs it): started on
 * 127.0.0.1 with a random free port and a scratch directory, stopped (and its directory removed) by
 * `stop()`. Missing binary: `startRedis` throws with a clear message — fleet tests never skip silently.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** Kills the server (SIGKILL by default: a crash; SIGTERM for an orderly stop). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory (what was persisted, if appendonly, comes back). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that hangs with its connections open. */
  pause(): void;
  resume(): void;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** appendonly yes with appendfsync always: what a restart must keep survives. Default false. */
  appendonly?: boolean;
  /** TLS only (no plain port), with this certificate and key (PEM files); `url` is then rediss://localhost. */
  tls?: { certFile: string; keyFile: string };
}

/** The server binary: REDIS_SERVER_BIN, else `redis-server` on PATH. */
const binary = () => process.env.REDIS_SERVER_BIN ?? 'redis-server';

export function redisServerAvailable(): boolean {
  return spawnSync(binary(), ['--version'], { stdio: 'ignore' }).status === 0;
}

function requireBinary(): void {
  if (!redisServerAvailable()) {
    throw new Error(
      `redis-server not found (looked for "${binary()}" on PATH). Install the Debian package (apt-get install redis-server; .ci/run does this) — the fleet tests need a real server and are never skipped.`,
    );
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Every server started by this process, so a failing test still kills them (see `stopAllRedis`). */
const running = new Set<ChildProcess>();
// Last resort when a worker exits without its afterAll (a crash or a timeout): no server outlives it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  requireBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fleet-redis-'));
  const args = [
    ...(options.tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', options.tls.certFile, '--tls-key-file', options.tls.keyFile, '--tls-auth-clients', 'no']
      : ['--port', String(port)]), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no',
    '--protected-mode', 'yes', '--logfile', '',
    ...(options.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  let proc: ChildProcess | undefined;
  let log = '';

  const launch = async () => {
    const child = spawn(binary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.on('exit', () => running.delete(child));
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (log = (log + c).slice(-4000)));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (log = (log + c).slice(-4000)));
    proc = child;
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server did not start on port ${port}: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const child = proc;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await exited;
  };

  await launch();
  return {
    port,
    url: options.tls ? `rediss://localhost:${port}` : `redis://127.0.0.1:${port}`,
    dir,
    kill,
    restart: launch,
    pause: () => void proc?.kill('SIGSTOP'),
    resume: () => void proc?.kill('SIGCONT'),
    async stop() {
      proc?.kill('SIGCONT');
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Kills every redis-server this process started (for an afterAll that must run even on failure). */
export function stopAllRedis(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
