/**
 * What a tool call gives back to the model: always a JSON string for `function_call_output`, success or
 * structured error — never a thrown error. Output is redacted (configured field names, at any depth,
 * arrays included) and bounded in size before it leaves this module.
 */

/** How a tool call ended; also the metrics label `outcome`. `limited`: refused by TOOL_MAX_CALLS_PER_CALL. */
export const TOOL_OUTCOMES = ['ok', 'error', 'timeout', 'cancelled', 'limited'] as const;
export type ToolOutcome = (typeof TOOL_OUTCOMES)[number];

/** Error codes the model sees (it can apologise and offer a transfer). */
export type ToolErrorCode =
  | 'unknown_tool'
  | 'invalid_arguments'
  | 'unavailable'
  | 'timeout'
  | 'cancelled'
  | 'call_limit_reached'
  | 'tool_error'
  | 'rate_limited'
  | 'unknown_outcome';

export interface ToolCallResult {
  outcome: ToolOutcome;
  /** The JSON text for `function_call_output.output`. */
  output: string;
  durationMs: number;
  /** For the record and logs: a short code, never upstream text. */
  errorCode?: ToolErrorCode;
}

/** Thrown inside tool adapters; turned into a structured result by the executor (never escapes it). */
export class ToolFailure extends Error {
  constructor(
    readonly code: ToolErrorCode,
    /** Shown to the model: short, ours, no upstream text (which can hold stack traces or personal data). */
    readonly modelMessage: string,
    /** For logs at warn: status codes and ids, no payloads. */
    readonly detail?: string,
  ) {
    super(`${code}: ${detail ?? modelMessage}`);
    this.name = 'ToolFailure';
  }
}

export const REDACTED = '[redacted]';

/** A copy of `value` with every property named in `fields` (case-insensitive) replaced by "[redacted]". */
export function redactFields(value: unknown, fields: readonly string[]): unknown {
  if (fields.length === 0) return value;
  const names = new Set(fields.map((f) => f.toLowerCase()));
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 64) return REDACTED;
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(v)) out[key] = names.has(key.toLowerCase()) ? REDACTED : walk(inner, depth + 1);
      return out;
    }
    return v;
  };
  return walk(value, 0);
}

/** `{"ok":true,"result":…}` bounded to maxChars; an oversized result is cut and marked `truncated`. */
export function okOutput(result: unknown, maxChars: number): string {
  const full = JSON.stringify({ ok: true, result: result ?? null });
  if (full.length <= maxChars) return full;
  const text = typeof result === 'string' ? result : JSON.stringify(result);
  // Room for the envelope; the cut text is still valid JSON once re-serialised.
  let budget = Math.max(0, maxChars - 64);
  for (;;) {
    const out = JSON.stringify({ ok: true, truncated: true, result: text.slice(0, budget) });
    if (out.length <= maxChars || budget === 0) return out;
    budget = Math.max(0, budget - (out.length - maxChars) - 1);
  }
}

export function errorOutput(code: ToolErrorCode, message: string): string {
  return JSON.stringify({ ok: false, error: { code, message } });
}

export const MODEL_MESSAGES: Record<ToolErrorCode, string> = {
  unknown_tool: 'No such tool is available in this call.',
  invalid_arguments: 'The arguments were not valid JSON for this tool.',
  unavailable: 'The system behind this tool is not reachable right now.',
  timeout: 'The tool did not answer in time; the outcome is unknown.',
  cancelled: 'The tool call was cancelled.',
  call_limit_reached: 'No more tool calls are allowed in this call; offer the caller a transfer to an agent.',
  tool_error: 'The tool reported an error.',
  rate_limited: 'The system behind this tool is busy; try again later or offer a transfer.',
  unknown_outcome: 'The request was sent but the answer was lost; do not assume it succeeded.',
};
