/**
 * HMAC-SHA256 signatures of outgoing POSTs, shared by the summary webhook and HTTP tools (src/tools):
 * `X-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` with `X-Signature-Timestamp: <unix seconds>`,
 * and the receiver's check.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The signed string: the timestamp (unix seconds, decimal), a dot, the exact body. */
export function signedPayload(timestamp: string, body: string): string {
  return `${timestamp}.${body}`;
}

export function signBody(body: string, secret: string, timestamp: string): string {
  return `sha256=${createHmac('sha256', secret).update(signedPayload(timestamp, body)).digest('hex')}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export interface SignatureCheckInput {
  /** The raw request body, exactly as received (before any JSON parsing). */
  body: string;
  /** The `X-Signature` header. */
  signature: string | undefined;
  /** The `X-Signature-Timestamp` header. */
  timestamp: string | undefined;
  secret: string;
  /** Receiver's wall clock, ms since the epoch. */
  nowMs: number;
  /** Oldest (and furthest in the future) timestamp accepted, seconds. Default 300. */
  toleranceSeconds?: number;
}

/**
 * The receiver's check (documented in the README): a fresh timestamp, then the HMAC in constant time.
 * Within the tolerance a replay is still possible; a receiver that must exclude it also remembers the
 * idempotency keys it accepted (it dedupes on them anyway).
 */
export function verifyWebhookSignature(input: SignatureCheckInput): SignatureCheck {
  const tolerance = input.toleranceSeconds ?? 300;
  if (!input.timestamp || !/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: 'missing or malformed timestamp' };
  const ageSeconds = input.nowMs / 1000 - Number(input.timestamp);
  if (Math.abs(ageSeconds) > tolerance) return { ok: false, reason: `timestamp outside ±${tolerance} s` };
  const expected = Buffer.from(signBody(input.body, input.secret, input.timestamp));
  const given = Buffer.from(input.signature ?? '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  return { ok: true };
}
