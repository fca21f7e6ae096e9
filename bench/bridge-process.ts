/**
 * The bridge under test as its own process, exactly as in production: the built output (dist/) run by the
 * repository's Node, configured only through environment variables, logging at `warn`. With WORKERS > 1 the
 * process is the cluster primary and its workers are its children (the harness samples them all, proc.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..');
/**
 * The checkout whose dist/ is the bridge under test: this one, or BENCH_BRIDGE_ROOT (bench/compare.sh runs
 * the same harness, emulator and load against the build of each commit it compares).
 */
const BRIDGE_ROOT = process.env.BENCH_BRIDGE_ROOT ? resolve(process.env.BENCH_BRIDGE_ROOT) : REPO_ROOT;
const CLI_ENTRY = resolve(BRIDGE_ROOT, 'dist/cli/main.js');
/** Same chain as `serve` (env → model settings → bridge → server), for trees where the CLI is not built yet. */
const FALLBACK_ENTRY = resolve(REPO_ROOT, 'bench/bridge-child.mjs');

export const BENCH_API_KEY = 'bench-audiohook-key';
/** Base64 client secret: the harness signs upgrades as Genesys does, so signature checks are in the path. */
export const BENCH_CLIENT_SECRET = Buffer.from('bench-client-secret-32-bytes-long!').toString('base64');
export const AUDIOHOOK_PATH = '/audiohook';

export interface BridgeProcess {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  readonly entry: string;
  /** Recent stderr/stdout lines (warnings the bridge logged), bounded. */
  readonly output: string[];
  stop(): Promise<void>;
}

/** Runs `npm run build`'s compiler (tsc -p tsconfig.build.json) with the repository's Node. */
export async function buildDist(): Promise<void> {
  const tsc = resolve(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  await new Promise<void>((ok, fail) => {
    const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`build failed (tsc exit ${code})`))));
    child.on('error', fail);
  });
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

/**
 * How the bridge trusts the emulator's test CA: `file` is the production setting REALTIME_CA_FILE (the bridge
 * passes the CA per connection); `node-extra` is NODE_EXTRA_CA_CERTS (process-wide trust store), for comparison.
 */
export type CaMode = 'file' | 'node-extra';

/** Outside the repository: profiles are large and per machine. */
export const PROFILE_DIR = resolve(tmpdir(), 'audiohook-bench-profiles');

export async function startBridgeProcess(options: {
  emulatorBaseURL: string;
  caFile: string;
  caMode?: CaMode;
  profile?: boolean;
  /** The bridge's WORKERS (unset: its default, one per available CPU). */
  workers?: number;
  /** More variables for the bridge (e.g. CONSOLE_TOKEN for the console comparison). */
  env?: Record<string, string>;
}): Promise<BridgeProcess> {
  const port = await freePort();
  const useCli = existsSync(CLI_ENTRY);
  const entry = useCli ? CLI_ENTRY : FALLBACK_ENTRY;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    AUDIOHOOK_PATH,
    GENESYS_API_KEY: BENCH_API_KEY,
    GENESYS_CLIENT_SECRET: BENCH_CLIENT_SECRET,
    LOG_LEVEL: 'warn',
    OPENAI_API_KEY: 'sk-bench-emulator',
    OPENAI_BASE_URL: options.emulatorBaseURL,
    ...(options.caMode === 'node-extra' ? { NODE_EXTRA_CA_CERTS: options.caFile } : { REALTIME_CA_FILE: options.caFile }),
    SHUTDOWN_GRACE_SECONDS: '0',
    // The sweep looks for where the bridge itself breaks; the production admission cap (default 500) would
    // refuse the larger steps with 503 before that.
    MAX_SESSIONS: '100000',
    // Unset: the bridge's default, one worker per available CPU (what production runs).
    ...(options.workers ? { WORKERS: String(options.workers) } : {}),
    // bench/compare.sh: a commit from before bufferutil was a dependency runs with ws's JS mask, as it shipped.
    ...(process.env.WS_NO_BUFFER_UTIL ? { WS_NO_BUFFER_UTIL: process.env.WS_NO_BUFFER_UTIL } : {}),
    ...options.env,
  };
  const nodeFlags = options.profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, ...(useCli ? [entry, 'serve'] : [entry])], {
    cwd: BRIDGE_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      output.push(line.slice(0, 500));
      if (output.length > 200) output.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((ok) => child.once('exit', () => ((exited = true), ok())));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(timer);
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error(`bridge process exited during start-up:\n${output.join('\n')}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`bridge process not healthy within 20 s:\n${output.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid!, port, url: `ws://127.0.0.1:${port}${AUDIOHOOK_PATH}`, entry: useCli ? 'dist/cli/main.js serve' : 'bench/bridge-child.mjs', output, stop };
}
