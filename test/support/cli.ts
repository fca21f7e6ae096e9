/**
 * Runs the CLI two ways: in-process (the command functions with buffered streams, a clean environment and
 * a scripted Ctrl-C) for the logic, and as a user would — a child process of the repo's Node with tsx,
 * from a clean environment (no OPENAI_* keys, no .env: cwd is a fresh temporary directory) — for the
 * few smoke tests of the binary. Plus the bridge + emulator stack the replay tests talk to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from '../../src/cli/env.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { serve, type Service } from '../../src/cli/serve.js';
import { runCommand } from '../../src/cli/commands.js';
import type { CliIo } from '../../src/cli/io.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_CLI = join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs');
const MAIN = join(REPO_ROOT, 'src/cli/main.ts');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A fresh directory to run in: keeps a developer's .env out of the child and holds its output files. */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'audiohook-cli-'));
}

/** The child's environment: only what Node needs to run, so no OPENAI_ or GENESYS_ variables leak in from the shell. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), NO_COLOR: '1' };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  return { ...env, ...extra };
}

export interface InProcessOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Called once the command has registered its Ctrl-C handler, with a function that presses Ctrl-C. */
  onInterruptible?: (pressCtrlC: () => void) => void;
}

/**
 * `audiohook-realtime <args>` run in this process: the same command functions the binary calls, with
 * stdout/stderr captured, the clean environment a child would get and `cwd` for relative paths.
 */
export async function runInProcess(args: string[], options: InProcessOptions): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: cleanEnv(options.env ?? {}),
    cwd: options.cwd,
    onInterrupt: (handler) => {
      let armed = true;
      options.onInterruptible?.(() => {
        if (!armed) return;
        armed = false;
        handler();
      });
      return () => (armed = false);
    },
  };
  const code = await runCommand(args, io);
  return { code, signal: null, stdout, stderr };
}

/** `audiohook-realtime <args>` as a child process in `cwd`; kills it (and fails the run) after `timeoutMs`. */
export function runBinary(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs: number; onSpawn?: (child: ChildProcess) => void },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX_CLI, MAIN, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI ${args.join(' ')} ran over ${options.timeoutMs} ms; stderr so far: ${stderr}`));
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** stderr split into its non-empty lines. */
export function stderrLines(run: CliRun): string[] {
  return run.stderr.split('\n').filter((l) => l.trim() !== '');
}

export interface Stack {
  url: string;
  apiKey: string;
  clientSecret: string;
  close(): Promise<void>;
}

/** The production serve path against the offline emulator, playing the order-status script. */
export async function startStack(): Promise<Stack> {
  const logger = createLogger('silent');
  const emulator: Emulator = await startEmulator({
    script: join(REPO_ROOT, 'fixtures/scripts/order-status.json'),
    scriptBaseDir: REPO_ROOT,
    speed: 'realtime',
    logger,
  });
  const apiKey = 'cli-test-api-key-0123456789';
  const clientSecret = Buffer.from('a client secret for the CLI tests, 32b').toString('base64');
  let service: Service;
  try {
    const env = parseEnv({
      GENESYS_API_KEY: apiKey,
      GENESYS_CLIENT_SECRET: clientSecret,
      OPENAI_API_KEY: 'sk-emulator',
      OPENAI_BASE_URL: emulator.baseURL,
      REALTIME_CA_FILE: emulator.caPath,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      BOT_TURN_EVENTS: 'true',
    });
    service = await serve(env, { logger, handleSignals: false });
  } catch (err) {
    await emulator.close();
    throw err;
  }
  return {
    url: `ws://127.0.0.1:${service.server.port}/audiohook/cli-test`,
    apiKey,
    clientSecret,
    close: async () => {
      await service.server.stop(5000);
      await emulator.close();
    },
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
