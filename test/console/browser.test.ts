/**
 * The console in a real browser (Debian chromium via playwright-core), fed with CallEvents directly:
 * sign-in, the live view, a call's timeline, ended calls, HTML injection and the transcripts-off guarantee
 * checked on the network payloads. Screenshots go to out/ for a reviewer.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleOptions } from '../../src/console/index.js';
import type { HealthReading } from '../../src/console/health.js';
import { buildConsoleApp, callRecord, CallScript, delivered, launchBrowser, startConsoleApp, TOKEN, type ConsoleApp } from './support.js';

const OUT = fileURLToPath(new URL('../../out/', import.meta.url));
const WAIT = { timeout: 5000 };
/** Waits until the page's event stream is open. (Predicates are locators: the page's CSP forbids eval.) */
const live = (page: Page) => page.locator('#connection', { hasText: /^live$/ }).waitFor(WAIT);

let assets: Awaited<ReturnType<typeof buildConsoleApp>>;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
const apps: ConsoleApp[] = [];

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  [assets, browser] = await Promise.all([buildConsoleApp(), launchBrowser()]);
  context = browser.context;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const app of apps) {
    app.console.close();
    await app.app.close();
  }
  await assets?.cleanup();
});

async function start(transcripts: boolean, extra: Partial<ConsoleOptions> = {}): Promise<ConsoleApp> {
  const app = await startConsoleApp({ assetsDir: assets.assetsDir, transcripts, ...extra });
  apps.push(app);
  return app;
}

async function signIn(app: ConsoleApp, token = TOKEN): Promise<Page> {
  // Cookies ignore ports, and a session signed with the same token is valid on every app (as on every
  // worker): start each sign-in from none.
  await context.clearCookies();
  const page = await context.newPage();
  await page.goto(`${app.base}/console`);
  await page.fill('#token', token);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  return page;
}

/** Every Server-Sent Events message the page receives, as the browser's network layer saw it. */
async function captureStream(page: Page): Promise<string[]> {
  const messages: string[] = [];
  const cdp = await context.newCDPSession(page);
  cdp.on('Network.eventSourceMessageReceived', (e: { data: string }) => messages.push(e.data));
  await cdp.send('Network.enable');
  return messages;
}

describe('console sign-in', () => {
  let app: ConsoleApp;
  beforeAll(async () => {
    app = await start(false);
  });

  it('refuses a wrong token (slowly, counted) and every data endpoint without the session', async () => {
    const page = await context.newPage();
    await page.goto(`${app.base}/console`);
    await page.fill('#token', 'not-the-right-token-at-all');
    const t0 = Date.now();
    await Promise.all([page.waitForURL(/failed=1/), page.click('button[type=submit]')]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await expect(page.textContent('#login-error')).resolves.toContain('not valid');
    expect(await page.locator('#live-calls').count()).toBe(0);
    expect(app.console.auth.failedLogins).toBe(1);
    expect((await context.cookies(`${app.base}/console`)).filter((c) => c.name === 'audiohook_console')).toEqual([]);
    const stream = await page.request.get(`${app.base}/console/api/stream`);
    expect(stream.status()).toBe(401);
    await page.close();
  });

  it('lands on the live view with the right token, holding an HttpOnly SameSite=Strict session cookie', async () => {
    const page = await signIn(app);
    await page.waitForSelector('#live-calls', WAIT);
    await live(page);
    await expect(page.textContent('#no-live')).resolves.toContain('No live calls');
    const [cookie] = (await context.cookies(`${app.base}/console`)).filter((c) => c.name === 'audiohook_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/console' });
    await page.close();
  });
});

