/**
 * Upgrade authentication (AudioHook spec: HTTP Message Signatures): Audiohook-* ids, X-API-KEY and the HTTP
 * message signature, decided before any session or WebSocket state exists. Pure apart from the
 * injected clocks; the HTTP layer turns a failure into a delayed response (see rejection.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { verifySignature, type SignatureFailureReason } from '../audiohook/signature.js';
import { systemClock, type Clock } from '../util/clock.js';
import { ApiKeyRing, type ApiKeyConfig } from './api-keys.js';
import { NonceCache, type NonceStore } from './nonce-cache.js';
import { parseUpgradeHeaders, readIds, type AudiohookIds } from './upgrade-headers.js';

export interface AuthRequest {
  /** Path plus query as received (the request line's target). */
  url: string;
  headers: IncomingHttpHeaders;
}

export type AuthSuccess = {
  ok: true;
  ids: AudiohookIds;
  /** Whether a signature was verified (false: the key has no secret). */
  signed: boolean;
};

export type AuthFailure = {
  ok: false;
  status: 400 | 401 | 431;
  /** Short reason for the response body; never says whether an API key exists. */
  reason: string;
  /** Precise cause for the log (no key, secret or signature values). */
  detail: string;
  /** Whichever ids were valid, for the log line. */
  ids: Partial<AudiohookIds>;
};

export type AuthOutcome = AuthSuccess | AuthFailure;

export interface AuthenticatorOptions {
  keys: readonly ApiKeyConfig[];
  /** Also accept a signature over X-Forwarded-Host (TRUST_PROXY). */
  trustProxy: boolean;
  /** Monotonic clock for the nonce cache. */
  clock?: Clock;
  /** Wall-clock milliseconds since the epoch, for signature times. */
  wallClockMs?: () => number;
  /** Default: an in-memory NonceCache on `clock`. */
  nonceCache?: NonceStore;
}

/** Synchronous with an in-memory cache; a fleet-wide store (REDIS_URL) makes the replay check asynchronous. */
export type Authenticate = (request: AuthRequest) => AuthOutcome | Promise<AuthOutcome>;

const PUBLIC_REASONS: Record<SignatureFailureReason | 'replayed', string> = {
  missing: 'signature required',
  malformed: 'malformed signature',
  incomplete: 'signature does not cover the required components',
  'keyid-mismatch': 'signature keyid does not match X-API-KEY',
  'bad-nonce': 'invalid signature nonce',
  'bad-alg': 'unsupported signature algorithm',
  'no-created': 'signature has no creation time',
  expired: 'signature expired',
  future: 'signature created in the future',
  // An unknown API key ends here too, so the answer does not reveal which keys exist.
  mismatch: 'invalid credentials',
  replayed: 'signature nonce already used',
};

/**
 * Values the client may have signed as `@authority`.
 *
 * By default that is the Host header. Behind a TLS-terminating proxy (DigitalOcean App Platform, ngrok,
 * a load balancer) the Host we see may be the proxy's internal name while Genesys signed the public
 * host, which the proxy forwards as X-Forwarded-Host; other proxies pass the original Host through.
 * With TRUST_PROXY we therefore accept a signature that verifies against either. This does not weaken
 * authentication: forging either value still needs the client secret; @authority only binds the
 * signature to a host, and both candidates name this deployment. Each candidate is also tried in
 * RFC 9421 normalised form (lower case, default port removed).
 */
export function authorityCandidates(host: string | undefined, forwardedHost: string | undefined, trustProxy: boolean): string[] {
  const raw: string[] = [];
  if (host !== undefined && host !== '') raw.push(host);
  if (trustProxy && forwardedHost !== undefined) {
    const first = forwardedHost.split(',')[0]?.trim();
    if (first) raw.push(first);
  }
  const all = raw.flatMap((a) => [a, a.toLowerCase().replace(/:(443|80)$/, '')]);
  return [...new Set(all)];
}

export function createAuthenticator(options: AuthenticatorOptions & { nonceCache?: NonceCache }): (request: AuthRequest) => AuthOutcome;
export function createAuthenticator(options: AuthenticatorOptions): Authenticate;
export function createAuthenticator(options: AuthenticatorOptions): Authenticate {
  const ring = new ApiKeyRing(options.keys);
  const clock = options.clock ?? systemClock;
  const wallClockMs = options.wallClockMs ?? Date.now;
  const nonces: NonceStore = options.nonceCache ?? new NonceCache({ clock });

  return (request) => {
    const parsed = parseUpgradeHeaders(request.headers);
    if (!parsed.ok) {
      return { ok: false, status: parsed.status, reason: parsed.reason, detail: parsed.reason, ids: readIds(request.headers) };
    }
    const h = parsed.headers;
    const ids: AudiohookIds = { organizationId: h.organizationId, sessionId: h.sessionId, correlationId: h.correlationId };
    const unauthorized = (reason: string, detail: string): AuthFailure => ({ ok: false, status: 401, reason, detail, ids });

    if (h.apiKey === undefined || h.apiKey === '') return unauthorized('missing X-API-KEY', 'no X-API-KEY header');
    const matches = ring.match(h.apiKey);

    // A key configured without a secret authenticates on its own (Genesys signs only when a secret is set).
    if (matches.some((m) => m.secret === undefined)) return { ok: true, ids, signed: false };

    // With no secrets configured anywhere, "signature required" would only mislead whoever set the key up.
    if (matches.length === 0 && !ring.anySecret) return unauthorized(PUBLIC_REASONS.mismatch, 'unknown API key');

    // Unknown keys are verified against a random key (secret undefined) so they cost the same work.
    const secrets = matches.length > 0 ? matches.map((m) => m.secret) : [undefined];
    const signedRequest = {
      requestTarget: request.url,
      authorities: authorityCandidates(h.host, h.forwardedHost, options.trustProxy),
      organizationId: h.organizationId,
      sessionId: h.sessionId,
      correlationId: h.correlationId,
      apiKey: h.apiKey,
      signatureInput: h.signatureInput,
      signature: h.signature,
    };
    const nowSeconds = wallClockMs() / 1000;
    const failures: { reason: SignatureFailureReason; detail: string }[] = [];
    for (const key of secrets) {
      const result = verifySignature(signedRequest, { key, nowSeconds });
      if (!result.ok) {
        failures.push(result);
        continue;
      }
      const fresh = nonces.remember(result.nonce);
      const decide = (isFresh: boolean): AuthOutcome =>
        isFresh ? { ok: true, ids, signed: true } : unauthorized(PUBLIC_REASONS.replayed, 'replayed nonce');
      // Only a fleet-wide store answers later (src/fleet/nonce-store.ts); it never rejects (see there).
      return typeof fresh === 'boolean' ? decide(fresh) : fresh.then(decide);
    }
    // Every secret was tried; the first failure explains it (they differ only when the key has two secrets).
    const failure = failures[0] ?? { reason: 'mismatch' as const, detail: 'no key to verify with' };
    const detail = matches.length === 0 ? `unknown API key (${failure.detail})` : `${failure.reason}: ${failure.detail}`;
    return unauthorized(PUBLIC_REASONS[failure.reason], detail);
  };
}
