/**
 * The load generator and the emulator as child processes of the harness (node:child_process fork, with the
 * tsx loader so they run from source), each answering commands over IPC. Killed on harness exit or failure.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './bridge-process.js';

const TSX_LOADER = pathToFileURL(resolve(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface BenchChild<Ready> {
  readonly pid: number;
  readonly ready: Ready;
  /** Sends a command; resolves with the child's answer (rejects with its error, or when it exits). */
  call<T>(command: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export async function startBenchChild<Ready>(script: string, env: Record<string, string>, nice?: (pid: number) => void): Promise<BenchChild<Ready>> {
  const child: ChildProcess = fork(resolve(REPO_ROOT, script), [], {
    execArgv: ['--import', TSX_LOADER],
    env: { PATH: process.env.PATH, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let exited = false;
  const exit = new Promise<void>((ok) => child.once('exit', () => ((exited = true), ok())));
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let onReady: ((ready: Ready) => void) | undefined;
  child.on('message', (message: { id?: number; value?: unknown; error?: string; ready?: Ready }) => {
    if (message.ready !== undefined) return onReady?.(message.ready);
    const entry = message.id === undefined ? undefined : waiting.get(message.id);
    if (!entry) return;
    waiting.delete(message.id!);
    if (message.error !== undefined) entry.reject(new Error(`${script}: ${message.error}`));
    else entry.resolve(message.value);
  });
  void exit.then(() => {
    for (const entry of waiting.values()) entry.reject(new Error(`${script} exited`));
    waiting.clear();
  });
  const ready = await new Promise<Ready>((ok, fail) => {
    onReady = ok;
    const timer = setTimeout(() => fail(new Error(`${script} not ready within 30 s`)), 30_000);
    void exit.then(() => fail(new Error(`${script} exited during start-up`)));
    child.once('message', () => clearTimeout(timer));
  });
  if (child.pid !== undefined) nice?.(child.pid);
  return {
    pid: child.pid!,
    ready,
    call<T>(command: Record<string, unknown>, timeoutMs = 300_000) {
      if (exited) return Promise.reject(new Error(`${script} has exited`));
      const id = nextId++;
      return new Promise<T>((ok, fail) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          fail(new Error(`${script}: no answer to ${String(command.cmd)} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (v) => (clearTimeout(timer), ok(v as T)),
          reject: (e) => (clearTimeout(timer), fail(e)),
        });
        child.send({ ...command, id });
      });
    },
    async stop() {
      process.off('exit', killOnExit);
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}
