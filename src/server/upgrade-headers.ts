/**
 * Reads the AudioHook upgrade request headers (AudioHook spec: upgrade request headers) into typed values, with size caps.
 * Node joins repeated custom headers with ", ", so a repeated id header fails the UUID check.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { uuidSchema } from '../audiohook/schemas.js';

/**
 * Longest accepted value per header. Genesys' own values are far shorter (UUIDs are 36, the
 * Signature-Input ~330 characters); the caps keep hostile input small before any work is done.
 */
export const HEADER_VALUE_LIMITS = {
  'x-api-key': 512,
  signature: 512,
  'signature-input': 2048,
  host: 512,
  'x-forwarded-host': 1024,
} as const;

export interface AudiohookIds {
  organizationId: string;
  sessionId: string;
  correlationId: string;
}

export interface UpgradeHeaders extends AudiohookIds {
  apiKey: string | undefined;
  signature: string | undefined;
  signatureInput: string | undefined;
  host: string | undefined;
  forwardedHost: string | undefined;
}

export type HeaderProblem = { status: 400 | 431; reason: string };

export type UpgradeHeadersResult = { ok: true; headers: UpgradeHeaders } | ({ ok: false } & HeaderProblem);

const ID_HEADERS = {
  organizationId: 'audiohook-organization-id',
  sessionId: 'audiohook-session-id',
  correlationId: 'audiohook-correlation-id',
} as const;

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

/** The ids if the three Audiohook-* headers are present UUIDs; for logging rejected requests too. */
export function readIds(headers: IncomingHttpHeaders): Partial<AudiohookIds> {
  const ids: Partial<AudiohookIds> = {};
  for (const [field, name] of Object.entries(ID_HEADERS) as [keyof AudiohookIds, string][]) {
    const value = single(headers, name);
    if (value !== undefined && uuidSchema.safeParse(value).success) ids[field] = value;
  }
  return ids;
}

export function parseUpgradeHeaders(headers: IncomingHttpHeaders): UpgradeHeadersResult {
  for (const [name, limit] of Object.entries(HEADER_VALUE_LIMITS)) {
    const value = single(headers, name);
    if (value !== undefined && value.length > limit) {
      return { ok: false, status: 431, reason: `${name} header too large` };
    }
  }
  const idOf = (name: string): string | HeaderProblem => {
    const value = single(headers, name);
    if (value === undefined) return { status: 400, reason: `${name} header is missing` };
    return uuidSchema.safeParse(value).success ? value : { status: 400, reason: `${name} header is not a UUID` };
  };
  const organizationId = idOf(ID_HEADERS.organizationId);
  if (typeof organizationId !== 'string') return { ok: false, ...organizationId };
  const sessionId = idOf(ID_HEADERS.sessionId);
  if (typeof sessionId !== 'string') return { ok: false, ...sessionId };
  const correlationId = idOf(ID_HEADERS.correlationId);
  if (typeof correlationId !== 'string') return { ok: false, ...correlationId };
  return {
    ok: true,
    headers: {
      organizationId,
      sessionId,
      correlationId,
      apiKey: single(headers, 'x-api-key'),
      signature: single(headers, 'signature'),
      signatureInput: single(headers, 'signature-input'),
      host: single(headers, 'host'),
      forwardedHost: single(headers, 'x-forwarded-host'),
    },
  };
}
