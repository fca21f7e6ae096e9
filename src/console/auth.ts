/**
 * Console access: one shared token (CONSOLE_TOKEN), exchanged once for a session cookie.
 * - the token is compared in constant time (SHA-256 digests of equal length, timingSafeEqual);
 * - a session is a signed cookie, `<expiry>.<random id>.<HMAC>` keyed from the token, so every worker of an
 *   instance (and every instance sharing the token) accepts it: a browser's next request may reach another
 *   process. Signing out revokes the session on the process that served it (a bounded set until expiry) and
 *   clears the cookie; rotate CONSOLE_TOKEN to end every session at once. The cookie is HttpOnly and
 *   SameSite=Strict, Secure when the request came over TLS (directly or, with TRUST_PROXY, via the proxy);
 * - a failed login is answered no earlier than `failureDelayMs` after it arrived, and at most
 *   `maxPendingFailures` such answers wait at once (more get 429 at once): guessing is slow and bounded.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../util/clock.js';

export const COOKIE_NAME = 'audiohook_console';
export const AUTH_DEFAULTS = {
  sessionTtlMs: 12 * 3600_000,
  maxSessions: 1000,
  failureDelayMs: 1000,
  maxPendingFailures: 32,
} as const;

export interface ConsoleAuthOptions {
  token: string;
  clock: Clock;
  trustProxy: boolean;
  sessionTtlMs?: number;
  /** Bound on sessions revoked by signing out (kept until they expire). */
  maxSessions?: number;
  /** Wall-clock epoch ms: expiries must mean the same in every process. Default Date.now. */
  wallClock?: () => number;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export class ConsoleAuth {
  private readonly expected: Buffer;
  private readonly signingKey: Buffer;
  /** Signed-out session ids → expiry; insertion order = age, for eviction. */
  private readonly revoked = new Map<string, number>();
  private readonly ttl: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  failedLogins = 0;

  constructor(private readonly options: ConsoleAuthOptions) {
    this.expected = digest(options.token);
    this.signingKey = createHmac('sha256', options.token).update('audiohook-realtime console session v1').digest();
    this.ttl = options.sessionTtlMs ?? AUTH_DEFAULTS.sessionTtlMs;
    this.maxSessions = options.maxSessions ?? AUTH_DEFAULTS.maxSessions;
    this.now = options.wallClock ?? Date.now;
  }

  tokenMatches(given: string): boolean {
    return timingSafeEqual(digest(given), this.expected);
  }

  /** A new session (the cookie's value) for a correct token; undefined (and counted) otherwise. */
  login(given: string): string | undefined {
    if (!this.tokenMatches(given)) {
      this.failedLogins++;
      return undefined;
    }
    const body = `${Math.floor(this.now() + this.ttl).toString(36)}.${randomBytes(24).toString('base64url')}`;
    return `${body}.${this.mac(body)}`;
  }

  logout(req: IncomingMessage): void {
    const session = this.verified(req);
    if (session === undefined) return;
    while (this.revoked.size >= this.maxSessions) this.revoked.delete(this.revoked.keys().next().value as string);
    this.revoked.set(session.id, session.expiry);
  }

  /** Whether the request carries a valid, unexpired, not signed-out session cookie. */
  authorized(req: IncomingMessage): boolean {
    const session = this.verified(req);
    return session !== undefined && !this.revoked.has(session.id);
  }

  private verified(req: IncomingMessage): { id: string; expiry: number } | undefined {
    const value = sessionIdOf(req);
    if (value === undefined) return undefined;
    const [expiry36, id, mac] = value.split('.') as [string, string, string];
    const expected = Buffer.from(this.mac(`${expiry36}.${id}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const expiry = parseInt(expiry36, 36);
    if (!(this.now() < expiry)) {
      this.revoked.delete(id);
      return undefined;
    }
    return { id, expiry };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.signingKey).update(body).digest('base64url');
  }

  /** Whether the browser reached us over TLS (Secure cookies only then, or they would never come back). */
  secure(req: IncomingMessage): boolean {
    if ((req.socket as { encrypted?: boolean }).encrypted) return true;
    if (!this.options.trustProxy) return false;
    const proto = req.headers['x-forwarded-proto'];
    return typeof proto === 'string' && proto.split(',')[0]!.trim().toLowerCase() === 'https';
  }

  sessionCookie(id: string, req: IncomingMessage): string {
    return `${COOKIE_NAME}=${id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(this.ttl / 1000)}${this.secure(req) ? '; Secure' : ''}`;
  }

  clearCookie(req: IncomingMessage): string {
    return `${COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0${this.secure(req) ? '; Secure' : ''}`;
  }
}

function sessionIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE_NAME) {
      const value = part.slice(eq + 1).trim();
      return /^[0-9a-z]{1,12}\.[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}
