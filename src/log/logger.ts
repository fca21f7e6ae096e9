/**
 * Structured logging with pino. Secrets are redacted by path; caller data, prompts and transcripts
 * are never logged at info level (they may appear at debug only where a call site says so).
 *
 * The paths below are a safety net, not the policy: call sites log ids, counts and enums, never whole
 * messages or records. Anything that does slip into a log under one of these names is censored.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Field names whose values are credentials. */
const SECRET_FIELDS = ['apiKey', 'clientSecret', 'secret', 'token', 'authorization', 'password'];
/** Field names whose values identify the caller or carry what was said or instructed. */
const CALLER_DATA_FIELDS = [
  'ani',
  'dnis',
  'aniName',
  'dnisName',
  'participant',
  'inputVariables',
  'outputVariables',
  'customConfig',
  'instructions',
  'prompt',
  'transcript',
  'summary',
];

export const REDACT_PATHS = [
  ...[...SECRET_FIELDS, ...CALLER_DATA_FIELDS].flatMap((field) => [field, `*.${field}`]),
  'headers["x-api-key"]',
  'headers.authorization',
  'headers.signature',
  'headers.cookie',
  '*.headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers.signature',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'audiohook-realtime' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
