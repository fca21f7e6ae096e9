import { describe, expect, it } from 'vitest';
import { signRequest } from '../../src/audiohook/signature.js';
import type { ApiKeyConfig } from '../../src/server/api-keys.js';
import { authorityCandidates, createAuthenticator, type AuthRequest } from '../../src/server/auth.js';
import { ManualClock } from '../../src/util/clock.js';

const SECRET_1 = Buffer.from('first secret, thirty-two bytes!!').toString('base64');
const SECRET_2 = Buffer.from('second secret, also 32 bytes....').toString('base64');
const NOW_MS = 1_800_000_000_000;
const NOW_S = NOW_MS / 1000;
const ids = {
  organizationId: 'd7934305-0972-4844-938e-9060eef73d05',
  sessionId: '30b0e395-84d3-4570-ac13-9a62d8f514c0',
  correlationId: 'e160e428-53e2-487c-977d-96989bf5c99d',
};
const HOST = 'connector.example.com';
const PATH = '/audiohook/bot-a';

function request(options: {
  apiKey?: string;
  secret?: string;
  path?: string;
  signedAuthority?: string;
  host?: string;
  forwardedHost?: string;
  nonce?: string;
  created?: number;
  expires?: number;
  headers?: Record<string, string>;
}): AuthRequest {
  const apiKey = options.apiKey ?? 'key-1';
  const path = options.path ?? PATH;
  const headers: Record<string, string> = {
    host: options.host ?? HOST,
    'audiohook-organization-id': ids.organizationId,
    'audiohook-session-id': ids.sessionId,
    'audiohook-correlation-id': ids.correlationId,
    'x-api-key': apiKey,
  };
  if (options.forwardedHost !== undefined) headers['x-forwarded-host'] = options.forwardedHost;
  if (options.secret !== undefined) {
    const signed = signRequest({
      path,
      authority: options.signedAuthority ?? HOST,
      ...ids,
      apiKey,
      clientSecretBase64: options.secret,
      nonce: options.nonce ?? 'bm9uY2Utbm9uY2Utbm9uY2Ut',
      created: options.created ?? NOW_S,
      expires: options.expires,
    });
    headers.signature = signed.signature;
    headers['signature-input'] = signed.signatureInput;
  }
  return { url: path, headers: { ...headers, ...options.headers } };
}

function setup(keys: ApiKeyConfig[] = [{ apiKey: 'key-1', secretBase64: SECRET_1 }], trustProxy = true) {
  const clock = new ManualClock();
  const authenticate = createAuthenticator({ keys, trustProxy, clock, wallClockMs: () => NOW_MS + clock.now() });
  return { clock, authenticate };
}

