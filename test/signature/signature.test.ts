import { describe, expect, it } from 'vitest';
import {
  buildSignatureBase,
  computeSignature,
  COVERED_COMPONENTS,
  decodeClientSecret,
  parseSignatureHeaders,
  signRequest,
  verifySignature,
  type SignedRequest,
} from '../../src/audiohook/signature.js';

// The published example request (AudioHook spec: HTTP Message Signatures).
const GOLDEN = {
  secret: 'TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU=',
  signature: 'sig1=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:',
  signatureInput:
    'sig1=("@request-target" "@authority" "audiohook-organization-id" "audiohook-session-id" "audiohook-correlation-id" "x-api-key");keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";alg="hmac-sha256";created=1641013200;expires=3282026430',
  request: {
    requestTarget: '/api/v1/voicebiometrics/ws',
    authorities: ['audiohook.example.com'],
    organizationId: 'd7934305-0972-4844-938e-9060eef73d05',
    sessionId: '30b0e395-84d3-4570-ac13-9a62d8f514c0',
    correlationId: 'e160e428-53e2-487c-977d-96989bf5c99d',
    apiKey: 'SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh',
  },
  created: 1641013200,
};

const goldenRequest = (overrides: Partial<SignedRequest> = {}): SignedRequest => ({
  ...GOLDEN.request,
  signature: GOLDEN.signature,
  signatureInput: GOLDEN.signatureInput,
  ...overrides,
});
const goldenKey = decodeClientSecret(GOLDEN.secret);

describe('golden vector', () => {
  it('decodes the documented secret to its documented bytes', () => {
    expect(goldenKey.toString('utf8')).toBe('MySuperSecretKeyTellNo-1!2@3#4$5');
  });

  it('builds the documented signature base and HMAC', () => {
    const parsed = parseSignatureHeaders(GOLDEN.signatureInput, GOLDEN.signature);
    if (!parsed.ok) throw new Error(parsed.detail);
    const base = buildSignatureBase(
      { ...GOLDEN.request, authority: 'audiohook.example.com' },
      parsed.parsed.components,
      parsed.parsed.signatureParams,
    );
    expect(base).toBe(
      [
        '"@request-target": /api/v1/voicebiometrics/ws',
        '"@authority": audiohook.example.com',
        '"audiohook-organization-id": d7934305-0972-4844-938e-9060eef73d05',
        '"audiohook-session-id": 30b0e395-84d3-4570-ac13-9a62d8f514c0',
        '"audiohook-correlation-id": e160e428-53e2-487c-977d-96989bf5c99d',
        '"x-api-key": SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh',
        '"@signature-params": ("@request-target" "@authority" "audiohook-organization-id" "audiohook-session-id" "audiohook-correlation-id" "x-api-key");keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";alg="hmac-sha256";created=1641013200;expires=3282026430',
      ].join('\n'),
    );
    expect(computeSignature(goldenKey, base).toString('base64')).toBe('NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=');
  });

  it('verifies the published request at its creation time', () => {
    const result = verifySignature(goldenRequest(), { key: goldenKey, nowSeconds: GOLDEN.created });
    expect(result).toEqual({
      ok: true,
      nonce: 'VGhpc0lzQVVuaXF1ZU5vbmNl',
      created: GOLDEN.created,
      expires: 3282026430,
      authority: 'audiohook.example.com',
    });
  });

  it('fails with the session and correlation ids swapped (the old doc error)', () => {
    const result = verifySignature(
      goldenRequest({ sessionId: GOLDEN.request.correlationId, correlationId: GOLDEN.request.sessionId }),
      { key: goldenKey, nowSeconds: GOLDEN.created },
    );
    expect(result).toMatchObject({ ok: false, reason: 'mismatch' });
  });
});

