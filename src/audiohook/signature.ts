/**
 * AudioHook HTTP Message Signatures (AudioHook spec: HTTP Message Signatures): signature base, signing (for our Genesys
 * client simulator) and verification with the reference implementation's policy. Pure: no I/O, the
 * current time comes in as a parameter.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseDictionary, serializeString, StructuredFieldError, type InnerList } from './structured-fields.js';

export const SIGNATURE_LABEL = 'sig1';
export const SIGNATURE_ALGORITHM = 'hmac-sha256';

/** The components Genesys signs, in the order it lists them. All six must be covered. */
export const COVERED_COMPONENTS = [
  '@request-target',
  '@authority',
  'audiohook-organization-id',
  'audiohook-session-id',
  'audiohook-correlation-id',
  'x-api-key',
] as const;
export type CoveredComponent = (typeof COVERED_COMPONENTS)[number];

/** Allowed clock skew between Genesys and us, seconds (RI policy). */
export const MAX_CLOCK_SKEW_SECONDS = 3;
/** Maximum signature age, seconds (RI policy): `created + 10 < now + 3` is expired. */
export const MAX_SIGNATURE_AGE_SECONDS = 10;
/** The RI client sends 18 random bytes as base64 (24 chars); the RI server requires at least 22. */
export const MIN_NONCE_LENGTH = 22;
/** Default lifetime of signatures made by signRequest, seconds. */
export const DEFAULT_SIGNATURE_LIFETIME_SECONDS = 10;

/** The values the six covered components take for one request. */
export interface SignatureComponents {
  /** Path plus query exactly as sent (the request line's target). */
  requestTarget: string;
  authority: string;
  organizationId: string;
  sessionId: string;
  correlationId: string;
  apiKey: string;
}

function componentValue(components: SignatureComponents, name: CoveredComponent): string {
  switch (name) {
    case '@request-target':
      return components.requestTarget;
    case '@authority':
      return components.authority;
    case 'audiohook-organization-id':
      return components.organizationId;
    case 'audiohook-session-id':
      return components.sessionId;
    case 'audiohook-correlation-id':
      return components.correlationId;
    case 'x-api-key':
      return components.apiKey;
  }
}

/**
 * The signature base: one `"<name>": <value>` line per component in the listed order, then
 * `"@signature-params": <signature params>`, joined with \n and no trailing newline.
 */
export function buildSignatureBase(
  components: SignatureComponents,
  order: readonly CoveredComponent[],
  signatureParams: string,
): string {
  const lines = order.map((name) => `"${name}": ${componentValue(components, name)}`);
  lines.push(`"@signature-params": ${signatureParams}`);
  return lines.join('\n');
}

export function computeSignature(key: Uint8Array, signatureBase: string): Buffer {
  return createHmac('sha256', key).update(signatureBase, 'utf8').digest();
}

/** Decodes a client secret as Genesys shows it (base64); the HMAC key is the decoded bytes. */
export function decodeClientSecret(clientSecretBase64: string): Buffer {
  const key = Buffer.from(clientSecretBase64, 'base64');
  if (key.length === 0) throw new Error('client secret must be non-empty base64');
  return key;
}

// ---------------------------------------------------------------- signing

export interface SignRequestOptions {
  /** Path plus query, e.g. `/audiohook/my-bot`. */
  path: string;
  /** Host (and port, if not default) the request goes to. */
  authority: string;
  organizationId: string;
  sessionId: string;
  correlationId: string;
  apiKey: string;
  clientSecretBase64: string;
  /** Default: 18 random bytes as base64, like the Genesys client. */
  nonce?: string;
  /** Unix seconds. Default: now. */
  created?: number;
  /** Unix seconds (absolute, NOT a lifetime). Default: created + 10. */
  expires?: number;
}

export interface SignedHeaders {
  signature: string;
  signatureInput: string;
}

/**
 * Signs an upgrade request the way Genesys does. Unlike the RI SignatureBuilder, `expires` is an absolute
 * time (created + lifetime), as RFC 9421 defines it.
 */