describe('createAuthenticator', () => {
  it('accepts a correctly signed request and returns the ids', () => {
    const { authenticate } = setup();
    expect(authenticate(request({ secret: SECRET_1 }))).toEqual({ ok: true, ids, signed: true });
  });

  it.each([
    ['wrong API key', { apiKey: 'key-x', secret: SECRET_1 }, 'invalid credentials'],
    ['wrong secret', { secret: SECRET_2 }, 'invalid credentials'],
    ['missing signature when the key has a secret', {}, 'signature required'],
    ['expired signature', { secret: SECRET_1, created: NOW_S - 11 }, 'signature expired'],
    ['future-dated signature', { secret: SECRET_1, created: NOW_S + 4 }, 'signature created in the future'],
    ['short nonce', { secret: SECRET_1, nonce: 'short-nonce' }, 'invalid signature nonce'],
    ['signature for another host', { secret: SECRET_1, signedAuthority: 'evil.example.com' }, 'invalid credentials'],
  ])('rejects %s with 401', (_name, options, reason) => {
    const { authenticate } = setup();
    expect(authenticate(request(options))).toMatchObject({ ok: false, status: 401, reason, ids });
  });

  it('rejects a signature made for another path (the request target is covered)', () => {
    const { authenticate } = setup();
    const signedForOtherPath = request({ secret: SECRET_1, path: '/audiohook/bot-b' });
    expect(authenticate({ ...signedForOtherPath, url: PATH })).toMatchObject({ status: 401, reason: 'invalid credentials' });
  });

  it('rejects a missing X-API-KEY', () => {
    const { authenticate } = setup();
    const req = request({ secret: SECRET_1 });
    delete req.headers['x-api-key'];
    expect(authenticate(req)).toMatchObject({ ok: false, status: 401, reason: 'missing X-API-KEY' });
  });

  it('answers an unknown key exactly as a bad signature, but logs the difference', () => {
    const { authenticate } = setup();
    const unknown = authenticate(request({ apiKey: 'key-x', secret: SECRET_1 }));
    const badSig = authenticate(request({ secret: SECRET_2, nonce: 'YW5vdGhlci1ub25jZS12YWx1ZQ' }));
    expect(unknown.ok || badSig.ok).toBe(false);
    if (unknown.ok || badSig.ok) return;
    expect(unknown.reason).toBe(badSig.reason);
    expect(unknown.detail).toMatch(/unknown API key/);
    expect(badSig.detail).toMatch(/^mismatch/);
    // Unsigned: unknown key and a key with a secret get the same answer too.
    expect(authenticate(request({ apiKey: 'key-x' }))).toMatchObject({ reason: 'signature required' });
  });

  it('rejects a replayed nonce, and accepts it again once the cache has forgotten it and the clock allows', () => {
    const { authenticate, clock } = setup();
    expect(authenticate(request({ secret: SECRET_1 })).ok).toBe(true);
    expect(authenticate(request({ secret: SECRET_1 }))).toMatchObject({
      ok: false,
      status: 401,
      reason: 'signature nonce already used',
    });
    // A different nonce is fine.
    expect(authenticate(request({ secret: SECRET_1, nonce: 'YW5vdGhlci1ub25jZS12YWx1ZQ' })).ok).toBe(true);
    // After the 15 s TTL the original request would be stale anyway: it is expired, not replayed.
    clock.advance(15_001);
    expect(authenticate(request({ secret: SECRET_1 }))).toMatchObject({ reason: 'signature expired' });
  });

  it('does not burn a nonce on a failed verification', () => {
    const { authenticate } = setup();
    expect(authenticate(request({ secret: SECRET_2 })).ok).toBe(false);
    expect(authenticate(request({ secret: SECRET_1 })).ok).toBe(true);
  });

  it('supports key rotation: both configured pairs are valid', () => {
    const { authenticate } = setup([
      { apiKey: 'key-1', secretBase64: SECRET_1 },
      { apiKey: 'key-2', secretBase64: SECRET_2 },
    ]);
    expect(authenticate(request({ apiKey: 'key-1', secret: SECRET_1 })).ok).toBe(true);
    expect(authenticate(request({ apiKey: 'key-2', secret: SECRET_2, nonce: 'a2V5LTItbm9uY2UtdmFsdWU' })).ok).toBe(true);
    // Pairs are not interchangeable.
    expect(authenticate(request({ apiKey: 'key-2', secret: SECRET_1, nonce: 'Y3Jvc3NlZC1wYWlyLW5vbmNl' })).ok).toBe(false);
  });

  it('supports rotating only the secret of one API key', () => {
    const { authenticate } = setup([
      { apiKey: 'key-1', secretBase64: SECRET_1 },
      { apiKey: 'key-1', secretBase64: SECRET_2 },
    ]);
    expect(authenticate(request({ secret: SECRET_1 })).ok).toBe(true);
    expect(authenticate(request({ secret: SECRET_2, nonce: 'c2Vjb25kLXNlY3JldC1ub25jZQ' })).ok).toBe(true);
  });

  it('allows unsigned requests only for a key without a secret', () => {
    const { authenticate } = setup([
      { apiKey: 'open-key' },
      { apiKey: 'key-1', secretBase64: SECRET_1 },
    ]);
    expect(authenticate(request({ apiKey: 'open-key' }))).toEqual({ ok: true, ids, signed: false });
    expect(authenticate(request({ apiKey: 'key-1' }))).toMatchObject({ ok: false, reason: 'signature required' });
  });

  it('answers an unknown key with "invalid credentials" when no key has a secret', () => {
    const { authenticate } = setup([{ apiKey: 'open-key' }]);
    expect(authenticate(request({ apiKey: 'key-x' }))).toMatchObject({ status: 401, reason: 'invalid credentials' });
    expect(authenticate(request({ apiKey: 'key-x', secret: SECRET_1 }))).toMatchObject({ reason: 'invalid credentials' });
  });

  describe('@authority behind a proxy', () => {
    it('verifies against X-Forwarded-Host when the proxy rewrote Host', () => {
      const { authenticate } = setup();
      const req = request({ secret: SECRET_1, host: 'internal-10-0-0-1:8080', forwardedHost: `${HOST}, other` });
      expect(authenticate(req).ok).toBe(true);
    });

    it('still verifies against Host when the proxy passed it through', () => {
      const { authenticate } = setup();
      expect(authenticate(request({ secret: SECRET_1, forwardedHost: 'something-else' })).ok).toBe(true);
    });

    it('ignores X-Forwarded-Host when TRUST_PROXY is false', () => {
      const { authenticate } = setup(undefined, false);
      const req = request({ secret: SECRET_1, host: 'internal:8080', forwardedHost: HOST });
      expect(authenticate(req)).toMatchObject({ ok: false, reason: 'invalid credentials' });
    });

    it('lists the candidates, normalised as RFC 9421 does', () => {
      expect(authorityCandidates('Example.COM:443', ' public.example.com , x', true)).toEqual([
        'Example.COM:443',
        'example.com',
        'public.example.com',
      ]);
      expect(authorityCandidates('a.example', 'b.example', false)).toEqual(['a.example']);
    });
  });

  describe('header checks', () => {
    it.each([
      ['audiohook-session-id', 'not-a-uuid', /audiohook-session-id header is not a UUID/],
      ['audiohook-organization-id', '', /audiohook-organization-id header is not a UUID/],
      ['audiohook-correlation-id', `${ids.correlationId}, ${ids.correlationId}`, /audiohook-correlation-id header is not a UUID/],
    ])('rejects a bad %s with 400', (name, value, reason) => {
      const { authenticate } = setup();
      expect(authenticate(request({ secret: SECRET_1, headers: { [name]: value } }))).toMatchObject({
        ok: false,
        status: 400,
        reason: expect.stringMatching(reason),
      });
    });

    it('rejects a missing id header with 400', () => {
      const { authenticate } = setup();
      const req = request({ secret: SECRET_1 });
      delete req.headers['audiohook-session-id'];
      expect(authenticate(req)).toMatchObject({ status: 400, reason: 'audiohook-session-id header is missing' });
    });

    it('rejects oversized header values with 431 before parsing them', () => {
      const { authenticate } = setup();
      expect(authenticate(request({ secret: SECRET_1, headers: { 'x-api-key': 'k'.repeat(513) } }))).toMatchObject({
        status: 431,
        reason: 'x-api-key header too large',
      });
      expect(authenticate(request({ secret: SECRET_1, headers: { 'signature-input': 's'.repeat(2049) } }))).toMatchObject({
        status: 431,
      });
    });
  });
});
