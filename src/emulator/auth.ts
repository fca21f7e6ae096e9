/** Handshake checks of the emulated endpoint: path, model, credentials, beta header. Pure functions. */
import type { IncomingHttpHeaders } from 'node:http';

export const REALTIME_PATHS = ['/v1/realtime', '/openai/v1/realtime'] as const;

export type HandshakeVerdict =
  | { ok: true; model: string; path: string; beta: boolean }
  | { ok: false; status: number; body: { error: { message: string; type: string; code: string | null; param: string | null } } };

function failure(status: number, message: string, type: string, code: string | null, param: string | null = null): HandshakeVerdict {
  return { ok: false, status, body: { error: { message, type, code, param } } };
}

/** Extracts the key from `Authorization: Bearer …` (OpenAI) or `api-key` (Azure). */
export function presentedKey(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match?.[1]) return match[1].trim();
  }
  const azure = headers['api-key'];
  if (typeof azure === 'string' && azure.trim() !== '') return azure.trim();
  return null;
}

/** `apiKeys` undefined → any non-empty key is accepted. */
export function checkHandshake(url: URL, headers: IncomingHttpHeaders, apiKeys: readonly string[] | undefined): HandshakeVerdict {
  if (!(REALTIME_PATHS as readonly string[]).includes(url.pathname.replace(/\/+$/, ''))) {
    return failure(404, `Invalid URL (GET ${url.pathname})`, 'invalid_request_error', null);
  }
  const key = presentedKey(headers);
  if (key === null) {
    return failure(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      'invalid_request_error',
      null,
    );
  }
  if (apiKeys !== undefined && !apiKeys.includes(key)) {
    // Never echo the key back in full, as OpenAI does not either.
    return failure(401, `Incorrect API key provided: ${maskKey(key)}.`, 'invalid_request_error', 'invalid_api_key');
  }
  const model = url.searchParams.get('model');
  if (!model) {
    return failure(400, "Missing required parameter: 'model'.", 'invalid_request_error', 'missing_required_parameter', 'model');
  }
  return { ok: true, model, path: url.pathname, beta: headers['openai-beta'] !== undefined };
}

export function maskKey(key: string): string {
  return key.length <= 8 ? '****' : `${key.slice(0, 3)}****${key.slice(-4)}`;
}
