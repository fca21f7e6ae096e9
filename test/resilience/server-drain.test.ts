/**
 * Fault 10 (issue 5): SIGTERM with a live call. The real CLI `serve` runs as a child process (the repo's Node +
 * tsx) against the offline Realtime emulator; a simulated Genesys call is live when SIGTERM arrives.
 * Expected: /readyz and new upgrades answer 503 during the drain, the live call continues until
 * DRAIN_TIMEOUT and then gets `disconnect completed` with output variables, its close transaction ends
 * with `closed`, and the process exits 0.
 */
import { join } from 'node:path';
import { spawnServe } from '../support/serve-process.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { ConnectError, createSimulatedCall, GenesysClient } from '../../src/simulator/genesys-client.js';
import { REPO_ROOT, scratchDir } from '../support/cli.js';

const API_KEY = 'drain-test-api-key-0123456789';
const CLIENT_SECRET = Buffer.from('a client secret for the drain test!!').toString('base64');
const DRAIN_TIMEOUT_S = 2;
const WAIT_MS = 30_000;

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({
    script: join(REPO_ROOT, 'fixtures/scripts/order-status.json'),
    scriptBaseDir: REPO_ROOT,
    speed: 'realtime',
    logger: createLogger('silent'),
  });
});
afterAll(async () => {
  await emulator?.close();
});

function runServe() {
  const child = spawnServe({
    cwd: scratchDir(),
    apiKey: API_KEY,
    clientSecret: CLIENT_SECRET,
    model: emulator,
    env: {
      DRAIN_TIMEOUT: String(DRAIN_TIMEOUT_S),
      // Two workers whatever the machine: the one without calls exits at once while the other drains, and
      // the instance must still answer 503 (a worker that exited without acknowledging a connection the
      // primary had handed it left that connection hanging: src/cluster/worker.ts leavePrimary).
      WORKERS: '2',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function listeningPort(run: ReturnType<typeof runServe>): Promise<number> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const line = run.out().split('\n').find((l) => l.includes('listening on'));
    if (line) return (JSON.parse(line) as { port: number }).port;
    if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`serve did not start: ${run.err()}${run.out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('SIGTERM with live calls', () => {
  it('drains (readyz and upgrades 503), ends the live call at DRAIN_TIMEOUT with disconnect completed + outputs, closed, exit 0', async () => {
    const run = runServe();
    // Every /readyz answer after SIGTERM (ms since the signal: status or error), for a failure's message.
    const readyz: string[] = [];
    try {
      const port = await listeningPort(run);
      const callOptions = {
        url: `ws://127.0.0.1:${port}/audiohook/drain-test`,
        apiKey: API_KEY,
        clientSecret: CLIENT_SECRET,
        language: 'en-us',
        // The simulator's default ping cadence is Genesys' own (the first after 1 s, then every 5 s, a pong
        // due before the next ping). Faster pings failed this call when the child, busy in a full parallel
        // run, answered late: then no call was live at SIGTERM and the server exited at once.
      };
      const live = await createSimulatedCall(callOptions);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

      expect(live.session.state, 'the call is live when SIGTERM is sent').toBe('open');
      // The simulator's clock is performance.now() in this process.
      const signalledAt = performance.now();
      run.child.kill('SIGTERM');
      await expect
        .poll(
          async () => {
            const at = Math.round(performance.now() - signalledAt);
            try {
              const { status } = await fetch(`http://127.0.0.1:${port}/readyz`);
              readyz.push(`${at} ms: ${status}`);
              return status;
            } catch (err) {
              readyz.push(`${at} ms: ${String((err as Error).cause ?? err)}`);
              throw err;
            }
          },
          { timeout: WAIT_MS },
        )
        .toBe(503);
      const refused = await GenesysClient.connect(callOptions).then(
        (client) => {
          client.terminate();
          return null;
        },
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(ConnectError);
      expect((refused as ConnectError).status).toBe(503);
      // The live call is still up during the drain.
      expect(live.report().disconnect).toBeNull();

      const report = await live.waitForEnd(WAIT_MS);
      expect(report.disconnect).toMatchObject({ reason: 'completed' });
      expect(Object.keys(report.disconnect?.outputVariables ?? {}).length).toBeGreaterThan(0);
      // Not before the drain deadline (timers never fire early; the clocks are the same performance.now()).
      expect(report.timings.disconnectAt! - signalledAt).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_S * 1000 - 50);
      expect(report.timings.closedAt).not.toBeNull();
      expect(report.violations).toEqual([]);
      expect(await run.exited).toBe(0);
      expect(run.out()).toMatch(/shutdown complete/);
    } catch (err) {
      // What the server said is what tells a failure here apart (a call that ended early, a crash).
      const tail = (text: string) => text.split('\n').slice(-30).join('\n');
      const answers = readyz.length > 6 ? [...readyz.slice(0, 3), '…', ...readyz.slice(-3)] : readyz;
      throw new Error(`${(err as Error).message}\n--- /readyz after SIGTERM: ${answers.join(', ')}\n--- serve stdout (last lines) ---\n${tail(run.out())}\n--- serve stderr ---\n${tail(run.err())}`, { cause: err });
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  }, WAIT_MS * 3);
});
