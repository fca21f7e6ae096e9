/**
 * Runs the real third-party MCP server `@modelcontextprotocol/server-everything` (devDependency) in
 * Streamable HTTP mode on 127.0.0.1 and a free port. Its transport calls `app.listen(PORT)` with no host,
 * so it is started with a preload that binds it to loopback (loopback-listen.mjs). A missing package or a
 * server that does not come up fails the test loudly — never a skip. Its environment is minimal: its
 * `get-env` tool dumps the environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface EverythingServer {
  /** http://127.0.0.1:<port>/mcp */
  url: string;
  host: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function everythingEntry(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its bin; resolve its package.json, then dist/index.js next to it.
  const pkg = require.resolve('@modelcontextprotocol/server-everything/package.json');
  return join(dirname(pkg), 'dist', 'index.js');
}

export async function startEverythingServer(port = 0): Promise<EverythingServer> {
  const entry = everythingEntry();
  const preload = fileURLToPath(new URL('./loopback-listen.mjs', import.meta.url));
  const child = spawn(process.execPath, ['--import', preload, entry, 'streamableHttp'], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), NODE_ENV: 'test' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const started = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server-everything did not start within 15 s:\n${stderr}`)), 15_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
      const m = /LOOPBACK_LISTENING (\S+) (\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ host: m[1]!, port: Number(m[2]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server-everything exited (${code}) before listening:\n${stderr}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return {
    url: `http://127.0.0.1:${started.port}/mcp`,
    host: started.host,
    port: started.port,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