describe('signRequest', () => {
  const base = {
    path: '/audiohook/bot-a?x=1',
    authority: 'connector.example.com',
    organizationId: 'd7934305-0972-4844-938e-9060eef73d05',
    sessionId: '30b0e395-84d3-4570-ac13-9a62d8f514c0',
    correlationId: 'e160e428-53e2-487c-977d-96989bf5c99d',
    apiKey: 'my-api-key',
    clientSecretBase64: Buffer.from('another secret of 32 bytes......').toString('base64'),
  };
  const toRequest = (headers: { signature: string; signatureInput: string }): SignedRequest => ({
    requestTarget: base.path,
    authorities: [base.authority],
    organizationId: base.organizationId,
    sessionId: base.sessionId,
    correlationId: base.correlationId,
    apiKey: base.apiKey,
    ...headers,
  });
  const key = decodeClientSecret(base.clientSecretBase64);

  it('reproduces the golden signature from the golden inputs', () => {
    const headers = signRequest({
      path: GOLDEN.request.requestTarget,
      authority: 'audiohook.example.com',
      organizationId: GOLDEN.request.organizationId,
      sessionId: GOLDEN.request.sessionId,
      correlationId: GOLDEN.request.correlationId,
      apiKey: GOLDEN.request.apiKey,
      clientSecretBase64: GOLDEN.secret,
      nonce: 'VGhpc0lzQVVuaXF1ZU5vbmNl',
      created: 1641013200,
      expires: 3282026430,
    });
    expect(headers).toEqual({ signature: GOLDEN.signature, signatureInput: GOLDEN.signatureInput });
  });

  it('round-trips sign → verify, with an absolute expires and a 24-char random nonce', () => {
    const headers = signRequest({ ...base, created: 2_000_000_000 });
    expect(headers.signatureInput).toMatch(/;created=2000000000;expires=2000000010$/);
    const nonce = /nonce="([^"]+)"/.exec(headers.signatureInput)?.[1];
    expect(nonce).toHaveLength(24);
    const result = verifySignature(toRequest(headers), { key, nowSeconds: 2_000_000_001.5 });
    expect(result).toMatchObject({ ok: true, nonce, created: 2_000_000_000, expires: 2_000_000_010 });
  });

  it('defaults created to the current time', () => {
    const headers = signRequest(base);
    expect(verifySignature(toRequest(headers), { key, nowSeconds: Date.now() / 1000 }).ok).toBe(true);
  });

  it('covers every component: changing any one of them breaks the signature', () => {
    const headers = signRequest({ ...base, created: 100 });
    const changes: Partial<SignedRequest>[] = [
      { requestTarget: '/audiohook/bot-b?x=1' },
      { authorities: ['evil.example.com'] },
      { organizationId: '00000000-0000-0000-0000-000000000001' },
      { sessionId: '00000000-0000-0000-0000-000000000001' },
      { correlationId: '00000000-0000-0000-0000-000000000001' },
    ];
    for (const change of changes) {
      expect(verifySignature({ ...toRequest(headers), ...change }, { key, nowSeconds: 100 })).toMatchObject({
        ok: false,
        reason: 'mismatch',
      });
    }
    expect(verifySignature(toRequest(headers), { key: Buffer.from('wrong key'), nowSeconds: 100 })).toMatchObject({
      reason: 'mismatch',
    });
  });

  it('accepts when any candidate authority matches and reports which', () => {
    const headers = signRequest({ ...base, created: 100 });
    const result = verifySignature(
      { ...toRequest(headers), authorities: ['internal:8080', base.authority] },
      { key, nowSeconds: 100 },
    );
    expect(result).toMatchObject({ ok: true, authority: base.authority });
  });

  it('never verifies an unknown key (random key), even with a correct signature', () => {
    const headers = signRequest({ ...base, created: 100 });
    expect(verifySignature(toRequest(headers), { key: undefined, nowSeconds: 100 })).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
  });
});

