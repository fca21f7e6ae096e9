/** The console's HTTP surface over real sockets (no browser): access control, headers, bounds, config. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../../src/cli/env.js';
import { createConsoleFromEnv } from '../../src/console/index.js';
import { captureLogs, startApp } from '../server/support.js';
import { callRecord, CallScript, startConsoleApp, TOKEN, type ConsoleApp } from './support.js';

let app: ConsoleApp;
beforeAll(async () => {
  // No compiled front end here: main.js must answer 404 with a hint, not crash.
  app = await startConsoleApp({ assetsDir: '/nonexistent/console-web', transcripts: false });
});
afterAll(async () => {
  app.console.close();
  await app.app.close();
});

const form = (token: string) => ({ method: 'POST', body: `token=${encodeURIComponent(token)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' as const });

async function session(): Promise<string> {
  const res = await fetch(`${app.base}/console/login`, form(TOKEN));
  expect(res.status).toBe(303);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

describe('console routes', () => {
  it('serves the sign-in page with a strict CSP and no inline script or style', async () => {
    const res = await fetch(`${app.base}/console`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('name="token"');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
  });

  it('refuses every data endpoint without a session, and with a forged one', async () => {
    for (const path of ['/console/api/stream', '/console/api/stream?call=x', '/console/api/calls', '/console/api/anything']) {
      expect((await fetch(`${app.base}${path}`)).status, path).toBe(401);
      expect((await fetch(`${app.base}${path}`, { headers: { cookie: `audiohook_console=${'A'.repeat(43)}` } })).status, path).toBe(401);
    }
  });

  it('streams a snapshot with the session, and a watched call', async () => {
    const cookie = await session();
    const c = new CallScript('route-call');
    app.console.listener.onCallEvent(c.started());
    app.console.listener.onCallEvent(c.ev('dtmf', { count: 3 }, 10));
    const res = await fetch(`${app.base}/console/api/stream?call=route-call`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\ndata: ') || !text.endsWith('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const snapshot = JSON.parse(text.split('data: ')[1]!.trim());
    expect(snapshot).toMatchObject({ type: 'snapshot', transcripts: false, live: [{ callId: 'route-call', dtmfEntries: 1 }], watched: { callId: 'route-call', events: [{ kind: 'dtmf', count: 3 }] } });
    expect((await fetch(`${app.base}/console/api/stream?call=${encodeURIComponent('<bad id>')}`, { headers: { cookie } })).status).toBe(400);
    app.console.listener.onCallEvent(c.ev('call.ended', { record: callRecord('route-call') }));
  });

  it('refuses a cross-origin sign-in and an oversized form', async () => {
    const cross = await fetch(`${app.base}/console/login`, { ...form(TOKEN), headers: { ...form(TOKEN).headers, origin: 'https://evil.example' } });
    expect(cross.status).toBe(403);
    expect(cross.headers.get('set-cookie')).toBeNull();
    const big = await fetch(`${app.base}/console/login`, form('x'.repeat(10_000)));
    expect(big.status).toBe(413);
  });

  it('answers wrong methods, unknown paths and asset names that are not plain module names', async () => {
    expect((await fetch(`${app.base}/console/login`)).status).toBe(405);
    expect((await fetch(`${app.base}/console`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${app.base}/console/nope`)).status).toBe(404);
    expect((await fetch(`${app.base}/console/assets/..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${app.base}/console/assets/console.css`)).headers.get('content-type')).toContain('text/css');
    const main = await fetch(`${app.base}/console/assets/main.js`);
    expect(main.status).toBe(404);
    expect(await main.text()).toContain('npm run build');
    // Other routes are untouched.
    expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
  });

  it('signs out: the session no longer opens the stream', async () => {
    const cookie = await session();
    const out = await fetch(`${app.base}/console/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await fetch(`${app.base}/console/api/stream`, { headers: { cookie } })).status).toBe(401);
  });
});

describe('console browser cap', () => {
  it('refuses a stream beyond maxClients with 503 before it starts', async () => {
    const capped = await startConsoleApp({ assetsDir: '/nonexistent', feed: { maxClients: 1 } });
    try {
      const login = await fetch(`${capped.base}/console/login`, form(TOKEN));
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const abort = new AbortController();
      const first = await fetch(`${capped.base}/console/api/stream`, { headers: { cookie }, signal: abort.signal });
      expect(first.status).toBe(200);
      const second = await fetch(`${capped.base}/console/api/stream`, { headers: { cookie } });
      expect(second.status).toBe(503);
      abort.abort();
    } finally {
      capped.console.close();
      await capped.app.close();
    }
  });
});

describe('failed sign-ins', () => {
  it('are answered after the delay, at most maxPendingFailures at once (more get 429 at once), and counted', async () => {
    const guarded = await startConsoleApp({ assetsDir: '/nonexistent', failureDelayMs: 1500, maxPendingFailures: 2 });
    try {
      const t0 = Date.now();
      const attempts = Array.from({ length: 4 }, () =>
        fetch(`${guarded.base}/console/login`, form('wrong-guess-0000000')).then((r) => ({ status: r.status, ms: Date.now() - t0 })),
      );
      const results = (await Promise.all(attempts)).sort((a, b) => a.ms - b.ms);
      expect(results.map((r) => r.status)).toEqual([429, 429, 303, 303]);
      expect(results[0]!.ms).toBeLessThan(1000);
      expect(results[2]!.ms).toBeGreaterThanOrEqual(1400);
      expect(guarded.console.auth.failedLogins).toBe(4);
      expect(guarded.logLines.filter((l) => l.includes('console sign-in failed'))).toHaveLength(4);
      expect(guarded.logLines.join('\n')).not.toContain('wrong-guess');
    } finally {
      guarded.console.close();
      await guarded.app.close();
    }
  });
});

describe('console configuration', () => {
  const base = { GENESYS_API_KEY: 'k', OPENAI_API_KEY: 'sk-test' };

  it('is off without CONSOLE_TOKEN: /console is a plain 404', async () => {
    const env = parseEnv(base);
    expect(env.CONSOLE_TRANSCRIPTS).toBe(false);
    expect(env.CONSOLE_MAX_ENDED_CALLS).toBe(50);
    expect(createConsoleFromEnv(env, { logger: captureLogs().logger })).toBeUndefined();
    const plain = await startApp();
    try {
      expect((await fetch(`${plain.base}/console`)).status).toBe(404);
    } finally {
      await plain.app.close();
    }
  });

  it('names the variable when the token is too short or a value is bad', () => {
    expect(() => parseEnv({ ...base, CONSOLE_TOKEN: 'short' })).toThrow(ConfigError);
    expect(() => parseEnv({ ...base, CONSOLE_TOKEN: 'short' })).toThrow(/CONSOLE_TOKEN must be at least 16 characters/);
    expect(() => parseEnv({ ...base, CONSOLE_TRANSCRIPTS: 'maybe' })).toThrow(/CONSOLE_TRANSCRIPTS must be true or false/);
    expect(() => parseEnv({ ...base, CONSOLE_MAX_ENDED_CALLS: '0' })).toThrow(/CONSOLE_MAX_ENDED_CALLS/);
  });
});
