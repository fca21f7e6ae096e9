/**
 * A tool call on the console, end to end: the demo's order call (the caller gives an order number, the bot
 * looks it up with get_order_status on a local MCP server, then ends the call) replayed in real time through
 * the production composition root; the console shows the tool's span with name, outcome and duration on
 * the timeline, and the call ends with the bot's ending.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/cli/env.js';
import { replayCall } from '../../src/cli/replay.js';
import { serve, type Service } from '../../src/cli/serve.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { startOrdersMcpServer, type OrdersMcpServer } from '../../src/mcp-demo/orders-server.js';
import { launchBrowser, TOKEN } from './support.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(REPO, 'out/');
const WAIT = { timeout: 30_000 };

let emulator: Emulator;
let orders: OrdersMcpServer;
let service: Service;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let botsDir: string;
const apiKey = randomBytes(18).toString('base64url');
const clientSecret = randomBytes(32).toString('base64');

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  const build = promisify(execFile)(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'web/console/tsconfig.json')], { cwd: REPO });
  const quiet = createLogger('silent');
  orders = await startOrdersMcpServer();
  botsDir = await mkdtemp(join(tmpdir(), 'console-tool-'));
  const botsFile = join(botsDir, 'bots.yaml');
  await writeFile(botsFile, ['bots:', '  demo:', '    instructions: Look orders up with get_order_status.', '    tools: [orders]', 'tools:', '  orders:', '    type: mcp', `    url: ${JSON.stringify(orders.url)}`, ''].join('\n'));
  emulator = await startEmulator({ script: join(REPO, 'fixtures/scripts/order-status-tool.json'), scriptBaseDir: REPO, speed: 'realtime', logger: quiet });
  const env = parseEnv({
    GENESYS_API_KEY: apiKey,
    GENESYS_CLIENT_SECRET: clientSecret,
    PORT: '0',
    HOST: '127.0.0.1',
    OPENAI_API_KEY: 'offline-console-test',
    OPENAI_BASE_URL: emulator.baseURL,
    REALTIME_CA_FILE: emulator.caPath,
    BOTS_FILE: botsFile,
    CONSOLE_TOKEN: TOKEN,
    LOG_LEVEL: 'silent',
  });
  [service, browser] = await Promise.all([serve(env, { logger: quiet, handleSignals: false }), launchBrowser(), build]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await service?.server.stop(0);
  await emulator?.close();
  await orders?.close();
  if (botsDir) await rm(botsDir, { recursive: true, force: true });
});

describe('console watching a call with a tool', () => {
  it('shows the tool span with name, outcome and duration; the call ends by the bot', async () => {
    const base = `http://127.0.0.1:${service.server.port}`;
    const page = await browser.context.newPage();
    await page.goto(`${base}/console`);
    await page.fill('#token', TOKEN);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    await page.locator('#connection', { hasText: /^live$/ }).waitFor(WAIT);

    const cues = JSON.parse(readFileSync(join(REPO, 'fixtures/caller/multi-turn-call.cues.json'), 'utf8')) as { dtmf?: Array<{ digits: string; atSec: number }> };
    const call = replayCall({
      file: join(REPO, 'fixtures/caller/multi-turn-call.wav'),
      url: `ws://127.0.0.1:${service.server.port}/audiohook/demo`,
      apiKey,
      clientSecret,
      inputVariables: { COMPANY_NAME: 'Acme', AGENT_NAME: 'Ava' },
      dtmf: (cues.dtmf ?? []).map((d) => ({ digits: d.digits, atMs: Math.round(d.atSec * 1000) })),
      language: 'en-us',
      pacing: 'realtime',
      json: false,
      timeoutMs: 90_000,
      idleMs: 3000,
    });
    const row = page.locator('#live-calls tbody tr').first();
    await row.waitFor(WAIT);
    await expect(row.textContent()).resolves.toContain('demo / demo');
    await row.click();
    // (The lookup takes milliseconds: the row's "tool running" state lasts less than one 100 ms batch and is
    // not asserted here; test/console/browser.test.ts shows a running tool.)
    const span = page.locator('#timeline [data-kind="tool"]', { hasText: /get_order_status · ok · \d+ ms/ });
    await span.waitFor(WAIT);
    await expect(page.locator('#live-calls tr .tool-calls').textContent()).resolves.toBe('1');
    await page.locator('#timeline').screenshot({ path: `${OUT}console-tool-call-timeline.png` });
    // The caller keyed 1234#: shown masked, never the digits.
    await page.locator('#timeline [data-kind="dtmf"]').first().waitFor(WAIT);
    await expect(page.locator('#timeline [data-kind="dtmf"]').first().textContent()).resolves.toMatch(/^DTMF •+$/);

    const result = await call;
    expect(result.violations).toEqual([]);
    const ended = page.locator('#ended-calls tbody tr').first();
    await ended.waitFor(WAIT);
    await expect(ended.locator('.ending').textContent()).resolves.toBe('bot ended');
    await expect(page.textContent('#ended-detail [data-fact="tool-calls"]')).resolves.toMatch(/get_order_status · ok · \d+ ms/);
    await page.locator('#detail').screenshot({ path: `${OUT}console-tool-call-ended.png` });
  }, 150_000);
});
