/**
 * The console's HTTP surface under /console (mounted by src/server/http.ts):
 *   GET  /console               the app with a session, else the sign-in page
 *   POST /console/login         token → session cookie (failures slowed, counted, bounded)
 *   POST /console/logout
 *   GET  /console/api/stream    Server-Sent Events (session required); ?call=<id> adds that call's timeline
 *   GET  /console/assets/…      the stylesheet and the compiled front end (web/console)
 * Every response carries a strict Content-Security-Policy and is never cached.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { AUTH_DEFAULTS, type ConsoleAuth } from './auth.js';
import type { ConsoleFeed } from './feed.js';
import { APP_PAGE, CONTENT_SECURITY_POLICY, loginPage, STYLESHEET } from './pages.js';

export const CONSOLE_PREFIX = '/console';
const MAX_LOGIN_BODY = 4096;
const ASSET_NAME = /^[a-z][a-z0-9-]{0,63}\.js$/;
const CALL_ID = /^[A-Za-z0-9._:-]{1,200}$/;

export interface ConsoleRoutesOptions {
  auth: ConsoleAuth;
  feed: ConsoleFeed;
  clock: Clock;
  logger: Logger;
  /** Directory of the compiled front end's modules (main.js and what it imports). */
  assetsDir: string;
  trustProxy: boolean;
  failureDelayMs?: number;
  maxPendingFailures?: number;
  /** A failed sign-in (for the metrics counter). */
  onFailedLogin?: () => void;
}

const SECURITY_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on our own form posts.
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
} as const;

export function createConsoleRoutes(options: ConsoleRoutesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { auth, feed, clock, logger } = options;
  const failureDelayMs = options.failureDelayMs ?? AUTH_DEFAULTS.failureDelayMs;
  const maxPendingFailures = options.maxPendingFailures ?? AUTH_DEFAULTS.maxPendingFailures;
  let pendingFailures = 0;
  const assets = new Map<string, Buffer>();

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, ...extra });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  const text = (res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}) =>
    send(res, status, 'text/plain; charset=utf-8', `${message}\n`, extra);
  const redirect = (res: ServerResponse, location: string, extra: Record<string, string> = {}) => {
    res.writeHead(303, { ...SECURITY_HEADERS, Location: location, ...extra });
    res.end();
  };

  /** A POST from another site's page is refused (SameSite=Strict already keeps the cookie away; this is belt and braces). */
  const sameOrigin = (req: IncomingMessage) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return false;
    }
    const forwarded = req.headers['x-forwarded-host'];
    return host === req.headers.host || (options.trustProxy && typeof forwarded === 'string' && host === forwarded.split(',')[0]!.trim());
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string | undefined>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_LOGIN_BODY) {
          // Stop reading; the 413 goes out with Connection: close and the socket ends after it.
          req.pause();
          resolve(undefined);
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', () => resolve(undefined));
    });

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = clock.now();
    if (!sameOrigin(req)) return text(res, 403, '403 Forbidden: cross-origin sign-in');
    const declared = Number(req.headers['content-length'] ?? 0);
    const body = declared > MAX_LOGIN_BODY ? undefined : await readBody(req);
    if (body === undefined) return text(res, 413, '413 Payload Too Large: the sign-in form is at most 4 KiB', { Connection: 'close' });
    const token = new URLSearchParams(body).get('token') ?? '';
    const session = auth.login(token);
    if (session !== undefined) {
      logger.info({ component: 'console' }, 'console sign-in');
      return redirect(res, '/console', { 'Set-Cookie': auth.sessionCookie(session, req) });
    }
    options.onFailedLogin?.();
    logger.warn({ component: 'console', failedLogins: auth.failedLogins }, 'console sign-in failed');
    if (pendingFailures >= maxPendingFailures) {
      return text(res, 429, '429 Too Many Requests: too many failed sign-ins; try again later', { 'Retry-After': '5' });
    }
    pendingFailures++;
    clock.setTimeout(() => {
      pendingFailures--;
      if (!res.destroyed) redirect(res, '/console?failed=1');
    }, Math.max(0, startedAt + failureDelayMs - clock.now()));
  }

  function stream(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const call = query.get('call') ?? undefined;
    if (call !== undefined && !CALL_ID.test(call)) return text(res, 400, '400 Bad Request: call must be a call id');
    // Refused before the stream starts: EventSource gives up on a non-200 instead of retrying in a loop.
    if (feed.full) return text(res, 503, '503 Service Unavailable: too many console browsers open', { 'Retry-After': '30' });
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'X-Accel-Buffering': 'no',
    });
    // EventSource retries after this long when the stream drops (a slow browser we disconnected, a restart).
    res.write('retry: 2000\n\n');
    const client = feed.add(res, call);
    if (client === undefined) return void res.end();
    req.socket.setNoDelay(true);
    res.on('close', () => feed.remove(client));
  }

  async function asset(res: ServerResponse, name: string): Promise<void> {
    if (name === 'console.css') return send(res, 200, 'text/css; charset=utf-8', STYLESHEET);
    if (!ASSET_NAME.test(name)) return text(res, 404, '404 Not Found');
    let body = assets.get(name);
    if (body === undefined) {
      try {
        body = await readFile(join(options.assetsDir, name));
      } catch {
        return text(res, 404, name === 'main.js' ? '404 Not Found: the console front end is not built (npm run build)' : '404 Not Found');
      }
      assets.set(name, body);
    }
    send(res, 200, 'text/javascript; charset=utf-8', body);
  }

  function route(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): void {
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';
    const notAllowed = (allow: string) => text(res, 405, '405 Method Not Allowed', { Allow: allow });
    const fail = (err: unknown) => {
      logger.error({ err, component: 'console' }, 'console request failed');
      if (!res.headersSent) text(res, 500, '500 Internal Server Error');
      else res.destroy();
    };

    if (path === CONSOLE_PREFIX || path === `${CONSOLE_PREFIX}/`) {
      if (!read) return notAllowed('GET, HEAD');
      return send(res, 200, 'text/html; charset=utf-8', auth.authorized(req) ? APP_PAGE : loginPage(query.has('failed')));
    }
    if (path === `${CONSOLE_PREFIX}/login`) {
      if (method !== 'POST') return notAllowed('POST');
      return void login(req, res).catch(fail);
    }
    if (path === `${CONSOLE_PREFIX}/logout`) {
      if (method !== 'POST') return notAllowed('POST');
      if (!sameOrigin(req)) return text(res, 403, '403 Forbidden: cross-origin sign-out');
      auth.logout(req);
      return redirect(res, '/console', { 'Set-Cookie': auth.clearCookie(req) });
    }
    if (path.startsWith(`${CONSOLE_PREFIX}/assets/`)) {
      if (!read) return notAllowed('GET, HEAD');
      return void asset(res, path.slice(`${CONSOLE_PREFIX}/assets/`.length)).catch(fail);
    }
    if (path.startsWith(`${CONSOLE_PREFIX}/api/`)) {
      // Every data endpoint: the session first, before anything else is looked at.
      if (!auth.authorized(req)) return text(res, 401, '401 Unauthorized: sign in at /console');
      if (path === `${CONSOLE_PREFIX}/api/stream`) {
        if (method !== 'GET') return notAllowed('GET');
        return stream(req, res, query);
      }
    }
    text(res, 404, '404 Not Found');
  }

  /** Answers a request under /console and returns true; any other path is left alone (false). */
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const path = url.pathname;
    if (path !== CONSOLE_PREFIX && !path.startsWith(`${CONSOLE_PREFIX}/`)) return false;
    route(req, res, path, url.searchParams);
    return true;
  };
}
