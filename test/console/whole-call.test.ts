/**
 * The console on the production composition root (`serve`), watching a whole simulated call in a real
 * browser: the strict Genesys simulator replays the barge-in sample call in real time against the bridge,
 * which talks to the Realtime emulator exactly as it would to OpenAI. The call must appear within a second
 * of `opened`, change state as the bot and the caller speak, show the barge-in on its timeline, and move to
 * the ended calls with its summary and ending. No caller number reaches the browser.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudioFile } from '../../src/audio/wav.js';
import { serve, type Service } from '../../src/cli/serve.js';
import { parseEnv } from '../../src/cli/env.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { createSimulatedCall } from '../../src/simulator/genesys-client.js';
import { ulawSource } from '../../src/simulator/index.js';
import { launchBrowser, TOKEN } from './support.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(REPO, 'out/');
const ANI_DIGITS = '4155550123';
const WAIT = { timeout: 15_000 };

let emulator: Emulator;
let webhook: Server;
let service: Service;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let base: string;
const apiKey = randomBytes(18).toString('base64url');
const clientSecret = randomBytes(32).toString('base64');

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  // The production path serves the front end from where `npm run build` puts it: build exactly that.
  const build = promisify(execFile)(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'web/console/tsconfig.json')], { cwd: REPO });
  const quiet = createLogger('silent');
  // A local receiver standing in for the business system: the console shows the delivery outcome.
  webhook = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  emulator = await startEmulator({ script: join(REPO, 'fixtures/scripts/barge-in.json'), scriptBaseDir: REPO, speed: 'realtime', logger: quiet });
  const env = parseEnv({
    GENESYS_API_KEY: apiKey,
    GENESYS_CLIENT_SECRET: clientSecret,
    PORT: '0',
    HOST: '127.0.0.1',
    OPENAI_API_KEY: 'offline-console-test',
    OPENAI_BASE_URL: emulator.baseURL,
    REALTIME_CA_FILE: emulator.caPath,
    // The interrupt has a short pause inside: a longer VAD silence keeps it one turn (as in the demo).
    VAD_SILENCE_DURATION_MS: '900',
    SUMMARY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/calls`,
    CONSOLE_TOKEN: TOKEN,
    CONSOLE_TRANSCRIPTS: 'true',
    LOG_LEVEL: 'silent',
  });
  [service, browser] = await Promise.all([serve(env, { logger: quiet, handleSignals: false }), launchBrowser(), build]);
  base = `http://127.0.0.1:${service.server.port}`;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await service?.server.stop(0);
  await emulator?.close();
  await new Promise((resolve) => webhook?.close(resolve));
});

async function signIn(): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${base}/console`);
  await page.fill('#token', TOKEN);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.locator('#connection', { hasText: /^live$/ }).waitFor(WAIT);
  return page;
}

describe('console watching a simulated call end to end', () => {
  it('shows the call live within 1 s of opened, its states, the barge-in, then the ending and summary', async () => {
    const page = await signIn();
    const payloads: string[] = [];
    const cdp = await browser.context.newCDPSession(page);
    cdp.on('Network.eventSourceMessageReceived', (e: { data: string }) => payloads.push(e.data));
    await cdp.send('Network.enable');
    // The cdp session sees streams opened from now on: reopen the page's stream.
    await page.reload();
    await page.locator('#connection', { hasText: /^live$/ }).waitFor(WAIT);

    const audio = await readAudioFile(join(REPO, 'fixtures/caller/barge-in-call.wav'));
    const client = await createSimulatedCall({
      url: `ws://127.0.0.1:${service.server.port}/audiohook/console-test-connector`,
      apiKey,
      clientSecret,
      participant: { ani: `tel:+1${ANI_DIGITS}`, aniName: 'Test Caller' },
      inputVariables: { COMPANY_NAME: 'Acme' },
    });
    const openedAt = Date.now();
    const row = page.locator('#live-calls tbody tr').first();
    await row.waitFor({ timeout: 1000 });
    const appearedMs = Date.now() - openedAt;
    expect(appearedMs).toBeLessThan(1000);
    await expect(row.textContent()).resolves.toContain('console-test-connector');
    await row.click();

    const recording = client.streamAudio(ulawSource(audio.ulaw), { pacing: 'realtime' });
    try {
      await page.locator('#live-calls tr[data-state="bot_speaking"]').waitFor(WAIT); // the greeting
      await page.locator('#live-calls tr[data-state="caller_speaking"]').waitFor({ timeout: 20_000 });
      await page.locator('#timeline [data-kind="barge-in"]').waitFor({ timeout: 25_000 });
      await expect(page.locator('#live-calls tr .barge-ins').textContent()).resolves.toBe('1');
      // The caller is talking over the bot: the row says so while the interrupt lasts (~4 s).
      await page.locator('#live-calls tr[data-state="caller_speaking"]').waitFor({ timeout: 3000 });
      await page.locator('#transcript .turn.caller').first().waitFor(WAIT);
      await page.screenshot({ path: `${OUT}console-whole-call-live.png`, fullPage: true });
      await page.locator('#timeline').screenshot({ path: `${OUT}console-whole-call-timeline.png` });
      await recording.done;
    } finally {
      recording.stop();
    }
    // The caller hangs up like Genesys does; the summary follows in the background.
    await client.close('end', 15_000);
    const ended = page.locator('#ended-calls tbody tr').first();
    await ended.waitFor({ timeout: 20_000 });
    await expect(ended.locator('.ending').textContent()).resolves.toBe('caller hung up');
    await expect(ended.locator('.summary').textContent()).resolves.not.toBe('');
    await expect(ended.locator('.webhook').textContent()).resolves.toContain('delivered (HTTP 204');
    await page.locator('#timeline [data-kind="ending"]').waitFor(WAIT);
    await page.locator('#detail').screenshot({ path: `${OUT}console-whole-call-ended.png` });
    expect(await page.locator('#live-calls tbody tr').count()).toBe(0);

    const all = payloads.join('\n');
    expect(all).toContain('barge_in');
    expect(all).not.toContain(ANI_DIGITS);
    expect(all).not.toContain('Test Caller');
  }, 120_000);
});
