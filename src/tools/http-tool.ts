/**
 * An HTTP tool: POST of the arguments as JSON, signed like the summary webhook when a secret is set
 * (`X-Signature-Timestamp` and `X-Signature: sha256=<hex HMAC of "<timestamp>.<body>">`), an `Idempotency-Key` per tool call so the receiver can drop a duplicate,
 * redirects not followed, and the response body read up to a bound. Never retried.
 */
import { signBody } from '../util/signing.js';
import { fetchBounded, parseBody, transportFailure } from './fetch-bounded.js';
import { MODEL_MESSAGES, ToolFailure } from './result.js';
import type { HttpToolSpec } from './spec.js';

export const HTTP_TOOL_MAX_BODY_BYTES = 256 * 1024;

export interface HttpToolCall {
  spec: HttpToolSpec;
  args: unknown;
  /** Unique per tool call: sent as Idempotency-Key. */
  toolCallId: string;
  signal: AbortSignal;
  fetchImpl?: typeof fetch;
  /** Wall clock for the signature timestamp (ms since the epoch). */
  nowMs?: () => number;
}

export async function callHttpTool(call: HttpToolCall): Promise<unknown> {
  const body = JSON.stringify(call.args ?? {});
  const headers: Record<string, string> = {
    ...call.spec.headers,
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': 'audiohook-realtime',
    'idempotency-key': call.toolCallId,
  };
  if (call.spec.secret) {
    const timestamp = String(Math.floor((call.nowMs?.() ?? Date.now()) / 1000));
    headers['x-signature-timestamp'] = timestamp;
    headers['x-signature'] = signBody(body, call.spec.secret, timestamp);
  }
  let res;
  try {
    res = await fetchBounded(call.fetchImpl ?? fetch, call.spec.url, { method: 'POST', headers, body, signal: call.signal }, HTTP_TOOL_MAX_BODY_BYTES);
  } catch (err) {
    if (call.signal.aborted) throw err;
    throw transportFailure(err, 'http tool');
  }
  if (res.status >= 300 && res.status < 400) {
    throw new ToolFailure('tool_error', MODEL_MESSAGES.tool_error, `http tool: redirect (HTTP ${res.status}) not followed`);
  }
  if (res.tooLarge) throw new ToolFailure('tool_error', MODEL_MESSAGES.tool_error, `http tool: response over ${HTTP_TOOL_MAX_BODY_BYTES} bytes`);
  if (res.status >= 200 && res.status < 300) return parseBody(res.text);
  if (res.status === 400 || res.status === 422) {
    throw new ToolFailure('invalid_arguments', 'The system rejected these inputs.', `http tool: HTTP ${res.status}`);
  }
  if (res.status === 429) throw new ToolFailure('rate_limited', MODEL_MESSAGES.rate_limited, 'http tool: HTTP 429');
  if (res.status >= 500 || res.status === 408) {
    throw new ToolFailure('unknown_outcome', MODEL_MESSAGES.unknown_outcome, `http tool: HTTP ${res.status}`);
  }
  throw new ToolFailure('tool_error', MODEL_MESSAGES.tool_error, `http tool: HTTP ${res.status}`);
}
