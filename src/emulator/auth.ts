/**
 * Handshake checks of the emulated endpoint: path, model, credentials, beta header. Pure functions.
 * The emulator is either OpenAI (`/v1/realtime`, `Authorization: Bearer`) or one Azure OpenAI resource
 * (`/openai/v1/realtime?model=<deployment>`, `api-key`), never both: each rejects the other's shape.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const OPENAI_REALTIME_PATH = '/v1/realtime';
export const AZURE_REALTIME_PATH = '/openai/v1/realtime';

/** The emulator acting as an Azure OpenAI resource. */
export interface AzureResource {
  /** Deployment names; `?model=` must name one, and so must `audio.input.transcription.model`. */
  deployments: readonly string[];
  /** Accepted `api-key` values; default: any non-empty key. */
  apiKeys?: readonly string[];
}

export type HandshakeVerdict =
  | { ok: true; model: string; path: string; beta: boolean }
  | { ok: false; status: number; body: { error: { message: string; type: string; code: string | null; param: string | null } } };

function failure(status: number, message: string, type: string, code: string | null, param: string | null = null): HandshakeVerdict {
  return { ok: false, status, body: { error: { message, type, code, param } } };
}

/** Extracts the key from `Authorization: Bearer …` (OpenAI; OpenAI ignores an `api-key` header). */
export function presentedKey(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match?.[1]) return match[1].trim();
  }
  return null;
}

/** `apiKeys` undefined → any non-empty key is accepted. */
export function checkHandshake(url: URL, headers: IncomingHttpHeaders, apiKeys: readonly string[] | undefined): HandshakeVerdict {
  if (url.pathname.replace(/\/+$/, '') !== OPENAI_REALTIME_PATH) {
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

/**
 * Azure's answers (error bodies `{error:{code,message}}` as Azure writes them; the statuses are Azure's,
 * the exact texts are from Azure's public error pages and reports, not verified against a live resource):
 * - any path but the GA one (the OpenAI-style `/v1/realtime`, the retired preview `/openai/realtime`) → 404;
 * - no `api-key` → 401; a wrong one → 401; `Authorization: Bearer <OpenAI key>` is taken as an Entra
 *   token, which an API key is not → 401;
 * - `api-version` on the GA `/openai/v1/` path → 400 (the v1 API takes none; unverified wording);
 * - `?model=` naming no deployment of the resource → 404 DeploymentNotFound.
 */
export function checkAzureHandshake(url: URL, headers: IncomingHttpHeaders, azure: AzureResource): HandshakeVerdict {
  const azureFailure = (status: number, code: string, message: string): HandshakeVerdict => ({
    ok: false,
    status,
    body: { error: { message, type: 'invalid_request_error', code, param: null } },
  });
  if (url.pathname.replace(/\/+$/, '') !== AZURE_REALTIME_PATH) return azureFailure(404, '404', 'Resource not found');
  const apiKey = headers['api-key'];
  const bearer = headers.authorization;
  if (typeof apiKey !== 'string' || apiKey.trim() === '') {
    if (typeof bearer === 'string') {
      return azureFailure(401, '401', 'Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.');
    }
    return azureFailure(401, '401', 'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.');
  }
  if (azure.apiKeys !== undefined && !azure.apiKeys.includes(apiKey.trim())) {
    return azureFailure(
      401,
      '401',
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
    );
  }
  if (url.searchParams.has('api-version')) {
    return azureFailure(400, 'BadRequest', 'api-version query parameter is not allowed when using /v1 path');
  }
  const model = url.searchParams.get('model');
  if (!model || !azure.deployments.includes(model)) {
    return azureFailure(
      404,
      'DeploymentNotFound',
      'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
    );
  }
  return { ok: true, model, path: url.pathname, beta: headers['openai-beta'] !== undefined };
}
