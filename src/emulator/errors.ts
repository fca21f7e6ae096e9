/**
 * OpenAI's error event shape and the mapping from zod issues to OpenAI's error codes
 * (`unknown_parameter`, `invalid_value`, `missing_required_parameter`, `invalid_type`, …), so a bridge that
 * sends a wrong or retired (beta) shape gets what the real server sends.
 */
import type { z } from 'zod';

export interface RealtimeErrorBody {
  type: string;
  code: string | null;
  message: string;
  param: string | null;
  event_id: string | null;
}

export function invalidRequest(
  code: string | null,
  message: string,
  param: string | null = null,
  clientEventId: string | null = null,
): RealtimeErrorBody {
  return { type: 'invalid_request_error', code, message, param, event_id: clientEventId };
}

export const BETA_SHAPE_DISABLED_MESSAGE =
  'The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.';

export function betaShapeDisabled(): RealtimeErrorBody {
  return invalidRequest('beta_api_shape_disabled', BETA_SHAPE_DISABLED_MESSAGE);
}

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? 'undefined';
}

/** Turns the first zod issue into the error OpenAI would send for it. `input` is the parsed client event. */
export function errorFromZod(error: z.ZodError, input: unknown, clientEventId: string | null): RealtimeErrorBody {
  const issue = pickIssue(error.issues);
  if (!issue) return invalidRequest('invalid_value', 'Invalid request.', null, clientEventId);
  if (issue.code !== 'unrecognized_keys' && issue.path.length > 0 && valueAt(input, issue.path) === undefined) {
    const param = joinPath('', issue.path);
    return invalidRequest('missing_required_parameter', `Missing required parameter: '${param}'.`, param, clientEventId);
  }
  switch (issue.code) {
    case 'unrecognized_keys': {
      const param = joinPath(joinPath('', issue.path), [issue.keys[0] ?? '']);
      return invalidRequest('unknown_parameter', `Unknown parameter: '${param}'.`, param, clientEventId);
    }
    case 'invalid_type': {
      const param = joinPath('', issue.path);
      if (valueAt(input, issue.path) === undefined) {
        return invalidRequest('missing_required_parameter', `Missing required parameter: '${param}'.`, param, clientEventId);
      }
      return invalidRequest(
        'invalid_type',
        `Invalid type for '${param}': expected ${issue.expected}, but got ${typeof valueAt(input, issue.path)} instead.`,
        param,
        clientEventId,
      );
    }
    case 'invalid_value': {
      const param = joinPath('', issue.path);
      const supported = issue.values.map((v) => show(v)).join(', ');
      return invalidRequest(
        'invalid_value',
        `Invalid value: ${show(valueAt(input, issue.path))}. Supported values are: ${supported}.`,
        param,
        clientEventId,
      );
    }
    case 'invalid_union': {
      const param = joinPath('', issue.path);
      const options = 'options' in issue && Array.isArray(issue.options) ? issue.options : null;
      if (options) {
        return invalidRequest(
          'invalid_value',
          `Invalid value: ${show(valueAt(input, issue.path))}. Supported values are: ${options.map((v) => show(v)).join(', ')}.`,
          param,
          clientEventId,
        );
      }
      // A value matching none of several shapes: report the branch that got furthest.
      const branches = issue.errors.filter((b) => b.length > 0);
      const best = branches.sort((a, b) => deepest(b) - deepest(a))[0];
      if (best) {
        return errorFromZod({ issues: best } as unknown as z.ZodError, input, clientEventId);
      }
      return invalidRequest('invalid_value', `Invalid value for '${param}'.`, param, clientEventId);
    }
    case 'too_big':
    case 'too_small': {
      const param = joinPath('', issue.path);
      const bound = issue.code === 'too_big' ? `<= ${String(issue.maximum)}` : `>= ${String(issue.minimum)}`;
      const what = issue.origin === 'string' || issue.origin === 'array' ? `length ${bound}` : bound;
      return invalidRequest(
        issue.code === 'too_big' ? 'decimal_above_max_value' : 'decimal_below_min_value',
        `Invalid '${param}': expected a value ${what}, but got ${show(valueAt(input, issue.path))} instead.`,
        param,
        clientEventId,
      );
    }
    default: {
      const param = joinPath('', issue.path);
      return invalidRequest('invalid_value', `Invalid value for '${param}': ${issue.message}`, param, clientEventId);
    }
  }
}

function deepest(issues: readonly z.core.$ZodIssue[]): number {
  let d = 0;
  for (const i of issues) d = Math.max(d, i.path.length + (i.code === 'unrecognized_keys' ? 0.5 : 0));
  return d;
}

/** Unknown parameters are what OpenAI reports first for beta-shaped payloads; prefer them. */
function pickIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue | undefined {
  return issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
}