describe('console with transcripts on', () => {
  let app: ConsoleApp;
  let page: Page;
  /** What the browser says about the page: a CSP violation (inline script or style) shows up here. */
  const browserMessages: string[] = [];
  beforeAll(async () => {
    // Health figures that move, sampled quickly, so the charts have something to draw.
    let n = 0;
    const healthSource = {
      read: async (): Promise<HealthReading> => {
        n++;
        // Counts are scaled to per minute from 150 ms intervals: grow them slowly.
        return { liveCalls: n % 4, callsEnded: Math.floor(n / 40) + Math.floor(n / 90), firstBotAudioSecondsSum: n * 0.6 + (n % 5) * 0.1, firstBotAudioCount: n, bargeIns: Math.floor(n / 60), modelErrors: Math.floor(n / 200), webhookFailures: 0 };
      },
    };
    app = await start(true, { healthSource, healthIntervalMs: 150 });
    page = await signIn(app);
    page.on('console', (m) => browserMessages.push(m.text()));
    page.on('pageerror', (e) => browserMessages.push(`pageerror: ${e.message}`));
    await page.reload();
    await live(page);
  });

  it('shows a live call, its state changes and its timeline growing, then the call ended with its summary', async () => {
    const call = new CallScript('call-live-1', Date.now() - 12_000);
    const emit = (e: Parameters<typeof app.console.listener.onCallEvent>[0]) => app.console.listener.onCallEvent(e);
    emit(call.started());
    emit(call.ev('activity', { activity: 'greeting' }, 300));
    emit(call.ev('bot.speech_started', { responseId: 'r1' }, 200));
    const row = page.locator('#live-calls tbody tr[data-call-id="call-live-1"]');
    await row.waitFor(WAIT);
    await expect(row.textContent()).resolves.toContain('order-status / connector-7');
    emit(call.ev('bot.speech_stopped', { responseId: 'r1' }, 2500));
    emit(call.ev('activity', { activity: 'caller_speaking' }, 500));
    emit(call.ev('caller.speech_started', {}));
    await page.waitForSelector('#live-calls tr[data-call-id="call-live-1"][data-state="caller_speaking"]', WAIT);
    emit(call.ev('caller.speech_stopped', {}, 1800));
    emit(call.ev('activity', { activity: 'bot_speaking' }, 400));
    emit(call.ev('bot.speech_started', { responseId: 'r2' }));
    emit(call.ev('caller.speech_started', {}, 1200));
    emit(call.ev('barge_in', { responseId: 'r2' }, 150));
    emit(call.ev('bot.speech_stopped', { responseId: 'r2' }));
    emit(call.ev('dtmf', { count: 4 }, 800));
    emit(call.ev('activity', { activity: 'tool_running' }, 500));
    emit(call.ev('tool.started', { toolCallId: 't1', name: 'lookup_order' }));
    await page.waitForSelector('#live-calls tr[data-call-id="call-live-1"][data-state="tool_running"]', WAIT);
    await expect(row.locator('.barge-ins').textContent()).resolves.toBe('1');
    await expect(row.locator('.tool-calls').textContent()).resolves.toBe('1');

    await row.click();
    await page.waitForSelector('#timeline svg [data-kind="barge-in"]', WAIT);
    await expect(page.locator('#timeline [data-kind="tool"]').textContent()).resolves.toContain('lookup_order · running…');
    expect(await page.locator('#timeline [data-kind="caller-speech"]').count()).toBe(2);
    expect(await page.locator('#timeline [data-kind="bot-speech"]').count()).toBe(2);
    await expect(page.locator('#timeline [data-kind="dtmf"]').textContent()).resolves.toBe('DTMF ••••');

    emit(call.ev('tool.finished', { toolCallId: 't1', name: 'lookup_order', outcome: 'ok', durationMs: 420 }, 420));
    emit(call.ev('model.reconnected', { purpose: 'reconnect' }, 300));
    emit(call.ev('transcript', { role: 'caller', text: 'Where is order 42?' }, 100));
    await page.locator('#timeline [data-kind="tool"]', { hasText: 'lookup_order · ok · 420 ms' }).waitFor(WAIT);
    await page.waitForSelector('#timeline [data-kind="reconnect"]', WAIT);
    await expect(page.textContent('#transcript')).resolves.toContain('Where is order 42?');
    // Health: sparklines from the per-interval points.
    await page.locator('#health [data-series="firstBotAudioMs"] path').waitFor(WAIT);
    await expect(page.textContent('#health [data-series="firstBotAudioMs"] .value')).resolves.toMatch(/^\d+ ms$/);
    await page.locator('#health [data-series="callsPerMinute"] path').waitFor(WAIT);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: `${OUT}console-live-view.png`, fullPage: true });
    await page.locator('#timeline').screenshot({ path: `${OUT}console-call-timeline.png` });

    emit(call.ev('call.ended', { record: callRecord('call-live-1'), delivery: delivered }, 1000));
    const ended = page.locator('#ended-calls tbody tr[data-call-id="call-live-1"]');
    await ended.waitFor(WAIT);
    expect(await row.count()).toBe(0);
    await expect(ended.locator('.ending').textContent()).resolves.toBe('bot ended');
    await expect(ended.locator('.summary').textContent()).resolves.toContain('ships tomorrow');
    await expect(ended.locator('.webhook').textContent()).resolves.toContain('delivered');
    await page.waitForSelector('#timeline [data-kind="ending"]', WAIT);
    await expect(page.textContent('#ended-detail [data-fact="output-variables"]')).resolves.toContain('CONVERSATION_SENTIMENT = positive');
    await expect(page.textContent('#ended-detail [data-fact="usage"]')).resolves.toContain('1200 tokens');
    await page.locator('#detail').screenshot({ path: `${OUT}console-ended-call.png` });
    // The whole app ran under the strict CSP without a violation or an error.
    expect(browserMessages.filter((m) => /Content Security Policy|pageerror/i.test(m))).toEqual([]);
  });

  it('renders HTML in a transcript, a summary and a bot name as text and runs none of it', async () => {
    const messages = await captureStream(page);
    const img = '<img src=x onerror="window.__pwned=1">';
    const script = '<script>window.__pwned=2</script>';
    const call = new CallScript('call-inject-1');
    const emit = (e: Parameters<typeof app.console.listener.onCallEvent>[0]) => app.console.listener.onCallEvent(e);
    emit(call.started('connector-<b>x</b>', `<img src=x onerror="window.__pwned=3">`));
    await page.locator('#live-calls tr[data-call-id="call-inject-1"]').click();
    emit(call.ev('transcript', { role: 'caller', text: `hello ${img} and ${script}` }, 500));
    emit(call.ev('transcript', { role: 'bot', text: `<svg onload="window.__pwned=4"></svg>` }, 500));
    await page.locator('#transcript .turn.bot', { hasText: '<svg onload' }).waitFor(WAIT);
    const transcript = await page.textContent('#transcript');
    expect(transcript).toContain(img);
    expect(transcript).toContain(script);
    emit(call.ev('call.ended', { record: callRecord('call-inject-1', { summary: { summary: `done ${img}`, sentiment: 'neutral', resolved: false, follow_ups: [script], source: 'model' } }) }, 500));
    await page.waitForSelector('#ended-calls tr[data-call-id="call-inject-1"]', WAIT);
    await expect(page.textContent('#ended-calls tr[data-call-id="call-inject-1"] .summary')).resolves.toBe(`done ${img}`);
    // Nothing was parsed as markup, nothing ran.
    expect(await page.locator('#transcript img, #transcript script, #transcript svg, #ended-calls img, #ended-calls b, #detail-title img').count()).toBe(0);
    expect(await page.evaluate(() => typeof (globalThis as { __pwned?: unknown }).__pwned)).toBe('undefined');
    // And the capture works: the text did travel (this server shows transcripts).
    expect(messages.join('\n')).toContain('onerror');
  });
});

