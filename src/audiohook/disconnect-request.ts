/**
 * What goes into our `disconnect`. The call's request is made safe first: a known reason, `info` as a
 * string, Architect output variables as strings only (§8.2). Bad parts are bugs in the call logic: they are
 * dropped with an error log, never coerced, and the disconnect still goes out.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { DISCONNECT_REASONS, type DisconnectReason, type ServerParameters } from './schemas.js';

/** `disconnect.info` is for humans in Genesys logs; keep it short. */
const MAX_INFO_CHARS = 400;

const outputVariablesSchema = z.record(z.string(), z.unknown());

export interface DisconnectRequest {
  reason: DisconnectReason;
  info?: string;
  outputVariables?: Record<string, string>;
}

/** The `disconnect` parameters, with `info` cut to its bound. */
export function disconnectParameters(request: DisconnectRequest): ServerParameters<'disconnect'> {
  const { reason, info, outputVariables } = request;
  const parameters: ServerParameters<'disconnect'> = { reason };
  if (info !== undefined) parameters.info = info.length > MAX_INFO_CHARS ? `${info.slice(0, MAX_INFO_CHARS)}…` : info;
  if (outputVariables !== undefined) parameters.outputVariables = outputVariables;
  return parameters;
}

/** The call's disconnect request as it may be sent (CallControl.disconnect is called from untyped code too). */
export function checkedDisconnectRequest(reason: DisconnectReason, info: unknown, outputVariables: unknown, log: Logger): DisconnectRequest {
  const request: DisconnectRequest = { reason };
  if (!DISCONNECT_REASONS.includes(reason)) {
    log.error({ reason }, 'invalid disconnect reason; sending "error" instead');
    request.reason = 'error';
  }
  if (typeof info === 'string') request.info = info;
  else if (info !== undefined) log.error('disconnect info must be a string; dropped');
  const variables = validOutputVariables(outputVariables, log);
  if (variables !== undefined) request.outputVariables = variables;
  return request;
}

function validOutputVariables(value: unknown, log: Logger): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const parsed = outputVariablesSchema.safeParse(value);
  if (!parsed.success) {
    log.error('outputVariables must be an object of strings; sending disconnect without them');
    return undefined;
  }
  const valid: Record<string, string> = {};
  const rejectedKeys: string[] = [];
  for (const [key, v] of Object.entries(parsed.data)) {
    if (typeof v === 'string') valid[key] = v;
    else rejectedKeys.push(key);
  }
  if (rejectedKeys.length > 0) log.error({ rejectedKeys }, 'outputVariables values must be strings; these keys were dropped');
  return valid;
}