export function signRequest(options: SignRequestOptions): SignedHeaders {
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const expires = options.expires ?? created + DEFAULT_SIGNATURE_LIFETIME_SECONDS;
  const nonce = options.nonce ?? randomBytes(18).toString('base64');
  const memberValue =
    `(${COVERED_COMPONENTS.map((c) => `"${c}"`).join(' ')})` +
    `;keyid=${serializeString(options.apiKey)}` +
    `;nonce=${serializeString(nonce)}` +
    `;alg=${serializeString(SIGNATURE_ALGORITHM)}` +
    `;created=${created};expires=${expires}`;
  const base = buildSignatureBase(
    {
      requestTarget: options.path,
      authority: options.authority,
      organizationId: options.organizationId,
      sessionId: options.sessionId,
      correlationId: options.correlationId,
      apiKey: options.apiKey,
    },
    COVERED_COMPONENTS,
    memberValue,
  );
  const mac = computeSignature(decodeClientSecret(options.clientSecretBase64), base);
  return {
    signature: `${SIGNATURE_LABEL}=:${mac.toString('base64')}:`,
    signatureInput: `${SIGNATURE_LABEL}=${memberValue}`,
  };
}

// ---------------------------------------------------------------- parsing

export interface ParsedSignature {
  label: string;
  components: CoveredComponent[];
  keyid: string | undefined;
  nonce: string | undefined;
  alg: string | undefined;
  created: number | undefined;
  expires: number | undefined;
  /** The Signature-Input member exactly as received: the `@signature-params` value. */
  signatureParams: string;
  signature: Buffer;
}

export type SignatureFailureReason =
  /** Neither Signature nor Signature-Input is present. */
  | 'missing'
  /** Unparseable or disallowed: bad RFC 8941, unknown parameter, bad parameter type, unsupported or
   * duplicate component, `@signature-params` as a component, no signature for the label. */
  | 'malformed'
  /** Not all six components are covered. */
  | 'incomplete'
  | 'keyid-mismatch'
  | 'bad-nonce'
  | 'bad-alg'
  | 'no-created'
  | 'expired'
  | 'future'
  | 'mismatch';

export type ParseResult =
  | { ok: true; parsed: ParsedSignature }
  | { ok: false; reason: 'missing' | 'malformed' | 'incomplete'; detail: string };

const KNOWN_COMPONENTS = new Set<string>(COVERED_COMPONENTS);

/**
 * Parses Signature-Input and Signature strictly. The first Signature-Input member is the one verified;
 * Genesys sends exactly one (`sig1`).
 */
export function parseSignatureHeaders(signatureInput: string | undefined, signature: string | undefined): ParseResult {
  const malformed = (detail: string): ParseResult => ({ ok: false, reason: 'malformed', detail });
  if (signatureInput === undefined && signature === undefined) {
    return { ok: false, reason: 'missing', detail: 'no Signature and Signature-Input headers' };
  }
  if (signatureInput === undefined) return malformed('Signature without Signature-Input');
  if (signature === undefined) return malformed('Signature-Input without Signature');

  let inputs;
  let signatures;
  try {
    inputs = parseDictionary(signatureInput);
    signatures = parseDictionary(signature);
  } catch (e) {
    if (e instanceof StructuredFieldError) return malformed(`not a structured-field dictionary: ${e.message}`);
    throw e;
  }

  const first = inputs.entries().next();
  if (first.done) return malformed('empty Signature-Input');
  const [label, input] = first.value;
  if (input.member.kind !== 'inner-list') return malformed('Signature-Input member is not an inner list');
  const sigMember = signatures.get(label)?.member;
  if (!sigMember) return malformed(`no Signature for label ${label}`);
  if (sigMember.kind !== 'item' || sigMember.value.type !== 'bytes' || sigMember.params.size > 0) {
    return malformed('Signature member is not a byte sequence');
  }

  const components = parseComponents(input.member);
  if (typeof components === 'string') return malformed(components);
  const missing = COVERED_COMPONENTS.filter((c) => !components.includes(c));
  if (missing.length > 0) return { ok: false, reason: 'incomplete', detail: `not covered: ${missing.join(', ')}` };

  const parsed: ParsedSignature = {
    label,
    components,
    keyid: undefined,
    nonce: undefined,
    alg: undefined,
    created: undefined,
    expires: undefined,
    signatureParams: input.raw,
    signature: sigMember.value.value,
  };
  for (const [key, value] of input.member.params) {
    switch (key) {
      case 'keyid':
      case 'nonce':
      case 'alg':
        if (value.type !== 'string') return malformed(`parameter ${key} must be a string`);
        parsed[key] = value.value;
        break;
      case 'created':
      case 'expires':
        if (value.type !== 'integer' || value.value < 0) return malformed(`parameter ${key} must be a non-negative integer`);
        parsed[key] = value.value;
        break;
      default:
        return malformed(`unknown parameter ${key}`);
    }
  }
  return { ok: true, parsed };
}