describe('console with transcripts off', () => {
  it('lets no transcript text reach the browser (network payloads), showing turn timings instead', async () => {
    const app = await start(false);
    const page = await signIn(app);
    const messages = await captureStream(page);
    const bodies: string[] = [];
    page.on('response', (r) => {
      if (!r.url().includes('/api/stream')) void r.text().then((t) => bodies.push(t), () => {});
    });
    await page.reload();
    await live(page);
    const secret = 'my card number is 4111-SECRET-TURN';
    const call = new CallScript('call-private-1', Date.now() - 5000);
    const emit = (e: Parameters<typeof app.console.listener.onCallEvent>[0]) => app.console.listener.onCallEvent(e);
    emit(call.started());
    await page.locator('#live-calls tr[data-call-id="call-private-1"]').click();
    emit(call.ev('caller.speech_started', {}, 200));
    emit(call.ev('caller.speech_stopped', {}, 2000));
    emit(call.ev('transcript', { role: 'caller', text: secret }, 300));
    emit(call.ev('bot.speech_started', { responseId: 'r1' }, 100));
    emit(call.ev('bot.speech_stopped', { responseId: 'r1' }, 1500));
    emit(call.ev('transcript', { role: 'bot', text: `You said ${secret}` }, 10));
    await page.locator('#transcript .turn').nth(1).waitFor(WAIT);
    await expect(page.textContent('#transcript')).resolves.toContain('Turns (transcripts off)');
    emit(call.ev('call.ended', { record: callRecord('call-private-1', { transcript: [{ role: 'caller', itemId: 'i1', text: secret }] }) }, 500));
    await page.waitForSelector('#ended-calls tr[data-call-id="call-private-1"]', WAIT);
    await page.waitForSelector('#timeline [data-kind="ending"]', WAIT);

    const payloads = messages.join('\n');
    expect(payloads).toContain('caller.speech_started'); // the capture saw the stream
    expect(payloads).not.toContain('4111-SECRET');
    expect(payloads).not.toContain('"transcript"');
    expect(bodies.join('\n')).not.toContain('4111-SECRET');
    expect(await page.textContent('body')).not.toContain('4111-SECRET');
    await page.close();
  });
});
