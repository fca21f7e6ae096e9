/**
 * Console access: one shared token (CONSOLE_TOKEN), exchanged once for a session cookie.
 * - the token is compared in constant time (SHA-256 digests of equal length, timingSafeEqual);
 * - sessions are random 256-bit ids held in memory (bounded, expiring); the cookie is HttpOnly and
 *   SameSite=Strict, Secure when the request came over TLS (directly or, with TRUST_PROXY, via the proxy);
 * - a failed login is answered no earlier than `failureDelayMs` after it arrived, and at most
 *   `maxPendingFailures` such answers wait at once (more get 429 at once): guessing is slow and bounded.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
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
  maxSessions?: number;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export class ConsoleAuth {
  private readonly expected: Buffer;
  /** Session id → monotonic expiry; insertion order = age, for eviction. */
  private readonly sessions = new Map<string, number>();
  private readonly ttl: number;
  private readonly maxSessions: number;
  failedLogins = 0;

  constructor(private readonly options: ConsoleAuthOptions) {
    this.expected = digest(options.token);
    this.ttl = options.sessionTtlMs ?? AUTH_DEFAULTS.sessionTtlMs;
    this.maxSessions = options.maxSessions ?? AUTH_DEFAULTS.maxSessions;
  }

  tokenMatches(given: string): boolean {
    return timingSafeEqual(digest(given), this.expected);
  }

  /** A new session id for a correct token; undefined (and counted) otherwise. */
  login(given: string): string | undefined {
    if (!this.tokenMatches(given)) {
      this.failedLogins++;
      return undefined;
    }
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, this.options.clock.now() + this.ttl);
    return id;
  }

  logout(req: IncomingMessage): void {
    const id = sessionIdOf(req);
    if (id !== undefined) this.sessions.delete(id);
  }

  /** Whether the request carries a live session cookie. */
  authorized(req: IncomingMessage): boolean {
    const id = sessionIdOf(req);
    if (id === undefined) return false;
    const expiry = this.sessions.get(id);
    if (expiry === undefined) return false;
    if (this.options.clock.now() >= expiry) {
      this.sessions.delete(id);
      return false;
    }
    return true;
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
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}
