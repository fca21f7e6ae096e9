/**
 * WORKERS=2, SIGTERM with a live call on one worker: the worker without calls closes its server and exits at
 * once while the other drains. Node's cluster primary hands each new connection to a worker and waits for its
 * acknowledgement; a connection handed to the leaving worker just before the primary learnt its server had
 * closed used to hang until the whole instance exited (the drain's length), instead of getting its 503 from
 * the worker still draining. Seen as a /readyz that never answered during a drain (CI). The worker now makes
 * one round trip to its primary before exiting (src/cluster/worker.ts leavePrimary).
 * Without that, 3 of 4 rounds of this test had a request hang for the whole drain.
 */
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { createSimulatedCall } from '../../src/simulator/genesys-client.js';
import { REPO_ROOT, scratchDir } from '../support/cli.js';
import { spawnServe } from '../support/serve-process.js';

const API_KEY = 'drain-handoff-api-key-0123456789';
const CLIENT_SECRET = Buffer.from('a client secret for the hand-off test').toString('base64');
const DRAIN_TIMEOUT_S = 5;
/** A request that waited this long waited for the drain to end: a normal one takes milliseconds. */
const HUNG_MS = 4_000;
const ROUNDS = 3;

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ script: join(REPO_ROOT, 'fixtures/scripts/order-status.json'), scriptBaseDir: REPO_ROOT, speed: 'realtime', logger: createLogger('silent') });
});
afterAll(async () => {
  await emulator?.close();
});

/** One GET /readyz on a new connection: its status (or error) and how long it took. */
function readyz(port: number): Promise<{ ms: number; outcome: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (outcome: string) => resolve({ ms: performance.now() - started, outcome });
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: 15_000 }, (res) => {
      res.resume();
      res.on('end', () => done(String(res.statusCode)));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => done((err as NodeJS.ErrnoException).code ?? err.message));
  });
}

async function listeningPort(output: () => string, exited: () => boolean): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const line = output().split('\n').find((l) => l.includes('listening on'));
    if (line) return (JSON.parse(line) as { port: number }).port;
    if (Date.now() > deadline || exited()) throw new Error(`serve did not start: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('WORKERS=2 drain: connections handed to the worker that leaves first', () => {
  it('every request made while the workers drain is answered at once (503), none waits for the drain to end', async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const child = spawnServe({ cwd: scratchDir(), apiKey: API_KEY, clientSecret: CLIENT_SECRET, model: emulator, env: { DRAIN_TIMEOUT: String(DRAIN_TIMEOUT_S), WORKERS: '2' } });
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
      const exited = new Promise((resolve) => child.on('exit', resolve));
      try {
        const port = await listeningPort(() => out, () => child.exitCode !== null);
        // Both workers listening: the second one's line too.
        await expect.poll(() => out.split('\n').filter((l) => l.includes('listening on')).length, { timeout: 30_000 }).toBe(2);
        const call = await createSimulatedCall({ url: `ws://127.0.0.1:${port}/audiohook/handoff`, apiKey: API_KEY, clientSecret: CLIENT_SECRET, language: 'en-us' });
        child.kill('SIGTERM');
        // New connections through the moment the idle worker leaves (it exits within milliseconds).
        const requests: Array<Promise<{ ms: number; outcome: string }>> = [];
        const started = performance.now();
        while (performance.now() - started < 300) {
          requests.push(readyz(port));
          await new Promise((r) => setTimeout(r, 2));
        }
        const answers = await Promise.all(requests);
        const hung = answers.filter((a) => a.ms >= HUNG_MS);
        expect(hung, `round ${round}: requests that waited for the drain to end`).toEqual([]);
        // While the other worker drains, the instance says so.
        expect(answers.some((a) => a.outcome === '503')).toBe(true);
        await call.waitForEnd(30_000);
        expect(await exited).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }
  }, 180_000);
});