describe('verifySignature rejections', () => {
  const now = GOLDEN.created;
  const withInput = (signatureInput: string | undefined, ...rest: [signature?: string | undefined]) =>
    verifySignature(goldenRequest({ signatureInput, signature: rest.length > 0 ? rest[0] : GOLDEN.signature }), {
      key: goldenKey,
      nowSeconds: now,
    });
  const replaceInput = (from: string, to: string) => withInput(GOLDEN.signatureInput.replace(from, to));

  it('missing: neither header', () => {
    expect(withInput(undefined, undefined)).toMatchObject({ ok: false, reason: 'missing' });
  });

  it('malformed: only one of the two headers', () => {
    expect(withInput(undefined)).toMatchObject({ reason: 'malformed' });
    expect(withInput(GOLDEN.signatureInput, undefined)).toMatchObject({ reason: 'malformed' });
  });

  it('malformed: broken structured fields', () => {
    expect(withInput('sig1=("@authority"')).toMatchObject({ reason: 'malformed' });
    expect(withInput(GOLDEN.signatureInput, 'sig1=:not base64!:')).toMatchObject({ reason: 'malformed' });
    expect(withInput(GOLDEN.signatureInput, 'sig1="a string"')).toMatchObject({ reason: 'malformed' });
    expect(withInput(GOLDEN.signatureInput, 'sig2=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:')).toMatchObject({
      reason: 'malformed',
    });
    expect(withInput('sig1="not a list"')).toMatchObject({ reason: 'malformed' });
    expect(withInput(`${GOLDEN.signatureInput}, ${GOLDEN.signatureInput}`)).toMatchObject({ reason: 'malformed' });
  });

  it('malformed: unknown parameter, wrong parameter type, duplicate parameter', () => {
    expect(withInput(`${GOLDEN.signatureInput};tag="x"`)).toMatchObject({ reason: 'malformed' });
    expect(replaceInput('created=1641013200', 'created="1641013200"')).toMatchObject({ reason: 'malformed' });
    expect(replaceInput('keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh"', 'keyid=token')).toMatchObject({ reason: 'malformed' });
    expect(withInput(`${GOLDEN.signatureInput};created=1641013200`)).toMatchObject({ reason: 'malformed' });
  });

  it('malformed: duplicate, unsupported, parameterised or @signature-params components', () => {
    expect(replaceInput('"x-api-key")', '"x-api-key" "x-api-key")')).toMatchObject({ reason: 'malformed' });
    expect(replaceInput('"x-api-key")', '"x-api-key" "@method")')).toMatchObject({ reason: 'malformed' });
    expect(replaceInput('"x-api-key")', '"x-api-key" "@signature-params")')).toMatchObject({ reason: 'malformed' });
    expect(replaceInput('"x-api-key")', '"x-api-key";sf)')).toMatchObject({ reason: 'malformed' });
    expect(replaceInput('"x-api-key")', 'x-api-key)')).toMatchObject({ reason: 'malformed' });
  });

  it('incomplete: a required component is not covered', () => {
    expect(replaceInput(' "x-api-key")', ')')).toMatchObject({ reason: 'incomplete' });
  });

  it('keyid-mismatch: keyid differs from X-API-KEY, or is absent', () => {
    expect(replaceInput('keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh"', 'keyid="other"')).toMatchObject({
      reason: 'keyid-mismatch',
    });
    expect(replaceInput('keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";', '')).toMatchObject({ reason: 'keyid-mismatch' });
  });

  it('bad-nonce: shorter than 22 characters, or absent', () => {
    expect(replaceInput('nonce="VGhpc0lzQVVuaXF1ZU5vbmNl"', 'nonce="abcdefghijklmnopqrstu"')).toMatchObject({
      reason: 'bad-nonce',
    });
    expect(replaceInput('nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";', '')).toMatchObject({ reason: 'bad-nonce' });
  });

  it('bad-alg: any algorithm other than hmac-sha256', () => {
    expect(replaceInput('alg="hmac-sha256"', 'alg="rsa-pss-sha512"')).toMatchObject({ reason: 'bad-alg' });
  });

  it('no-created: the age cannot be bounded', () => {
    expect(replaceInput('created=1641013200;', '')).toMatchObject({ reason: 'no-created' });
  });

  it('applies the 3 s skew and 10 s maximum age at the boundaries', () => {
    const at = (nowSeconds: number) => verifySignature(goldenRequest(), { key: goldenKey, nowSeconds });
    expect(at(now - 3)).toMatchObject({ ok: true });
    expect(at(now - 3.001)).toMatchObject({ ok: false, reason: 'future' });
    expect(at(now + 7)).toMatchObject({ ok: true });
    expect(at(now + 7.001)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('expired: expires not later than now + 3 s', () => {
    const headers = signRequest({
      path: GOLDEN.request.requestTarget,
      authority: 'audiohook.example.com',
      organizationId: GOLDEN.request.organizationId,
      sessionId: GOLDEN.request.sessionId,
      correlationId: GOLDEN.request.correlationId,
      apiKey: GOLDEN.request.apiKey,
      clientSecretBase64: GOLDEN.secret,
      created: 1000,
      expires: 1005,
    });
    const request = goldenRequest(headers);
    expect(verifySignature(request, { key: goldenKey, nowSeconds: 1001.9 })).toMatchObject({ ok: true });
    expect(verifySignature(request, { key: goldenKey, nowSeconds: 1002 })).toMatchObject({ reason: 'expired' });
  });

  it('mismatch: a signature of the wrong length or content', () => {
    expect(withInput(GOLDEN.signatureInput, 'sig1=:AAAA:')).toMatchObject({ reason: 'mismatch' });
    expect(withInput(GOLDEN.signatureInput, 'sig1=:MZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:')).toMatchObject({
      reason: 'mismatch',
    });
  });

  it('lists the covered components in the order Genesys sends them', () => {
    expect(COVERED_COMPONENTS).toEqual([
      '@request-target',
      '@authority',
      'audiohook-organization-id',
      'audiohook-session-id',
      'audiohook-correlation-id',
      'x-api-key',
    ]);
  });
});
