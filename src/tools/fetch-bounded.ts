/**
 * One outgoing HTTP request of a tool: redirects are not followed (a 3xx is an answer, not a hop to an
 * address nobody configured) and the response body is read up to a byte limit, never further.
 */
import { ToolFailure } from './result.js';

export interface BoundedResponse {
  status: number;
  headers: Headers;
  /** The body as text, at most maxBytes (bigger bodies are an error, see `tooLarge`). */
  text: string;
  tooLarge: boolean;
}

/** Network errors that prove the request never reached the peer (safe to call "unavailable"). */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

export function neverSent(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } } | undefined)?.cause;
  return typeof cause?.code === 'string' && NOT_SENT.has(cause.code);
}

export async function fetchBounded(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit & { signal: AbortSignal },
  maxBytes: number,
): Promise<BoundedResponse> {
  const res = await fetchImpl(url, { ...init, redirect: 'manual' });
  const chunks: Uint8Array[] = [];
  let size = 0;
  let tooLarge = false;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        tooLarge = true;
        await reader.cancel().catch(() => undefined);
        break;
      }
      chunks.push(value);
    }
  }
  return { status: res.status, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), tooLarge };
}

/** Parses a JSON body; plain text is returned as a string (some endpoints answer text). */
export function parseBody(text: string): unknown {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A failure for a request that ended without a response. */
export function transportFailure(err: unknown, what: string): ToolFailure {
  if (err instanceof ToolFailure) return err;
  if (neverSent(err)) return new ToolFailure('unavailable', 'The system behind this tool is not reachable right now.', `${what}: not reachable`);
  // The request may have reached the peer: its effect is unknown, and it is never retried.
  return new ToolFailure('unknown_outcome', 'The request was sent but the answer was lost; do not assume it succeeded.', `${what}: ${(err as Error)?.message ?? 'failed'}`);
}