function parseComponents(list: InnerList): CoveredComponent[] | string {
  const components: CoveredComponent[] = [];
  for (const item of list.items) {
    if (item.value.type !== 'string') return 'components must be strings';
    const name = item.value.value;
    // Component parameters (sf, key, bs, req, name) change the component's meaning; Genesys uses none.
    if (item.params.size > 0) return `component ${name} has parameters`;
    if (name === '@signature-params') return '@signature-params must not be a covered component';
    if (!KNOWN_COMPONENTS.has(name)) return `unsupported component ${name}`;
    if (components.includes(name as CoveredComponent)) return `duplicate component ${name}`;
    components.push(name as CoveredComponent);
  }
  return components;
}

// ---------------------------------------------------------------- verification

export interface SignedRequest {
  requestTarget: string;
  /**
   * Candidate values for `@authority`. The signature is accepted if it verifies with any of them
   * (the server passes Host and, behind a trusted proxy, X-Forwarded-Host).
   */
  authorities: readonly string[];
  organizationId: string;
  sessionId: string;
  correlationId: string;
  /** The X-API-KEY header. */
  apiKey: string;
  signatureInput: string | undefined;
  signature: string | undefined;
}

export interface VerifyOptions {
  /**
   * The HMAC key (the decoded client secret) of the key the request names, or undefined when the API key
   * is unknown: then a random key is used so the work (and timing) is the same and verification fails.
   */
  key: Uint8Array | undefined;
  /** Current Unix time in seconds (may be fractional). */
  nowSeconds: number;
}

export type SignatureVerification =
  | { ok: true; nonce: string; created: number; expires: number | undefined; authority: string }
  | { ok: false; reason: SignatureFailureReason; detail: string };

/**
 * Verifies an upgrade request's signature with the RI policy (AudioHook spec: HTTP Message Signatures): all six components,
 * keyid == X-API-KEY, nonce ≥ 22 chars, alg hmac-sha256 (absent means hmac-sha256, as in the RI),
 * `created` required and at most 3 s ahead, maximum age 10 s, `expires` (optional, as in the RI) later
 * than now + 3 s, constant-time comparison.
 */
export function verifySignature(request: SignedRequest, options: VerifyOptions): SignatureVerification {
  const parsedResult = parseSignatureHeaders(request.signatureInput, request.signature);
  if (!parsedResult.ok) return parsedResult;
  const sig = parsedResult.parsed;
  const fail = (reason: SignatureFailureReason, detail: string): SignatureVerification => ({ ok: false, reason, detail });

  if (sig.keyid !== request.apiKey) return fail('keyid-mismatch', 'keyid does not equal X-API-KEY');
  if (sig.nonce === undefined || sig.nonce.length < MIN_NONCE_LENGTH) {
    return fail('bad-nonce', `nonce must have at least ${MIN_NONCE_LENGTH} characters`);
  }
  if (sig.alg !== undefined && sig.alg !== SIGNATURE_ALGORITHM) return fail('bad-alg', `unsupported alg ${sig.alg}`);

  const now = options.nowSeconds;
  if (sig.created === undefined) return fail('no-created', 'created is required to bound the signature age');
  if (sig.created > now + MAX_CLOCK_SKEW_SECONDS) return fail('future', 'created is in the future');
  if (sig.expires !== undefined && !(sig.expires > now + MAX_CLOCK_SKEW_SECONDS)) return fail('expired', 'expires has passed');
  if (sig.created + MAX_SIGNATURE_AGE_SECONDS < now + MAX_CLOCK_SKEW_SECONDS) {
    return fail('expired', `signature older than ${MAX_SIGNATURE_AGE_SECONDS} s`);
  }

  const key = options.key ?? randomBytes(32);
  let matchedAuthority: string | undefined;
  // Every candidate is computed and compared, so timing does not depend on which one matches.
  for (const authority of request.authorities) {
    const base = buildSignatureBase({ ...request, authority }, sig.components, sig.signatureParams);
    const expected = computeSignature(key, base);
    const equal = expected.length === sig.signature.length && timingSafeEqual(expected, sig.signature);
    if (equal && matchedAuthority === undefined) matchedAuthority = authority;
  }
  if (matchedAuthority === undefined || options.key === undefined) return fail('mismatch', 'signature does not verify');
  return { ok: true, nonce: sig.nonce, created: sig.created, expires: sig.expires, authority: matchedAuthority };
}
