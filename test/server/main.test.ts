import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/cli/env.js';
import { createLogger } from '../../src/log/logger.js';
import { startServer } from '../../src/server/main.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
// `serve` starts one worker per core by default: three processes loading tsx on a busy 2-core machine.
const WAIT_MS = 30_000;

/** Runs `serve` in a child (the repo's Node + tsx) from an empty directory, so no .env is found. */
function runMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN, 'serve'], {
    cwd: mkdtempSync(join(tmpdir(), 'audiohook-main-')),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('startServer', () => {
  it('listens, serves health and metrics (token from the environment) and stops', async () => {
    const env = parseEnv({ GENESYS_API_KEY: 'key-1', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    const token = 'metrics-token-for-the-test-run';
    const running = await startServer(
      { ...env, METRICS_TOKEN: token },
      { logger: createLogger('silent'), handleSignals: false },
    );
    const res = await fetch(`http://127.0.0.1:${running.port}/healthz`);
    expect(res.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${running.port}/metrics`)).status).toBe(401);
    const metrics = await fetch(`http://127.0.0.1:${running.port}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
    expect(await metrics.text()).toMatch(/^audiohook_active_sessions 0$/m);
    await running.stop(0);
    await expect(fetch(`http://127.0.0.1:${running.port}/healthz`)).rejects.toThrow();
  });
});

describe('serve as a process', () => {
  it('prints a bad configuration without a stack trace and exits 1', async () => {
    const run = runMain({ PORT: 'eighty' });
    expect(await run.exited).toBe(1);
    expect(run.err()).toMatch(/GENESYS_API_KEY is required/);
    expect(run.err()).toMatch(/PORT must be an integer/);
    // In the same round: what serve needs beyond the schema (a model).
    expect(run.err()).toMatch(/no model configured: set OPENAI_API_KEY/);
    expect(run.err()).not.toMatch(/\n\s+at /);
  }, WAIT_MS * 2);

  it('logs the listening address and exits 0 on SIGTERM', async () => {
    const run = runMain({ GENESYS_API_KEY: 'key-1', OPENAI_API_KEY: 'sk-not-used', OPENAI_VOCIE: 'cedar', PORT: '0', HOST: '127.0.0.1' });
    const deadline = Date.now() + WAIT_MS;
    while (!run.out().includes('listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const listening = run.out().split('\n').find((l) => l.includes('listening on'));
    expect(listening, run.err()).toBeDefined();
    const { port, level } = JSON.parse(listening!) as { port: number; level: number };
    expect(level).toBe(30);
    // Start-up warnings are logged (a misspelt setting), and the server runs anyway.
    expect(run.out()).toMatch(/"level":40.*OPENAI_VOCIE is not a setting of audiohook-realtime and is ignored: did you mean OPENAI_VOICE\?/);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.out()).toMatch(/shutdown complete/);
  }, WAIT_MS * 2);
});
